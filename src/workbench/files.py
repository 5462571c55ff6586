"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import yaml

from workbench.errors import UserError


def workbench_cache() -> Path:
    """The machine-wide cache folder: $WORKBENCH_CACHE, default ~/.cache/workbench (fetched papers, generated data)."""
    return Path(os.environ.get("WORKBENCH_CACHE") or Path.home() / ".cache" / "workbench")


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temp file in the same folder, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; keep the usual mode
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise UserError(f"no space left on the disk to write {path}; free some space and run the command again") from exc
        raise


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def ensure_writable_folder(path: Path, what: str) -> None:
    """Create `path` now and a folder in it (as Hydra and every run will), so an unwritable or
    full disk is one clear line before any work starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(dir=path, prefix=".writable-"))
    except OSError as exc:
        raise UserError(f"cannot create {what} {path} ({exc.strerror or exc}); choose a writable folder") from None


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """NaN and inf become null: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, sort_keys=False) + "\n")


def atomic_write_yaml(path: Path, data: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the working folder where possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def filled_templates(root: Any, values: dict[str, str]) -> dict[str, str]:
    """Relative path -> text of every file under the template folder `root` (a Path or an
    importlib.resources Traversable), each {{key}} replaced by values[key]; sorted by path."""
    files = {}
    for rel in template_paths(root):
        text = (root / rel).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        files[rel] = text
    return files


def template_paths(folder: Any, prefix: str = "") -> list[str]:
    paths = []
    for item in folder.iterdir():
        if item.name == "__pycache__":
            continue
        rel = f"{prefix}{item.name}"
        paths += template_paths(item, rel + "/") if item.is_dir() else [rel]
    return sorted(paths)
