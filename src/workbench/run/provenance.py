"""Where a run came from: code version, packages, machine, command, data. Secrets never written."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE", re.IGNORECASE)
# Environment variables that change numbers or placement; anything secret-looking is dropped.
RECORDED_ENV = re.compile(r"^(WANDB_|CUDA_|OMP_|MKL_|TORCH_|NCCL_|SLURM_|WORKBENCH_|PYTHONHASHSEED$|HYDRA_)")
PACKAGES = ("workbench", "torch", "numpy", "scipy", "hydra-core", "omegaconf", "wandb", "mnist1d", "einops")
REDACTED = "<redacted>"


# Secrets by their shape, wherever they sit in a value: a URL's password, a secret-named query or
# mapping entry (`?api_key=...`, `{password: x}`), and the token formats of common services.
URL_PASSWORD = re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)")
NAMED_SECRET = re.compile(r"(?P<keep>[A-Za-z0-9_.-]*(?:key|token|secret|pass|credential|auth|private|session|cookie)"
                          r"[A-Za-z0-9_.-]*['\"]?\s*[:=]\s*['\"]?)(?!<redacted>)[^\s,;&}'\"\]]+", re.IGNORECASE)
TOKEN_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}|hf_[A-Za-z0-9]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|local-[0-9a-f]{40}|[0-9a-f]{40})\b")


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def redact_text(text: str) -> str:
    """`text` with every secret-shaped part replaced by <redacted> (names kept, so it still reads)."""
    text = URL_PASSWORD.sub(lambda m: m["keep"] + REDACTED, text)
    text = NAMED_SECRET.sub(lambda m: m["keep"] + REDACTED, text)
    return TOKEN_SHAPES.sub(REDACTED, text)


def recorded_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    return {k: redact_text(v) for k, v in sorted(env.items()) if RECORDED_ENV.match(k) and not is_secret_name(k)}


def redact_command(argv: list[str]) -> str:
    """The command as typed, with values of secret-looking overrides (e.g. api_key=...) hidden."""
    return shlex.join(redact_arg(arg) for arg in argv)


def redact_arg(arg: str) -> str:
    """One override or argument: a secret-named key hides its whole value, any value its secret parts."""
    key, sep, _ = arg.partition("=")
    return f"{key}={REDACTED}" if sep and is_secret_name(key) else redact_text(arg)


HOW_NOT_WHAT = ("trainer", "stage", "logger", "paths", "hydra")  # config keys of how a run runs, not of what it trains


def run_identity(overrides: list[str]) -> str:
    """The overrides that say what a run trains (`model=cnn data=shuffled seed=2`), secrets hidden:
    its name in status and progress lines, where the command's full overrides are already on screen."""
    return " ".join(redact_arg(o) for o in overrides if not says_how(o.split("=", 1)[0].lstrip("+~")))


def says_how(key: str) -> bool:
    """`trainer.max_steps`, `logger=none`, `hydra/launcher`, `stage`: a key under HOW_NOT_WHAT."""
    return any(key == root or key.startswith((f"{root}.", f"{root}/")) for root in HOW_NOT_WHAT)


def redact_config(tree: Any) -> Any:
    """A config as written to config.yaml and mirrors: values under secret-looking keys hidden.
    Secrets belong in environment variables, which are never written."""
    if isinstance(tree, dict):
        return {k: REDACTED if is_secret_name(str(k)) and v is not None else redact_config(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [redact_config(v) for v in tree]
    return redact_text(tree) if isinstance(tree, str) else tree


def git_state(root: Path) -> dict[str, Any]:
    """HEAD sha, whether the tree is dirty, and a sha256 of the diff (tracked and untracked names)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    if sha is None:
        return {"sha": None, "dirty": None, "diff_sha256": None}
    diff = (git("diff", "HEAD") or "") + (git("ls-files", "--others", "--exclude-standard") or "")
    return {
        "sha": sha.strip(),
        "dirty": bool(diff),
        "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


def package_versions() -> dict[str, str | None]:
    return dict(installed_versions())


@functools.cache
def installed_versions() -> dict[str, str | None]:
    """Read once a process (a few ms a package): the versions a process imported cannot change while it runs."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_description(device: torch.device) -> str:
    import torch  # here, not at the top: the report and the CLI redact configs without paying torch's import

    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()} x{os.cpu_count()} (torch threads {torch.get_num_threads()})"


def collect(root: Path, device: torch.device, seed: int, data_hash: str | None, argv: list[str] | None = None,
            git: dict[str, Any] | None = None) -> dict[str, Any]:
    """provenance.json's content; `git` is git_state(root) when runs that start together share one reading."""
    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git if git is not None else git_state(root),
        "python": platform.python_version(),
        "packages": package_versions(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "device": device_description(device),
        "seed": seed,
        "command": redact_command(argv if argv is not None else ["workbench", *sys.argv[1:]]),
        "cwd": os.getcwd(),
        "data_hash": data_hash,
        "env": recorded_environment(),
    }
