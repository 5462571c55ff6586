"""Five seeds for the price of how many? MNIST-1D MLP and CNN (stage=reproduction, 6000 steps),
five seeds run one after another vs vectorised in one process (seeds=5 trainer.vectorize_seeds=true),
against one seed alone. Target: 5 vectorised seeds cost <= 2x one seed.

Each configuration is a real `workbench run` in a throwaway project (papers/ copied), one torch
thread. Two figures per configuration: the runs' own training wall time (summary.json
wall_time_s: the loop, evaluations and checkpoints, not start-up or building the data set), and
the CPU seconds the command used minus those of the same command with trainer.max_steps=1 (start-up,
building, one evaluation): on a machine shared with other work, CPU time is the steadier figure.
Usage: python benchmarks/seeds.py [--steps 6000] [--models mlp,cnn]   (pin it: taskset -c 0)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_cpu(project: Path, *overrides: str) -> tuple[list[dict], float]:
    """The run's summaries, and the CPU seconds of its training (the whole command minus a 1-step one)."""
    before = cpu_seconds()
    summaries = run(project, *overrides)
    full = cpu_seconds() - before
    run(project, *overrides, "trainer.max_steps=1")
    return summaries, full - (cpu_seconds() - before - full)


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
    print("wall: training wall time (s); cpu: training CPU time (s); vec/1: 5 vectorised seeds / one seed")
    print(f"{'model':6} {'':4} {'1 seed':>8} {f'{n} seq':>8} {f'{n} vec':>8} {'vec/1':>7} {'seq/vec':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "papers", project / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
        for model in args.models.split(","):
            common = [f"model={model}", f"trainer.max_steps={args.steps}"]
            (one,), one_cpu = train_cpu(project, *common, "seed=0")
            sequential, seq_cpu = train_cpu(project, *common, f"seeds={n}")
            vectorised, vec_cpu = train_cpu(project, *common, f"seeds={n}", "trainer.vectorize_seeds=true")
            assert all("vectorized_with_seeds" in s for s in vectorised), "vectorisation fell back"
            one_s, seq_s = one["wall_time_s"], sum(s["wall_time_s"] for s in sequential)
            vec_s = vectorised[0]["wall_time_s"]  # one loop trained all seeds
            print(f"{model:6} wall {one_s:8.2f} {seq_s:8.2f} {vec_s:8.2f} {vec_s / one_s:7.2f} {seq_s / vec_s:8.2f}")
            print(f"{model:6} cpu  {one_cpu:8.2f} {seq_cpu:8.2f} {vec_cpu:8.2f} {vec_cpu / one_cpu:7.2f} "
                  f"{seq_cpu / vec_cpu:8.2f}   ({load()})")
            by_seed = {s["seed"]: s["metrics"]["test/acc"] for s in sequential}
            diffs = [abs(s["metrics"]["test/acc"] - by_seed[s["seed"]]) for s in vectorised]
            print(f"{'':6} test acc, vectorised vs separate run of the same seed: max |diff| {max(diffs):.2f} points")
    print(f"target: {n} vectorised seeds <= 2x one seed (vec/1 <= 2)")


if __name__ == "__main__":
    main()
