"""How well `workbench fetch` reads real papers' results tables: the LaTeX reader run on every
paper of the corpus (benchmarks/corpus/<slug>/, restored into .corpus/<slug>/ by
benchmarks/corpus/restore.py) against the hand-written ground truth in its tables.yaml.

A ground-truth cell is found when a candidate of the same table number (for a tabular outside any
float, `table: null`, the one the reader found at its file and line) states the same value
(equal as printed: within 1e-6 relative). Each candidate answers one cell at most. Then, of the
cells found: std-correct (the same spread, or both none), row/column-correct (the same row and
column text once whitespace, case, LaTeX and a `[k]` suffix for the k-th number of a cell are
dropped) and goal-correct (the cell's goal, else its table's). Precision counts the candidates of
the ground truth's results tables and of tables it does not mention; tables it lists under
`skipped` (hyperparameters, dataset statistics) are left out, and in a table listed both as results
and under `skipped` (some of its cells are no results) a candidate that matches no cell is not
counted wrong.

Usage (repository root):
    python benchmarks/corpus/restore.py              # once, and again as papers arrive
    python benchmarks/claims_corpus.py               # every restored paper
    python benchmarks/claims_corpus.py gin_2019 -v   # one paper, with every miss listed
    python benchmarks/claims_corpus.py --no-fetch    # skip the end-to-end fetch timing

It also times `workbench fetch --from <tarball>` end to end (a fresh interpreter, a throwaway
project) on the corpus paper with the most table cells, and on a made-up paper of 600 cells.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "benchmarks" / "corpus"
RESTORED = ROOT / ".corpus"

from workbench.fetch import eprint, latex  # noqa: E402
from workbench.fetch.cells import plain_text  # noqa: E402


def read_paper(source: Path, main: Path | None) -> list:
    """The reader `workbench fetch` runs (latex.read_source); a tree without it (an older
    checkout, for before/after figures) gets the same steps by hand. `main` is the ground truth's
    main .tex: a repository may hold two documents (a paper and its supplement) where an arXiv
    source holds one."""
    if hasattr(latex, "read_source"):
        return latex.read_source(source, main).tables
    main = main or eprint.find_main_tex(source)
    return latex.read_document(eprint.flatten(main, source))[2] if main else []


def normalise(text: str) -> str:
    text = plain_text(str(text)).lower()
    text = re.sub(r"\s*\[\d+\]\s*$", "", text)          # the k-th number of a two-number cell
    text = re.sub(r"[↑↓*†‡]", "", text)
    text = re.sub(r"\s*/\s*", " / ", text)
    return re.sub(r"\s+", " ", text).strip()


def same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def same_std(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return same_value(a, b)


@dataclass
class Score:
    cells: int = 0
    candidates: int = 0
    found: int = 0
    std_ok: int = 0
    place_ok: int = 0
    goal_ok: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name in ("cells", "candidates", "found", "std_ok", "place_ok", "goal_ok"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self, name: str) -> str:
        def rate(n: int, d: int) -> str:
            return f"{n / d:5.2f}" if d else "    -"
        precision = rate(self.found, self.candidates)
        return (f"{name:32s} {self.cells:5d} {self.candidates:5d} {self.found:5d}  {rate(self.found, self.cells)}  "
                f"{precision}  {rate(self.std_ok, self.found)}  {rate(self.place_ok, self.found)}  "
                f"{rate(self.goal_ok, self.found)}  {self.seconds:5.2f}")


HEADER = (f"{'paper':32s} {'cells':>5s} {'cands':>5s} {'found':>5s}  {'recall':>5s} {'prec':>5s}  "
          f"{'std':>5s}  {'r/c':>5s}  {'goal':>5s}  {'sec':>5s}")


def score_paper(slug: str) -> Score:
    truth = yaml.safe_load((CORPUS / slug / "tables.yaml").read_text(encoding="utf-8")) or {}
    source = yaml.safe_load((CORPUS / slug / "source.yaml").read_text(encoding="utf-8")) or {}
    main = RESTORED / slug / source["main"] if source.get("main") else None
    found_main = eprint.find_main_tex(RESTORED / slug)
    started = time.perf_counter()
    tables = read_paper(RESTORED / slug, main)
    score = Score(seconds=time.perf_counter() - started)
    if main is not None and found_main != main:
        score.misses.append(f"note: fetch would read {found_main and found_main.name} as the main .tex, not {main.name}")
    results = {str(t["table"]) for t in truth.get("tables") or []}
    noted = {str(s.get("table")) for s in truth.get("skipped") or []}
    skipped, partly = noted - results, noted & results
    by_table: dict[str, list] = {}
    for table in tables:
        if str(table.number) not in skipped:
            by_table.setdefault(str(table.number), []).extend(table.candidates)
    score.candidates = sum(len(c) for c in by_table.values())
    for table in truth.get("tables") or []:
        if table["table"] is None:  # a tabular outside any float: the reader's own name for it
            table = {**table, "table": _unnumbered(tables, table)}
        pool = list(by_table.get(str(table["table"]), []))
        for cell in table.get("cells") or []:
            score.cells += 1
            match = _best(pool, cell)
            if match is None:
                score.misses.append(f"table {table['table']} line {cell.get('line')}: {cell['row']} | {cell['column']} | "
                                    f"{cell['value']} ± {cell.get('std')}")
                continue
            pool.remove(match)
            score.found += 1
            score.std_ok += same_std(match.std, cell.get("std"))
            place_ok = normalise(match.row) == normalise(cell["row"]) and normalise(match.column) == normalise(cell["column"])
            score.place_ok += place_ok
            if not place_ok:
                score.misses.append(f"  placed: table {table['table']} line {cell.get('line')}: truth {cell['row']!r} | "
                                    f"{cell['column']!r}, read {match.row!r} | {match.column!r}")
            if not same_std(match.std, cell.get("std")):
                score.misses.append(f"  std: table {table['table']} line {cell.get('line')}: {cell['value']} truth "
                                    f"{cell.get('std')}, read {match.std}")
            expected_goal = cell.get("goal") or table.get("goal")
            score.goal_ok += match.goal == expected_goal
            if match.goal != expected_goal:
                score.misses.append(f"  goal: table {table['table']} {match.column!r}: truth {expected_goal}, read {match.goal}")
        by_table[str(table["table"])] = pool
    for number in partly:  # the note names cells that are numbers but no results: not counted wrong
        score.candidates -= len(by_table.get(number, []))
        by_table.pop(number, None)
    for number, pool in by_table.items():
        score.extras += [f"table {number} {c.file}:{c.line}: {c.row} | {c.column} | {c.value}" for c in pool]
    return score


def _unnumbered(tables: list, truth: dict) -> str | None:
    """The bare tabular the reader found at the ground truth's file and line (a few lines off)."""
    near = [t for t in tables if not isinstance(t.number, int) and t.file == truth.get("file")
            and abs(t.line - (truth.get("line") or 0)) <= 5]
    return str(min(near, key=lambda t: abs(t.line - truth["line"])).number) if near else None


def _best(pool: list, cell: dict):
    same = [c for c in pool if same_value(c.value, float(cell["value"]))]
    if not same:
        return None
    row, column = normalise(cell["row"]), normalise(cell["column"])
    return min(same, key=lambda c: (normalise(c.row) != row or normalise(c.column) != column,
                                    c.line != cell.get("line"), abs(c.line - (cell.get("line") or c.line))))


# ---------------------------------------------------------------- end-to-end fetch time


def fetch_seconds(source: Path, arxiv: str = "2101.00001") -> tuple[float, float]:
    """`workbench fetch --from <tarball>` in a fresh interpreter and a throwaway project: wall
    seconds, and CPU seconds (the figure a busy machine does not inflate)."""
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / "source.tar.gz"
        with tarfile.open(tarball, "w:gz") as tar:
            for path in sorted(source.rglob("*")):
                tar.add(path, arcname=path.relative_to(source).as_posix(), recursive=False)
        project = Path(tmp) / "project"
        (project / "papers").mkdir(parents=True)
        env = {**os.environ, "WORKBENCH_ROOT": str(project), "WORKBENCH_CACHE": str(Path(tmp) / "cache")}
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "workbench", "fetch", "--from", str(tarball), "--id", arxiv,
                               "--name", "paper"], cwd=project, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"fetch failed: {done.stderr.strip()}")
        return seconds, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def made_up_paper(folder: Path, rows: int = 100, columns: int = 6) -> int:
    header = " & ".join(f"Task {k}" for k in range(columns))
    body = "\n".join(f"Model {i} & " + " & ".join(f"{50 + (i * 7 + k) % 50}.{k} $\\pm$ 0.{k + 1}" for k in range(columns))
                     + " \\\\" for i in range(rows))
    (folder / "main.tex").write_text(
        "\\documentclass{article}\n\\title{A made-up paper}\n\\begin{document}\n\\section{Results}\n"
        "\\begin{table}\\caption{Accuracy.}\n\\begin{tabular}{l" + "c" * columns + "}\n\\toprule\nModel & " + header
        + " \\\\\n\\midrule\n" + body + "\n\\bottomrule\n\\end{tabular}\n\\end{table}\n\\end{document}\n")
    return rows * columns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("papers", nargs="*")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every missed cell and extra candidate")
    parser.add_argument("--no-fetch", action="store_true", help="skip the end-to-end fetch timing")
    args = parser.parse_args()
    slugs = args.papers or sorted(p.name for p in CORPUS.iterdir() if (p / "tables.yaml").is_file())
    missing = [s for s in slugs if not (RESTORED / s).is_dir()]
    if missing:
        print(f"not restored (run benchmarks/corpus/restore.py): {', '.join(missing)}")
    slugs = [s for s in slugs if s not in missing]
    print(HEADER)
    total, sizes, low = Score(), {}, []
    for slug in slugs:
        score = score_paper(slug)
        if score.cells and score.found / score.cells < 0.8:
            low.append(slug)
        total.add(score)
        total.seconds = max(total.seconds, score.seconds)
        sizes[slug] = score.cells
        print(score.line(slug))
        if args.verbose:
            for line in score.misses:
                print(f"    miss {line}")
            for line in score.extras:
                print(f"    extra {line}")
    print(total.line(f"micro-average ({len(slugs)} papers)"))
    print(f"papers below 0.8 recall: {len(low)}{' (' + ', '.join(low) + ')' if low else ''}")
    if not args.no_fetch and slugs:
        largest = max(sizes, key=sizes.get)
        wall, cpu = fetch_seconds(RESTORED / largest)
        print(f"fetch --from, end to end, largest paper ({largest}, {sizes[largest]} cells): "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU")
        with tempfile.TemporaryDirectory() as tmp:
            n = made_up_paper(Path(tmp))
            wall, cpu = fetch_seconds(Path(tmp))
            print(f"fetch --from, end to end, a made-up paper of {n} table cells: {wall:.2f} s wall, {cpu:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
