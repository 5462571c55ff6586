"""Checkpoints: checkpoints/last.pt and prev.pt, written atomically, loaded with weights_only,
checked against a digest stored inside them.

torch.load does not verify the zip's CRCs: a flipped byte inside a tensor loads silently as a
wrong weight (measured: 60 of 60 random flips went unnoticed). A sha256 over the payload, stored
in the same file, turns that into a detected corruption, so resume falls back to prev.pt.

Each checkpoint also names the run it belongs to and the hash of the config it was trained with
(record.run_identity): `workbench resume` refuses a last.pt copied from another run's folder or
a config.yaml edited since, instead of splicing two runs together.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from workbench.console import stderr
from workbench.errors import UserError
from workbench.files import atomic_write, shown_path
from workbench.run import record

DIGEST_KEY = "sha256"
IDENTITY_KEY = "run"  # {"id": the run folder's name, "config_sha256": record.config_hash of its config.yaml}
CHECKPOINT_NAMES = ("last.pt", "prev.pt")


def payload_digest(payload: Any) -> str:
    """sha256 over a nested dict/list of tensors and plain values, in a fixed order."""
    digest = hashlib.sha256()
    _feed(digest, payload)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        digest.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())  # list and tuple alike: a load may turn one into the other
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"V{value!r}".encode())


def with_digest(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, DIGEST_KEY: payload_digest(payload)}


def verify_digest(payload: dict[str, Any]) -> None:
    """Raise ValueError when the stored digest does not match; checkpoints without one pass."""
    stored = payload.pop(DIGEST_KEY, None)
    if stored is not None and stored != payload_digest(payload):
        raise ValueError("checksum mismatch: the file was damaged after it was written")


def save_checkpoint(folder: Path, payload: dict[str, Any]) -> None:
    """Atomic: last.pt is replaced whole; the previous one is kept as prev.pt. The payload gets
    the identity of the run folder `folder` sits in."""
    folder.mkdir(parents=True, exist_ok=True)
    last = folder / "last.pt"
    if last.is_dir() or (folder / "prev.pt").is_dir():
        raise UserError(f"{shown_path(last if last.is_dir() else folder / 'prev.pt')} is a folder, not a checkpoint; "
                        f"move it away and run the command again")
    if last.exists():
        last.replace(folder / "prev.pt")
    payload = {**payload, IDENTITY_KEY: record.run_identity(folder.parent)}
    atomic_write(last, lambda handle: save_reporting_os_errors(with_digest(payload), handle))


class _WriteRecorder:
    """A file handle that remembers the OSError of a failed write (torch turns it into a RuntimeError)."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.error = handle, None

    def write(self, data: bytes) -> int:
        try:
            return self.handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.handle.flush()


def save_reporting_os_errors(payload: dict[str, Any], handle: Any) -> None:
    """torch.save, but a full disk raises the OSError (ENOSPC) instead of "unexpected pos ..."."""
    recorder = _WriteRecorder(handle)
    try:
        torch.save(payload, recorder)
    except RuntimeError:
        if recorder.error is not None:
            raise recorder.error from None
        raise


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """The newest checkpoint that loads (weights_only); a corrupt last.pt falls back to prev.pt."""
    path, payload, problems = newest_usable(folder)
    if payload is None:
        detail = "; ".join(problems) if problems else "none written yet"
        raise UserError(f"no usable checkpoint in {folder} ({detail}); start the run again")
    if problems:
        stderr.print(f"warning: {problems[-1]}; resuming from {path}", markup=False)
    payload.pop(IDENTITY_KEY, None)
    return payload


def newest_usable(folder: Path) -> tuple[Path | None, dict[str, Any] | None, list[str]]:
    """(path, payload) of the newest checkpoint that loads and passes its digest, and why the
    newer ones did not; (None, None, problems) when none does."""
    problems = []
    for name in CHECKPOINT_NAMES:
        path = folder / name
        if not path.exists():
            continue
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(payload, dict) or "model" not in payload or "state" not in payload:
                raise ValueError("not a workbench checkpoint")
            verify_digest(payload)
            return path, payload, problems
        except Exception as exc:  # torch.load fails in many ways on a damaged file; each is "unreadable"
            problems.append(f"{path} is unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})")
    return None, None, problems


def check_checkpoint_belongs(run_dir: Path, fix: str) -> None:
    """Refuse to resume from a checkpoint written by another run, or with another config.

    `fix` says how to start afresh instead. Checkpoints older than the identity pass; so does a
    run without a usable checkpoint (it starts over, or load_checkpoint explains)."""
    folder = record.checkpoint_dir(run_dir)
    for name in CHECKPOINT_NAMES:
        if (folder / name).is_dir():
            raise UserError(f"{shown_path(folder / name)} is a folder, not a checkpoint; move it away, then resume again")
    path, payload, _ = newest_usable(folder)
    if payload is None or not isinstance(payload.get(IDENTITY_KEY), dict):
        return
    written, now = payload[IDENTITY_KEY], record.run_identity(run_dir)
    if written.get("id") != now["id"]:
        raise UserError(f"{shown_path(path)} was written by run {written.get('id')}, not by {now['id']} (copied from "
                        f"another run's folder?); put this run's own checkpoint back, or {fix}")
    if written.get("config_sha256") != now["config_sha256"]:
        raise UserError(f"{shown_path(run_dir / record.CONFIG)} changed since {shown_path(path)} was written (the run "
                        f"trained with another config); restore the original config.yaml, or {fix}")


def remove_stale_temp_files(folder: Path) -> None:
    """A process killed inside atomic_write leaves its .last.pt.*.tmp behind; nothing reads it."""
    for tmp in folder.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
