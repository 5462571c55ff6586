"""Finds the project folder and the papers in it (papers/*/paper.yaml), by name or arXiv id."""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.machinery
import importlib.util
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


def load_paper_module(paper_dir: Path, module: str) -> ModuleType:
    """papers/<name>/<module>.py as the module `papers.<name>.<module>`: the one way workbench loads
    a paper's code (experiment.py for runs, figures.py for reports), so relative imports work.

    When another project's `papers` package is already imported in this process (tests build
    projects in temporary folders), this project's papers load under a package of their own
    (`papers_<hash>`) instead, so neither shadows the other.
    """
    paper_dir = Path(paper_dir).resolve()
    path = paper_dir / f"{module}.py"
    if not path.is_file():
        raise UserError(f"{path} is missing; write it (docs/paper-folder.md says what it holds)")
    package = f"{papers_package(paper_dir.parent)}.{paper_dir.name}"
    qualified = f"{package}.{module}"
    loaded = sys.modules.get(qualified)
    if loaded is not None and getattr(loaded, "__file__", None) and Path(loaded.__file__).resolve() == path:
        return loaded
    ensure_package(package, paper_dir)
    sys.modules.pop(qualified, None)
    return importlib.import_module(qualified)


def papers_package(folder: Path) -> str:
    """The name this project's papers/ folder is imported under."""
    current = sys.modules.get("papers")
    if current is None or folder in package_folders(current):
        ensure_package("papers", folder)
        return "papers"
    alias = f"papers_{hashlib.sha1(str(folder).encode()).hexdigest()[:10]}"
    ensure_package(alias, folder)
    return alias


def package_folders(package: ModuleType) -> set[Path]:
    return {Path(p).resolve() for p in getattr(package, "__path__", [])}


def ensure_package(name: str, folder: Path) -> None:
    """sys.modules[name] is the package in `folder` (created from its __init__.py, if any)."""
    current = sys.modules.get(name)
    if current is not None and folder in package_folders(current):
        return
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    init = folder / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    else:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations.append(str(folder))
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if init.is_file():
        try:
            spec.loader.exec_module(package)
        except BaseException:
            del sys.modules[name]
            raise
    parent, _, leaf = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], leaf, package)
