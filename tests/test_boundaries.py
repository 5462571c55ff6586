"""Paper-agnostic code never imports a paper; papers use only the public workbench API."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench
from conftest import REPO


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_src_workbench_never_imports_papers():
    offenders = {str(p.relative_to(REPO)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "papers")
                 for p in (REPO / "src" / "workbench").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_papers_use_only_the_public_api():
    public = {"workbench"}
    used = {}
    for path in (REPO / "papers").rglob("*.py"):
        private = sorted(m for m in imported_modules(path) if m.startswith("workbench") and m not in public)
        if private:
            used[str(path.relative_to(REPO))] = private
    assert used == {}


def test_public_api_names_exist():
    for name in workbench.__all__:
        assert hasattr(workbench, name), name
