"""Finds the project folder and the papers in it (papers/*/paper.yaml), by name or arXiv id."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from workbench.errors import UserError


@dataclass(frozen=True)
class Paper:
    name: str
    dir: Path
    meta: dict[str, Any]

    @property
    def conf_dir(self) -> Path:
        return self.dir / "conf"

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.name))

    @property
    def arxiv_id(self) -> str | None:
        value = self.meta.get("arxiv_id")
        return None if value is None else str(value)

    def repro_dir(self, root: Path) -> Path:
        return root / "reproductions" / self.name


def project_root(start: Path | None = None) -> Path:
    """WORKBENCH_ROOT if set, else the nearest folder upwards that holds papers/."""
    if env := os.environ.get("WORKBENCH_ROOT"):
        root = Path(env)
        if not (root / "papers").is_dir():
            raise UserError(f"WORKBENCH_ROOT={env} has no papers/ folder; unset it or point it at a workbench project")
        return root.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "papers").is_dir():
            return folder
    raise UserError(f"no papers/ folder in {here} or above; run workbench inside a project (or set WORKBENCH_ROOT)")


def read_paper_yaml(path: Path) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}:{where} is not valid YAML ({problem}); fix the file") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply to read; fix the file") from None
    except (OSError, ValueError) as exc:  # ValueError: bad UTF-8, an integer of thousands of digits
        raise UserError(f"{path}: cannot read ({str(exc).splitlines()[0]}); fix the file") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}: expected a mapping of fields (name, arxiv_id, title, ...); fix the file")
    return meta


def list_papers(root: Path) -> list[Paper]:
    papers = []
    for meta_path in sorted((root / "papers").glob("*/paper.yaml")):
        papers.append(Paper(meta_path.parent.name, meta_path.parent, read_paper_yaml(meta_path)))
    return papers


def find_paper(root: Path, name_or_id: str) -> Paper:
    """A paper by folder name or arXiv id; an unknown name suggests the closest one."""
    papers = list_papers(root)
    for paper in papers:
        if name_or_id == paper.name or (paper.arxiv_id and name_or_id.split("v")[0] == paper.arxiv_id.split("v")[0]):
            return paper
    names = [p.name for p in papers]
    close = difflib.get_close_matches(name_or_id, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UserError(f"no paper named '{name_or_id}' in {root / 'papers'}.{hint} (`workbench list` shows all)")


def import_paper_module(root: Path, paper: Paper, module: str) -> ModuleType:
    """Import papers.<name>.<module> with the project folder on sys.path."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"papers.{paper.name}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"papers.{paper.name}.{module}", f"papers.{paper.name}", "papers"):
            raise UserError(f"{paper.dir / (module + '.py')} is missing; stage 2 needs it (see DESIGN.md)") from None
        raise
