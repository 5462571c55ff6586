"""Five seeds for the price of how many? MNIST-1D MLP and CNN (stage=reproduction, 6000 steps),
five seeds run one after another vs vectorised in one process (seeds=5 trainer.vectorize_seeds=true),
against one seed alone. Target: 5 vectorised seeds cost <= 2x one seed.

Each configuration is a real `workbench run` in a throwaway project (papers/ copied), one torch
thread; the figures are the runs' own training wall time (summary.json wall_time_s: the loop,
evaluations and checkpoints, not Python start-up or building the data set).
Usage: python benchmarks/seeds.py [--steps 6000] [--models mlp,cnn]   (pin it: taskset -c 0)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(project: Path, *overrides: str) -> list[dict]:
    """One `workbench run`; the summaries of the run folders it made."""
    runs = project / "reproductions" / "mnist1d" / "runs" / "reproduction"
    before = set(runs.glob("*")) if runs.exists() else set()
    command = [sys.executable, "-m", "workbench", "run", "mnist1d", "stage=reproduction", "logger=none",
               "trainer.threads=1", *overrides]
    subprocess.run(command, cwd=project, env={**os.environ, "WORKBENCH_ROOT": str(project)}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return [json.loads((d / "summary.json").read_text()) for d in sorted(set(runs.glob("*")) - before)]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    n = args.seeds
    print(f"MNIST-1D, {args.steps} steps, {n} seeds, 1 torch thread; {os.cpu_count()} cores, {load()}")
    print(f"{'model':6} {'1 seed s':>9} {f'{n} seq s':>9} {f'{n} vec s':>9} {'vec/1':>7} {'seq/vec':>8} {'max |Δ acc|':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "papers", project / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
        for model in args.models.split(","):
            common = [f"model={model}", f"trainer.max_steps={args.steps}"]
            (one,) = run(project, *common, "seed=0")
            sequential = run(project, *common, f"seeds={n}")
            vectorised = run(project, *common, f"seeds={n}", "trainer.vectorize_seeds=true")
            assert all("vectorized_with_seeds" in s for s in vectorised), "vectorisation fell back"
            seq_s = sum(s["wall_time_s"] for s in sequential)
            vec_s = vectorised[0]["wall_time_s"]  # one loop trained all seeds
            by_seed = {s["seed"]: s["metrics"]["test/acc"] for s in sequential}
            diff = max(abs(s["metrics"]["test/acc"] - by_seed[s["seed"]]) for s in vectorised)
            print(f"{model:6} {one['wall_time_s']:9.2f} {seq_s:9.2f} {vec_s:9.2f} {vec_s / one['wall_time_s']:7.2f} "
                  f"{seq_s / vec_s:8.2f} {diff:11.2g}   ({load()})")
    print(f"target: {n} vectorised seeds <= 2x one seed (vec/1 <= 2)")


if __name__ == "__main__":
    main()
