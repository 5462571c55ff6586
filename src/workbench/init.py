"""`workbench init FOLDER`: a papers repository of your own, outside workbench's.

It gets papers/ (where `workbench fetch` puts papers), configs/ (Hydra groups its papers share,
searched before workbench's, with the `experiment=ci` preset), pyproject.toml depending on workbench,
.gitignore (run folders stay out of git), a CI workflow running the papers' tests and stage gates,
and a README. The files are templates/init/; dotted names are stored without their dot (`gitignore`,
`github/`) because package-data globs skip hidden files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import workbench
from workbench.errors import UserError
from workbench.files import atomic_write_text, filled_templates

HIDDEN = {"gitignore": ".gitignore", "github": ".github"}  # template name -> name in the repository


@dataclass
class Initialised:
    """What `workbench init` made: the project's name, its folder and the files in it."""

    name: str
    folder: Path
    files: list[str]


def init_repository(folder: Path, name: str | None = None) -> Initialised:
    """Write the repository into `folder` (new, or an empty folder): all of it, or nothing."""
    folder = folder.expanduser().resolve()
    project = project_name(name or folder.name)
    refuse_occupied(folder)
    files = rendered_files({"name": project, "version": workbench_version()})
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(staging / rel, text)
        if folder.exists():
            folder.rmdir()  # empty (checked above): the finished tree takes its place in one rename
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Initialised(project, folder, sorted(files))


def project_name(name: str) -> str:
    """A distribution name pip accepts (letters, digits, `-`, `_`, `.`), from the folder's name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")
    if not cleaned:
        raise UserError(f"'{name}' has no letters or digits to name the project after; pass --name <name>")
    return cleaned


def refuse_occupied(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; give a new folder for the papers repository")
    if folder.is_dir() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty; workbench init starts a repository in a new or empty folder")


def workbench_version() -> str:
    try:
        return version("workbench")
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return workbench.__version__


def rendered_files(values: dict[str, str]) -> dict[str, str]:
    """Repository-relative path -> text of every template, its {{placeholders}} filled in."""
    files = {}
    for rel, text in filled_templates(resources.files("workbench") / "templates" / "init", values).items():
        first, _, rest = rel.partition("/")
        files[f"{HIDDEN.get(first, first)}/{rest}" if rest else HIDDEN.get(first, first)] = text
    return files
