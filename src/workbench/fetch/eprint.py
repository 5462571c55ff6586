"""arXiv e-prints: tell a tarball from a gzipped .tex from a PDF, unpack safely, find the main .tex.

Unpacking refuses members that would land outside the target (absolute paths, `..`), links
that point out of it, and archives past the size or file-count caps. Bytes are counted as they
are written, so a small archive that inflates to gigabytes stops at the cap.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from workbench.errors import UserError

MAX_TOTAL_BYTES = 512 << 20
MAX_FILES = 5000
MAX_INPUT_DEPTH = 20
CHUNK = 1 << 16


class UnsafeArchive(UserError):
    pass


# Archives and pages that are not an arXiv source, by their first bytes: refused by name.
OTHER_MAGIC = {b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"\xfd7zXZ\x00": "xz", b"BZh": "bzip2",
               b"7z\xbc\xaf\x27\x1c": "7z", b"\x28\xb5\x2f\xfd": "zstd", b"Rar!": "rar"}
SOURCE_KINDS = ("pdf", "gzip", "tar", "tex")
NOT_SOURCE = {"zip": "a zip archive", "xz": "an xz archive", "bzip2": "a bzip2 archive", "7z": "a 7z archive",
              "zstd": "a zstd archive", "rar": "a rar archive", "html": "an HTML page", "empty": "empty",
              "binary": "binary data (not text, not an archive arXiv serves)"}


def detect_kind(data_head: bytes) -> str:
    """'pdf', 'gzip', 'tar' or 'tex' from the first bytes (arXiv serves all under one URL), or
    what else it is: a key of NOT_SOURCE ('zip', 'xz', ..., 'html', 'empty', 'binary')."""
    if data_head.startswith(b"%PDF"):
        return "pdf"
    if data_head.startswith(b"\x1f\x8b"):
        return "gzip"
    if len(data_head) >= 262 and data_head[257:262] == b"ustar":
        return "tar"
    for magic, kind in OTHER_MAGIC.items():
        if data_head.startswith(magic):
            return kind
    if not data_head.strip():
        return "empty"
    if looks_like_html(data_head):
        return "html"
    return "tex" if looks_like_text(data_head) else "binary"


def looks_like_html(head: bytes) -> bool:
    """An error, login or captcha page served where a file was expected."""
    start = head.lstrip()[:64].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        b"<html" in head[:2048].lower() and b"\\documentclass" not in head)


def looks_like_text(head: bytes) -> bool:
    """Text in any 8-bit encoding LaTeX takes: no NUL, few control bytes, mostly ASCII unless UTF-8."""
    if b"\x00" in head:
        return False
    control = sum(b < 32 and b not in b"\t\n\r\f\v\x1b" or b == 127 for b in head)
    if control > len(head) // 10:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the end of the head
            return True
    return sum(b >= 128 for b in head) <= len(head) * 3 // 10


def refuse_non_source(path: Path, kind: str) -> None:
    if kind not in SOURCE_KINDS:
        raise UserError(f"{path} is {NOT_SOURCE[kind]}, not a LaTeX source; give a .tar.gz, .tar, .gz, .tex or "
                        f".pdf (unpack other archives first and pass the .tex or a .tar.gz)")


def unpack_source(archive: Path, target: Path, max_bytes: int = MAX_TOTAL_BYTES, max_files: int = MAX_FILES) -> str:
    """Unpack an e-print into `target` (created; must not exist). Returns the kind found.

    A PDF-only e-print unpacks to nothing. The target appears complete or not at all.
    """
    head = _head(archive, 512)
    kind = detect_kind(head)
    refuse_non_source(archive, kind)
    if kind == "gzip":
        inner_kind = detect_kind(_gunzip_head(archive, 512))
        if inner_kind not in ("tar", "tex"):
            raise UserError(f"{archive} is a gzip file holding {NOT_SOURCE.get(inner_kind, 'a ' + inner_kind)}, not a LaTeX "
                            f"source; give a .tar.gz, .tar, .gz, .tex or .pdf")
        kind = "tar.gz" if inner_kind == "tar" else "tex.gz"
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        if kind in ("tar", "tar.gz"):
            _extract_tar(archive, staging, max_bytes, max_files)
        elif kind == "tex.gz":
            with gzip.open(archive, "rb") as src:
                _copy_capped(src, staging / "main.tex", max_bytes, archive, max_bytes)
        elif kind == "tex":
            _copy_capped(archive.open("rb"), staging / "main.tex", max_bytes, archive, max_bytes)
        os.replace(staging, target)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UserError(f"{archive}: not a readable {kind} archive ({exc}); re-download it or pass another file to --from") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return kind


def _head(path: Path, n: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(n)


def _gunzip_head(path: Path, n: int) -> bytes:
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"{path}: a broken gzip file ({exc}); re-download it") from None


def _extract_tar(archive: Path, target: Path, max_bytes: int, max_files: int) -> None:
    total = files = 0
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:  # streaming: members are read one at a time, never all listed first
            relative = _safe_member_path(archive, member.name)
            if relative is None:
                continue
            files += 1
            if files > max_files:
                raise UnsafeArchive(f"{archive}: more than {max_files} files; refusing to unpack it (a zip bomb?)")
            dest = target / relative
            if member.issym() or member.islnk():
                _check_link(archive, member, relative)
                continue  # links inside the tree are not needed to read LaTeX; none is created
            _check_no_collision(archive, target, relative, member.isdir())
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                dest.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                total += _copy_capped(source, dest, max_bytes - total, archive, max_bytes)
            # devices, fifos: skipped, LaTeX never needs them


def _check_no_collision(archive: Path, target: Path, relative: PurePosixPath, is_dir: bool) -> None:
    """A member whose path crosses an earlier member of the other kind (a file `a` and a folder
    `a/`, or `a/b` under a file `a`) cannot be unpacked: say so, not "cannot write"."""
    for depth in range(1, len(relative.parts)):
        if (target / PurePosixPath(*relative.parts[:depth])).is_file():
            raise UnsafeArchive(f"{archive}: member '{relative}' lies under '{PurePosixPath(*relative.parts[:depth])}', "
                                f"which the archive also holds as a file; the archive is malformed: repack it")
    dest = target / relative
    if dest.is_dir() and not is_dir or dest.is_file() and is_dir:
        raise UnsafeArchive(f"{archive}: '{relative}' is both a file and a folder in the archive; the archive is "
                            f"malformed: repack it")


def _safe_member_path(archive: Path, name: str) -> PurePosixPath | None:
    if "\x00" in name:  # no file system takes it; open() would raise ValueError
        raise UnsafeArchive(f"{archive}: member {name!r} has a NUL byte in its name; refusing to unpack it")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"{archive}: member '{name}' has an absolute path; refusing to unpack it")
    if ".." in path.parts:
        raise UnsafeArchive(f"{archive}: member '{name}' points outside the folder ('..'); refusing to unpack it")
    parts = [p for p in path.parts if p not in (".", "")]
    return PurePosixPath(*parts) if parts else None


def _check_link(archive: Path, member: tarfile.TarInfo, relative: PurePosixPath) -> None:
    link = PurePosixPath(member.linkname)
    resolved = link.parts if member.islnk() else (relative.parent / link).parts
    depth = 0
    for part in resolved:
        depth += -1 if part == ".." else (0 if part in (".", "") else 1)
        if depth < 0:
            break
    if link.is_absolute() or depth < 0:
        raise UnsafeArchive(f"{archive}: link '{member.name}' -> '{member.linkname}' points outside the folder; refusing to unpack it")


def _copy_capped(source: io.BufferedIOBase, dest: Path, budget: int, archive: Path, cap: int) -> int:
    """Copy at most `budget` bytes; past it, the archive is refused (`cap` is the total named)."""
    written = 0
    with source, dest.open("wb") as out:
        while block := source.read(CHUNK):
            written += len(block)
            if written > budget:
                raise UnsafeArchive(f"{archive}: unpacks to more than {cap:,} bytes; refusing it (a zip bomb?)")
            out.write(block)
    return written


# ---------------------------------------------------------------- main .tex and its inputs


@dataclass(frozen=True)
class SourceLine:
    file: str  # relative to the source folder
    line: int  # 1-based
    text: str  # comments removed


COMMENT = re.compile(r"(?<!\\)%.*")
DOCUMENTCLASS = re.compile(r"\\documentclass\b")
# On a line, before any % (an escaped \% ends the search too: rare before these, and only safer).
UNCOMMENTED_CLASS = re.compile(r"^[^%\n]*?\\documentclass\b", re.MULTILINE)
UNCOMMENTED_BEGIN = re.compile(r"^[^%\n]*?\\begin\{document\}", re.MULTILINE)
UNCOMMENTED_SUBFILE = re.compile(r"^[^%\n]*?\\documentclass\s*(\[[^\]\n]*\])?\s*\{(subfiles|standalone)\}", re.MULTILINE)
# \input{f}, \include{f}, \subfile{f}, \input f (TeX's own form), \import{dir}{f}, \subimport{dir}{f},
# and \usepackage{x} for a package kept in the source folder (the authors' macros often live there).
INPUT = re.compile(r"\\(?:(input|include|subfile)\s*\{([^{}]*)\}|input\s+([^\s{}\\]+)"
                   r"|(import|subimport|inputfrom|subinputfrom|includefrom|subincludefrom)\*?\s*\{([^{}]*)\}\s*\{([^{}]*)\}"
                   r"|usepackage\s*(?:\[[^\]]*\])?\s*\{([^{}]*)\})")
# A file with its own \documentclass (subfiles, standalone) keeps its body; these lines would end
# or restart the main document.
OWN_DOCUMENT = re.compile(r"\\documentclass\s*(\[[^\]]*\])?\s*\{[^{}]*\}|\\(begin|end)\{document\}")
MAX_LINES = 100_000            # all files together; real papers (theses too) stay under 40,000
MAX_SOURCE_CHARS = 24 << 20    # all files together, after comments are dropped


def strip_comment(line: str) -> str:
    """Drop a LaTeX comment (an unescaped %) and the rest of the line."""
    if "%" not in line:
        return line
    return COMMENT.sub("", line.replace("\\\\%", "\\\\ %"))


def find_main_tex(folder: Path) -> Path | None:
    """The .tex with \\documentclass (not in a comment); ties go to \\begin{document}, then
    conventional names, then size. A subfile (`\\documentclass[main]{subfiles}`) is never the main one."""
    candidates = []
    for path in sorted(folder.rglob("*.tex")):
        text = _read_text(path, MAX_SOURCE_CHARS)
        if UNCOMMENTED_CLASS.search(text):  # one regex pass: a file of millions of lines costs no loop
            score = (not UNCOMMENTED_SUBFILE.search(text), bool(UNCOMMENTED_BEGIN.search(text)),
                     path.stem.lower() in ("main", "paper", "ms", "article"), len(text))
            candidates.append((score, path))
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


@dataclass
class _Flattening:
    root: Path
    compile_dir: Path
    out: list[SourceLine]
    warnings: list[str]
    seen: set[Path]
    chars: int = 0
    full: bool = False

    def add(self, name: str, number: int, text: str) -> bool:
        self.chars += len(text) + 1  # its newline too: a file cut at the cap is over it
        if len(self.out) >= MAX_LINES or self.chars > MAX_SOURCE_CHARS:
            if not self.full:
                self.warnings.append(f"{name}: the LaTeX source is longer than {MAX_LINES:,} lines or "
                                     f"{MAX_SOURCE_CHARS >> 20} MiB; only the part before line {number} was read")
            self.full = True
            return False
        self.out.append(SourceLine(name, number, text))
        return True


def flatten(main: Path, root: Path, warnings: list[str] | None = None) -> list[SourceLine]:
    """The document as LaTeX reads it: \\input/\\include/\\subfile/\\import followed, each line tagged
    with its file (relative to `root`, the unpacked source folder). Past MAX_LINES or
    MAX_SOURCE_CHARS reading stops, and `warnings` gets one line saying so."""
    root, main = root.resolve(), main.resolve()
    state = _Flattening(root, main.parent, [], [] if warnings is None else warnings, set())
    _flatten_into(main, state, depth=0)
    return state.out


def _flatten_into(path: Path, state: _Flattening, depth: int) -> None:
    if depth > MAX_INPUT_DEPTH or path in state.seen or state.full:
        return
    state.seen.add(path)
    name = path.relative_to(state.root).as_posix()
    own_document = depth > 0 and path.suffix == ".tex"
    for number, raw in enumerate(_lines(_read_text(path, MAX_SOURCE_CHARS + 1)), start=1):
        line = strip_comment(raw)
        if own_document and "document" in line:
            line = OWN_DOCUMENT.sub(lambda m: " " * len(m.group()), line)
        position = 0
        for match in INPUT.finditer(line) if "\\" in line else ():
            included = _included(state, path, match)
            if included is None:
                continue
            if not state.add(name, number, line[position:match.start()]):
                return
            _flatten_into(included, state, depth + 1)
            position = match.end()
        if not state.add(name, number, line[position:]):
            return


def _included(state: _Flattening, path: Path, match: re.Match) -> Path | None:
    """The file an \\input-like command names, or None (not found, outside the source, a system package)."""
    folders = (state.compile_dir, path.parent)
    if match.group(2) is not None or match.group(3) is not None:
        return _resolve_input(state.root, folders, (match.group(2) or match.group(3)).strip())
    if match.group(4) is not None:
        base = path.parent if match.group(4).startswith("sub") else state.compile_dir
        folder, name = match.group(5).strip(), match.group(6).strip()
        return _resolve_input(state.root, (base / folder, path.parent / folder), name)
    for package in match.group(7).split(","):
        found = _resolve_input(state.root, folders, package.strip(), suffix=".sty")
        if found is not None:
            return found  # one local package per \usepackage line is what papers do
    return None


def _resolve_input(root: Path, folders: tuple[Path, ...], name: str, suffix: str = ".tex") -> Path | None:
    """TeX looks relative to the compile folder (the main file's); we also try the includer's.
    A name that resolves outside the source folder is ignored."""
    if not name:
        return None
    for base in folders:
        for candidate in (base / name, base / f"{name}{suffix}"):
            resolved = candidate.resolve()
            if resolved.is_file() and resolved.is_relative_to(root) and resolved.suffix == suffix:
                return resolved
    return None


def _lines(text: str) -> Iterator[str]:
    """Lines one at a time: a file of millions of one-character lines is never held as a list."""
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        yield text[start:end].rstrip("\r")
        start = end + 1


def _read_text(path: Path, limit: int = -1) -> str:
    with path.open("rb") as handle:
        data = handle.read(limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
