"""The layout docs/architecture.md describes: one subpackage per command, no import cycles, small
modules, papers that use only the public API, and a public API editors can see."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import workbench

from conftest import REPO

SRC = REPO / "src" / "workbench"
MAX_MODULE_LINES = 500
COMMAND_PACKAGES = ("fetch", "claims", "run", "tracking", "report")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py")) if "templates" not in p.parts}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """workbench modules `path` imports, at the top or inside functions, resolved to known modules."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("workbench") and target != "workbench":
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    known = set(modules)
    return {name: imported_modules(path, known) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_is_built_from_real_imports():
    graph = import_graph()
    assert "workbench.run.record" in graph["workbench.run.runner"]
    assert "workbench.run.config" in graph["workbench.cli"]
    assert len(graph) > 30


def test_no_import_cycles_in_src_workbench():
    assert find_cycle(import_graph()) is None, f"import cycle: {' -> '.join(find_cycle(import_graph()))}"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_one_subpackage_per_command():
    for package in COMMAND_PACKAGES:
        assert (SRC / package / "__init__.py").is_file(), package
    assert not (SRC / "configs").exists(), "the shared configs live in the top-level configs/"


@pytest.mark.parametrize("name", sorted(source_modules()))
def test_no_module_is_too_long_to_read(name):
    lines = len(source_modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines; split it by job"


def test_no_private_names_cross_modules():
    modules = source_modules()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name} imports private {private} from {node.module}"


def test_paper_agnostic_code_never_imports_papers():
    for name, path in source_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("papers"), name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("papers") for a in node.names), name


def test_papers_use_only_the_public_api():
    for path in sorted((REPO / "papers").rglob("*.py")):
        if path.name.startswith("test_"):
            continue  # a paper's tests may reach further in, as any test may
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench"):
                assert node.module == "workbench", f"{path.relative_to(REPO)} imports {node.module}"
                missing = [a.name for a in node.names if a.name not in workbench.__all__]
                assert not missing, f"{path.relative_to(REPO)} imports {missing}, not in workbench.__all__"


def test_the_public_api_is_visible_and_resolves():
    assert set(workbench.__all__) <= set(dir(workbench))
    assert "import_module" not in dir(workbench) and "Any" not in dir(workbench)
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None
    assert (SRC / "py.typed").is_file()


def test_the_public_api_type_checking_imports_match_all():
    """Editors read the TYPE_CHECKING block; it must name exactly what __all__ exports."""
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    names = {a.asname or a.name for node in block.body for a in node.names}
    assert names == set(workbench.__all__)


def test_help_does_not_import_torch():
    """`workbench --help` and config errors answer at once: the CLI module loads no torch."""
    import subprocess

    code = "import sys, workbench.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_report_does_not_import_torch_or_scipy_stats():
    """`workbench report` reads files: torch (2 s to import) and scipy.stats (0.9 s) stay out of it."""
    import subprocess

    code = "import sys, workbench.report.write; print('torch' in sys.modules, 'scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_planning_a_sweep_does_not_import_torch():
    """Under hydra/launcher=joblib the sweep's own process only plans and hands out jobs: torch (2.4 s)
    loads where a job trains, so the workers start that much sooner."""
    import subprocess

    code = "import sys, workbench.run.launch, workbench.run.sweep; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_message_or_doc_points_outside_the_repository():
    for path in [*SRC.rglob("*.py"), *SRC.rglob("*.md"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]:
        text = path.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text and "../shared" not in text, path.relative_to(REPO)
