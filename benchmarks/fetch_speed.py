"""How long `workbench fetch` takes against the loopback fake arXiv (tests/fake_arxiv.py): the
first fetch (download + unpack + read the LaTeX + scaffold), a second one from the cache with the
server stopped, and the LaTeX table reader alone on tables of growing size (it must stay linear).

Each fetch is the real command (`python -m workbench fetch`) in a throwaway project; the figures
include the interpreter's start-up. Usage: python benchmarks/fetch_speed.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_arxiv import FakeArxiv, source_tarball  # noqa: E402

from workbench import eprint, latex  # noqa: E402


def timed_fetch(project: Path, env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench", "fetch", *args], cwd=project,
                          env={**os.environ, **env, "WORKBENCH_ROOT": str(project)}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - started


def fetch_times() -> None:
    fake = FakeArxiv().start()
    fake.add_paper("1906.01563", 1, source_tarball())
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        (project / "papers").mkdir(parents=True)
        env = {**fake.env, "WORKBENCH_CACHE": str(Path(tmp) / "cache")}
        first = timed_fetch(project, env, "1906.01563", "--name", "hnn")
        fake.stop()
        second = timed_fetch(project, env, "1906.01563", "--name", "hnn")
    print(f"fetch, first (download + scaffold): {first:.2f} s")
    print(f"fetch, again from the cache, server stopped: {second:.2f} s")


def parse_times() -> None:
    for rows in (1_000, 4_000, 16_000):
        body = "\n".join(f"Model {i} & {i}.1 $\\pm$ 0.2 & \\textbf{{{i}.5}} \\\\" for i in range(rows))
        text = ("\\documentclass{article}\n\\begin{document}\n\\begin{table}\\caption{x}\n\\begin{tabular}{lcc}\n"
                "\\toprule\nModel & A & B \\\\\n\\midrule\n" + body + "\n\\bottomrule\n\\end{tabular}\n\\end{table}\n\\end{document}")
        lines = [eprint.SourceLine("main.tex", i, line) for i, line in enumerate(text.split("\n"), 1)]
        started = time.perf_counter()
        _, _, tables = latex.read_document(lines)
        seconds = time.perf_counter() - started
        cells = sum(len(t.candidates) for t in tables)
        print(f"table reader: {rows:6d} rows, {cells:6d} candidates in {seconds:.2f} s ({cells / seconds:,.0f} cells/s)")


if __name__ == "__main__":
    fetch_times()
    parse_times()
