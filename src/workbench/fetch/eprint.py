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

from workbench.errors import UserError

MAX_TOTAL_BYTES = 512 << 20
MAX_FILES = 5000
MAX_INPUT_DEPTH = 20
CHUNK = 1 << 16


class UnsafeArchive(UserError):
    pass


def detect_kind(data_head: bytes) -> str:
    """'pdf', 'gzip', 'tar' or 'tex' from the first bytes (arXiv serves all under one URL)."""
    if data_head.startswith(b"%PDF"):
        return "pdf"
    if data_head.startswith(b"\x1f\x8b"):
        return "gzip"
    if len(data_head) >= 262 and data_head[257:262] == b"ustar":
        return "tar"
    return "tex"


def unpack_source(archive: Path, target: Path, max_bytes: int = MAX_TOTAL_BYTES, max_files: int = MAX_FILES) -> str:
    """Unpack an e-print into `target` (created; must not exist). Returns the kind found.

    A PDF-only e-print unpacks to nothing. The target appears complete or not at all.
    """
    head = _head(archive, 512)
    kind = detect_kind(head)
    if kind == "gzip":
        inner = _gunzip_head(archive, 512)
        kind = "tar.gz" if detect_kind(inner) == "tar" else "tex.gz"
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
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                dest.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                total += _copy_capped(source, dest, max_bytes - total, archive, max_bytes)
            # devices, fifos: skipped, LaTeX never needs them


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
INPUT = re.compile(r"\\(?:input|include|subfile)\s*\{([^{}]*)\}")


def strip_comment(line: str) -> str:
    """Drop a LaTeX comment (an unescaped %) and the rest of the line."""
    if "%" not in line:
        return line
    return COMMENT.sub("", line.replace("\\\\%", "\\\\ %"))


def find_main_tex(folder: Path) -> Path | None:
    """The .tex with \\documentclass (not in a comment); ties go to \\begin{document}, then
    conventional names, then size."""
    candidates = []
    for path in sorted(folder.rglob("*.tex")):
        text = _read_text(path)
        body = "\n".join(strip_comment(line) for line in text.splitlines())
        if DOCUMENTCLASS.search(body):
            score = ("\\begin{document}" in body, path.stem.lower() in ("main", "paper", "ms", "article"), len(body))
            candidates.append((score, path))
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def flatten(main: Path, root: Path) -> list[SourceLine]:
    """The document as LaTeX reads it: \\input/\\include followed, each line tagged with its file
    (relative to `root`, the unpacked source folder)."""
    root, main = root.resolve(), main.resolve()
    out: list[SourceLine] = []
    _flatten_into(main, root, main.parent, out, seen=set(), depth=0)
    return out


def _flatten_into(path: Path, root: Path, compile_dir: Path, out: list[SourceLine], seen: set[Path], depth: int) -> None:
    if depth > MAX_INPUT_DEPTH or path in seen:
        return
    seen.add(path)
    name = path.relative_to(root).as_posix()
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        line = strip_comment(raw)
        position = 0
        for match in INPUT.finditer(line):
            out.append(SourceLine(name, number, line[position:match.start()]))
            included = _resolve_input(root, (compile_dir, path.parent), match.group(1).strip())
            if included is not None:
                _flatten_into(included, root, compile_dir, out, seen, depth + 1)
            position = match.end()
        out.append(SourceLine(name, number, line[position:]))


def _resolve_input(root: Path, folders: tuple[Path, ...], name: str) -> Path | None:
    """TeX looks relative to the compile folder (the main file's); we also try the includer's.
    A name that resolves outside the source folder is ignored."""
    for base in folders:
        for candidate in (base / name, base / f"{name}.tex"):
            resolved = candidate.resolve()
            if resolved.is_file() and resolved.is_relative_to(root) and resolved.suffix == ".tex":
                return resolved
    return None


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
