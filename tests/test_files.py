"""files.atomic_write_many: many files, each old or new, never half, and no temp file left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from workbench.errors import UserError
from workbench.files import atomic_write_many


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_file_is_written_with_the_usual_mode_and_no_temp_file(tmp_path):
    (tmp_path / "old.txt").write_bytes(b"old")
    atomic_write_many({tmp_path / "old.txt": b"new", tmp_path / "sub" / "a.bin": b"\x00\x01", tmp_path / "b.txt": b""})
    assert listing(tmp_path) == {"b.txt": b"", "old.txt": b"new", "sub/a.bin": b"\x00\x01"}
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "sub" / "a.bin").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_file_that_cannot_be_staged_changes_no_file(tmp_path):
    (tmp_path / "kept.txt").write_bytes(b"old")
    (tmp_path / "not-a-folder").write_bytes(b"a file")
    with pytest.raises(OSError):
        atomic_write_many({tmp_path / "kept.txt": b"new", tmp_path / "not-a-folder" / "x.txt": b"x"})
    assert listing(tmp_path) == {"kept.txt": b"old", "not-a-folder": b"a file"}


def test_a_full_disk_is_one_line_naming_a_file_and_changes_none(tmp_path, monkeypatch):
    (tmp_path / "kept.txt").write_bytes(b"old")

    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "sync", full_disk)
    with pytest.raises(UserError, match=r"no space left on the disk to write .*\.txt; free some space"):
        atomic_write_many({tmp_path / "kept.txt": b"new", tmp_path / "other.txt": b"x"})
    assert listing(tmp_path) == {"kept.txt": b"old"}
