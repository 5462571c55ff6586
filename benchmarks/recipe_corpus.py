"""Recipe extraction on the real-paper corpus: recall and precision per paper and micro-averaged.

Ground truth is benchmarks/corpus/<slug>/recipe.yaml, written by reading each paper's LaTeX; the
sources are restored by benchmarks/corpus/restore.py into .corpus/<slug>/ (git-ignored). A
predicted entry matches a true one when name and value (or the set of values) are the same;
each paper's entries count once per (name, value), wherever and however often the paper says it.

    .venv/bin/python benchmarks/recipe_corpus.py [--sources .corpus] [--show slug]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.fetch import latex
from workbench.fetch.recipe import RecipeEntry, load_recipe, read_recipe

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "benchmarks" / "corpus"


def key(entry: RecipeEntry) -> tuple[str, object]:
    def norm(v: object) -> object:
        return float(f"{v:.10g}") if isinstance(v, (int, float)) else str(v).lower()

    if entry.values is not None:
        return entry.name, tuple(sorted({norm(v) for v in entry.values}, key=str))
    return entry.name, norm(entry.value)


def predicted(source: Path) -> list[RecipeEntry]:
    found = latex.read_source(source)
    return [] if found.document is None else read_recipe(found.document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO / ".corpus", help="restored sources, one folder per slug")
    parser.add_argument("--show", action="append", default=[], help="print the misses and extras of this paper")
    args = parser.parse_args()
    total_true = total_found = total_hit = 0
    print(f"{'paper':32} {'true':>5} {'found':>5} {'hit':>5} {'recall':>7} {'precision':>9}")
    for truth_path in sorted(CORPUS.glob("*/recipe.yaml")):
        slug = truth_path.parent.name
        source = args.sources / slug
        if not source.is_dir():
            print(f"{slug:32} not restored ({source}); run benchmarks/corpus/restore.py")
            continue
        truth = {key(e) for e in load_recipe(truth_path)}
        found = {key(e) for e in predicted(source)}
        hit = truth & found
        total_true, total_found, total_hit = total_true + len(truth), total_found + len(found), total_hit + len(hit)
        recall = len(hit) / len(truth) if truth else 1.0
        precision = len(hit) / len(found) if found else 1.0
        print(f"{slug:32} {len(truth):5} {len(found):5} {len(hit):5} {recall:7.2f} {precision:9.2f}")
        if slug in args.show:
            for miss in sorted(truth - found, key=str):
                print(f"    missed {miss}")
            for extra in sorted(found - truth, key=str):
                print(f"    extra  {extra}")
    recall = total_hit / total_true if total_true else 0.0
    precision = total_hit / total_found if total_found else 0.0
    print(f"{'micro':32} {total_true:5} {total_found:5} {total_hit:5} {recall:7.2f} {precision:9.2f}")


if __name__ == "__main__":
    main()
