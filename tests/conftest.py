"""Shared fixtures: a throwaway project folder and a way to run the real `workbench` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def copy_project(root: Path) -> Path:
    """papers/ copied from the repo, so runs and reports never touch the real tree."""
    shutil.copytree(REPO / "papers", root / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway project folder with W&B pointed at tmp and offline."""
    root = copy_project(tmp_path / "project")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        folder = tmp_path / var.lower()
        folder.mkdir()
        monkeypatch.setenv(var, str(folder))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return root


def workbench(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m workbench ...` in the project folder, as a user would from a shell."""
    full_env = {**os.environ, "WORKBENCH_ROOT": str(root), "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=root, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_dirs(root: Path, stage: str) -> list[Path]:
    return sorted((root / "reproductions" / "mnist1d" / "runs" / stage).glob("*-*"))


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def allow_overrides(root: Path, paper: str, *keys: str) -> None:
    """Let runs that change `keys` answer the claims of a throwaway project's copy of `paper`: the
    tiers check the machinery on a shortened recipe, which the real report never counts."""
    import yaml

    path = root / "papers" / paper / "claims.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["allow"] = [*data.get("allow", []), *keys]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def install_wheel(tmp_path: Path) -> Path:
    """Not editable: a wheel built from a copy of this repository's src/ and configs/, installed
    with pip --target into tmp_path/site, which is returned (put it on PYTHONPATH)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("src", "configs"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True,
                   cwd=tmp_path)
    [wheel] = wheels.glob("workbench-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target
