"""Bad input to `workbench fetch`: random ids and URLs, hostile `--from` archives (tar slip,
links out, absolute paths, bombs, non-UTF-8 names, garbage), adversarial LaTeX tables in bounded
time, redirects to other hosts. Each ends in a result or one UserError, and nothing lands
outside the target folder."""

from __future__ import annotations

import gzip
import io
import os
import signal
import tarfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import examples, tally
from workbench.fetch.arxiv import Http, parse_id
from workbench.fetch.eprint import SourceLine, unpack_source
from workbench.errors import UserError
from workbench.fetch.latex import read_document

FAST = settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def expect_result_or_one_line(call, what: str):
    tally("bad_inputs_tried", what=what)
    try:
        return call()
    except UserError as exc:
        assert "\n" not in str(exc).strip(), str(exc)
        return None
    except Exception as exc:
        tally("crashes", input=what, error=repr(exc)[:300])
        raise


@contextmanager
def time_limit(seconds: int, what: str):
    def expired(signum, frame):
        tally("crashes", input=what, error=f"still running after {seconds} s")
        raise TimeoutError(f"{what} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- ids and URLs


ID_ALPHABET = "0123456789.v/:-abcdefhprstxAXZ htps%\x00é\u202e"


@FAST
@given(text=st.one_of(st.text(max_size=60), st.text(alphabet=ID_ALPHABET, max_size=40),
                      st.builds(lambda a, b: f"https://arxiv.org/abs/{a}{b}", st.text(ID_ALPHABET, max_size=12),
                                st.text(max_size=6))))
def test_random_ids_and_urls_parse_or_are_one_line(text):
    with time_limit(5, "parse_id"):
        found = expect_result_or_one_line(lambda: parse_id(text), "arXiv id")
    if found is not None:
        assert "/" not in found.folder_name and ".." not in found.folder_name  # safe as a folder name


# ---------------------------------------------------------------- --from archives


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]], gz: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name: str, data: bytes = b"\\documentclass{article}\n", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


HOSTILE = {
    "tar slip": [member("../../evil.tex")],
    "deep tar slip": [member("a/b/../../../evil.tex")],
    "absolute path": [member("/tmp/evil.tex")],
    "windows drive": [member("C:/evil.tex")],
    "symlink out": [member("main.tex"), member("link", kind=tarfile.SYMTYPE, link="../../../etc/passwd")],
    "absolute symlink": [member("link", kind=tarfile.SYMTYPE, link="/etc/passwd")],
    "hardlink out": [member("link", kind=tarfile.LNKTYPE, link="../outside")],
    "symlink then write through it": [member("d", kind=tarfile.SYMTYPE, link=".."), member("d/evil.tex")],
    "fifo and device": [member("fifo", kind=tarfile.FIFOTYPE), member("dev", kind=tarfile.CHRTYPE), member("main.tex")],
    "non-UTF-8 name": [member("m\udcffain.tex"), member("caf\u00e9/\u202etxt.tex")],
    "many files": [member(f"f{i}.tex", b"x") for i in range(60)],
    "one big file": [member("main.tex", b"%" * 300_000)],
    "empty name": [member(""), member("./"), member("main.tex")],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_tar_archives_unpack_safely_or_not_at_all(tmp_path, name):
    archive = tmp_path / "in" / "source.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(tar_bytes(HOSTILE[name]))
    work = tmp_path / "work"
    work.mkdir()
    target = work / "source"
    tally("faults_injected", what=f"archive: {name}")
    with time_limit(20, name):
        kind = expect_result_or_one_line(lambda: unpack_source(archive, target, max_bytes=200_000, max_files=50), name)
    outside = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                     if not p.is_relative_to(target) and p != target and p.parent not in (tmp_path,) and p != archive)
    assert outside == [], outside  # nothing written beside the target (no escapes, no staging left)
    assert not (tmp_path.parent / "evil.tex").exists() and not Path("/tmp/evil.tex").exists()
    if kind is None:
        assert not target.exists()  # refused: no half-unpacked folder
    else:
        assert not any(p.is_symlink() for p in target.rglob("*"))
        assert sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) <= 200_000


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=600),
                      st.builds(lambda b, cut: gzip.compress(b)[:cut], st.binary(max_size=300), st.integers(0, 400)),
                      st.builds(lambda n, cut: tar_bytes([member(n)])[:cut], st.text(max_size=20), st.integers(0, 2000))))
def test_random_and_truncated_archives_are_one_line(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("arch")
    archive = folder / "source.bin"
    archive.write_bytes(data)
    target = folder / "out" / "source"
    target.parent.mkdir()
    with time_limit(20, "random archive"):
        expect_result_or_one_line(lambda: unpack_source(archive, target, max_bytes=100_000, max_files=50), "random archive")
    assert [p.name for p in target.parent.iterdir()] in ([], ["source"])  # no staging folder left


def test_a_gzip_bomb_stops_at_the_size_cap(tmp_path):
    archive = tmp_path / "bomb.gz"
    with gzip.open(archive, "wb", compresslevel=9) as handle:  # 64 MiB of zeros in ~64 kB
        chunk = b"\0" * (1 << 20)
        for _ in range(64):
            handle.write(chunk)
    tally("faults_injected", what="gzip bomb")
    started = time.perf_counter()
    with pytest.raises(UserError):
        unpack_source(archive, tmp_path / "out", max_bytes=1 << 20)
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- LaTeX


TEX_PIECES = st.sampled_from([
    "\\begin{table}", "\\end{table}", "\\begin{tabular}{lcc}", "\\end{tabular}", "&", "\\\\", "\\hline",
    "\\multicolumn{2}{c}{", "\\multirow{3}{*}{", "}", "{", "$", "\\pm", "94.8", "± 2", "\\textbf{", "%",
    "\\caption{", "\\label{tab:", "\\begin{tabular*}{\\linewidth}", "\\begin{tabularx}{\\textwidth}{XX}",
    "\\section{", "\\input{x}", "\\\\[2pt]", "\\toprule", "\\midrule", "\\cline{1-2}", "\\begin{document}",
    "1e-3", "$10^{-4}$", "--", "\\,", "\n", " ", "\\verb|&|", "\\newcommand{\\x}{&}", "\\x", "é",
])


@settings(max_examples=examples(30), deadline=None)
@given(pieces=st.lists(TEX_PIECES, max_size=120), repeat=st.integers(1, 30))
def test_random_and_adversarial_latex_never_hangs_or_crashes(pieces, repeat):
    text = "".join(pieces) * repeat
    lines = [SourceLine("main.tex", i + 1, line) for i, line in enumerate(text.split("\n"))]
    with time_limit(10, "latex parser"):
        found = expect_result_or_one_line(lambda: read_document(lines), "LaTeX")
    if found is not None:
        _, _, tables = found
        for table in tables:
            for candidate in getattr(table, "candidates", []):
                assert getattr(candidate, "file", "main.tex") == "main.tex"
                assert 1 <= getattr(candidate, "line", 1) <= len(lines)


def test_a_huge_table_is_read_in_bounded_time():
    row = " & ".join(["12.3 $\\pm$ 0.4"] * 40) + " \\\\"
    text = "\\begin{table}\\begin{tabular}{" + "c" * 40 + "}\n" + "\n".join([row] * 3000) + "\n\\end{tabular}\\end{table}"
    lines = [SourceLine("main.tex", i + 1, line) for i, line in enumerate(text.split("\n"))]
    tally("bad_inputs_tried", what="LaTeX table of 120k cells")
    with time_limit(60, "huge table"):
        expect_result_or_one_line(lambda: read_document(lines), "huge table")


# ---------------------------------------------------------------- redirects


class FakeResponse:
    def __init__(self, location: str | None) -> None:
        self.is_redirect = location is not None
        self.headers = {"Location": location} if location is not None else {}
        self.status_code = 302 if location is not None else 200

    def close(self) -> None:
        pass


class FakeSession:
    """Answers every GET with a redirect to `targets` in turn, then a 200; records what was asked."""

    def __init__(self, targets: list[str]) -> None:
        self.targets, self.asked = list(targets), []

    def get(self, url: str, **kwargs):
        self.asked.append(url)
        return FakeResponse(self.targets.pop(0) if self.targets else None)


HOSTS = st.sampled_from(["arxiv.org", "export.arxiv.org", "evil.example", "arxiv.org.evil.example", "ARXIV.ORG",
                         "arxiv.org:8080", "127.0.0.1", "user@arxiv.org", "arxiv.org@evil.example", "", "xn--rxiv-7na.org"])
LOCATIONS = st.one_of(
    st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}", st.sampled_from(["http", "https", "ftp", "file", "javascript"]),
              HOSTS, st.text(alphabet="abc/.%", max_size=10)),
    st.builds(lambda host: f"//{host}/x", HOSTS), st.text(alphabet="/.:abc@", max_size=15))


@FAST
@given(targets=st.lists(LOCATIONS, max_size=7))
def test_downloads_never_leave_the_configured_hosts(targets):
    session = FakeSession(targets)
    http = Http(allowed_hosts={"arxiv.org", "export.arxiv.org"}, session=session, retries=0, sleep=lambda s: None)
    expect_result_or_one_line(lambda: http.get("https://arxiv.org/pdf/2011.14439"), "redirect chain")
    from urllib.parse import urlsplit

    hosts = {urlsplit(url).netloc for url in session.asked}
    assert hosts <= {"arxiv.org", "export.arxiv.org"}, session.asked
    assert all(urlsplit(url).scheme in ("http", "https") for url in session.asked), session.asked
