"""Unpacking e-prints safely and finding the main .tex with its \\input files."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from workbench.fetch import eprint
from workbench.errors import UserError

from fake_arxiv import FIXTURES, source_tarball


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def unpack(tmp_path: Path, data: bytes, **caps) -> tuple[str, Path]:
    archive = tmp_path / "eprint"
    archive.write_bytes(data)
    target = tmp_path / "source"
    return eprint.unpack_source(archive, target, **caps), target


def test_a_real_looking_tarball_unpacks_and_its_main_tex_is_found(tmp_path):
    kind, target = unpack(tmp_path, source_tarball())
    assert kind == "tar.gz"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.tex")) == ["main.tex", "sections/experiments.tex"]
    assert eprint.find_main_tex(target) == target / "main.tex"


def test_single_gzipped_tex_becomes_main_tex(tmp_path):
    kind, target = unpack(tmp_path, gzip.compress(b"\\documentclass{article}\n\\begin{document}Hi\\end{document}\n"))
    assert kind == "tex.gz"
    assert eprint.find_main_tex(target) == target / "main.tex"


def test_pdf_only_eprint_is_recognised_and_unpacks_to_nothing(tmp_path):
    kind, target = unpack(tmp_path, (FIXTURES / "paper.pdf").read_bytes())
    assert kind == "pdf"
    assert list(target.iterdir()) == []


def test_plain_uncompressed_tar_is_read_too(tmp_path):
    kind, target = unpack(tmp_path, tar_bytes([("paper.tex", b"\\documentclass{article}")], compress=False))
    assert kind == "tar" and (target / "paper.tex").is_file()


@pytest.mark.parametrize(("members", "message"), [
    ([("../evil.tex", b"x")], r"member '../evil.tex' points outside the folder"),
    ([("figs/../../evil.tex", b"x")], r"points outside the folder"),
    ([("/etc/evil.tex", b"x")], r"member '/etc/evil.tex' has an absolute path"),
    ([link("escape", "/etc/passwd")], r"link 'escape' -> '/etc/passwd' points outside the folder"),
    ([link("sub/up", "../../outside")], r"link 'sub/up' -> '../../outside' points outside"),
    ([link("hard", "../outside", hard=True)], r"link 'hard' -> '../outside' points outside"),
])
def test_unsafe_members_are_refused_and_nothing_is_left(tmp_path, members, message):
    with pytest.raises(UserError, match=message + r".*refusing to unpack it"):
        unpack(tmp_path, tar_bytes([("main.tex", b"\\documentclass{article}"), *members]))
    assert not (tmp_path / "source").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eprint"]  # no staging folder either
    assert not (tmp_path.parent / "evil.tex").exists()


def test_a_link_that_stays_inside_is_skipped_not_refused(tmp_path):
    kind, target = unpack(tmp_path, tar_bytes([("main.tex", b"\\documentclass{article}"), link("alias.tex", "main.tex")]))
    assert (target / "main.tex").is_file() and not (target / "alias.tex").exists()


def test_a_zip_bomb_stops_at_the_byte_cap_while_extracting(tmp_path):
    bomb = tar_bytes([("main.tex", b"%" * 5_000_000)])
    assert len(bomb) < 50_000  # compresses to almost nothing
    with pytest.raises(UserError, match=r"eprint: unpacks to more than 1,000,000 bytes; refusing it \(a zip bomb\?\)"):
        unpack(tmp_path, bomb, max_bytes=1_000_000)
    assert not (tmp_path / "source").exists()


def test_a_gzipped_tex_bomb_stops_at_the_cap(tmp_path):
    with pytest.raises(UserError, match="refusing it"):
        unpack(tmp_path, gzip.compress(b"%" * 3_000_000), max_bytes=1_000_000)


def test_too_many_files_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"more than 10 files; refusing to unpack it"):
        unpack(tmp_path, tar_bytes([(f"f{i}.tex", b"x") for i in range(11)]), max_files=10)


def test_a_broken_archive_names_itself(tmp_path):
    data = source_tarball()[:200]
    with pytest.raises(UserError, match=r"eprint: not a readable tar.gz archive"):
        unpack(tmp_path, data)


def test_main_tex_ignores_a_commented_documentclass_and_prefers_begin_document(tmp_path):
    (tmp_path / "notes.tex").write_text("% \\documentclass{article}\nnotes\n")
    (tmp_path / "style.tex").write_text("\\documentclass{standalone}\n\\begin{tikzpicture}\\end{tikzpicture}\n")
    (tmp_path / "ms.tex").write_text("\\documentclass{article}\n\\begin{document}\nx\n\\end{document}\n")
    assert eprint.find_main_tex(tmp_path) == tmp_path / "ms.tex"
    assert eprint.find_main_tex(tmp_path / "nowhere") is None


def test_flatten_follows_input_and_include_and_keeps_file_and_line(tmp_path):
    (tmp_path / "sec").mkdir()
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\n\\begin{document}\nA \\input{sec/one} B\n% \\input{sec/two}\n\\include{sec/two}\n"
        "\\input{../outside}\n\\input{main}\n\\end{document}\n")
    (tmp_path / "sec" / "one.tex").write_text("one-1\none-2 % a comment\n")
    (tmp_path / "sec" / "two.tex").write_text("two-1 100\\% done\n")
    (tmp_path.parent / "outside.tex").write_text("SECRET\n")
    lines = eprint.flatten(tmp_path / "main.tex", tmp_path)
    where = [(l.file, l.line, l.text) for l in lines if l.text.strip()]
    assert ("main.tex", 3, "A ") in where and ("main.tex", 3, " B") in where
    assert ("sec/one.tex", 1, "one-1") in where
    assert ("sec/one.tex", 2, "one-2 ") in where
    assert ("sec/two.tex", 1, "two-1 100\\% done") in where
    assert sum(l.file == "sec/two.tex" for l in lines) == 1  # the commented \input is not followed
    assert not any("SECRET" in l.text for l in lines)  # nothing outside the source folder
    assert [l.file for l in lines].count("main.tex") < 20  # \input{main} does not recurse


def test_strip_comment_keeps_escaped_percent_and_drops_after_a_line_break():
    assert eprint.strip_comment("50\\% of runs % why") == "50\\% of runs "
    assert eprint.strip_comment("a \\\\% comment") == "a \\\\ "
    assert eprint.strip_comment("no comment") == "no comment"
