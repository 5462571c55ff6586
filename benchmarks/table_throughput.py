"""The whole MNIST-1D Table 1 (4 models x 2 data variants x 3 seeds = 24 runs of 6000 steps) as
fast as this machine allows: each cell's seeds vectorised in one process (seeds=3
trainer.vectorize_seeds=true; the GRU falls back to one seed after another where it cannot be
vectorised), the 8 cells spread over the cores by Hydra's joblib launcher, longest first.

Runs in a throwaway project (papers/ copied). Prints each run's training time and the wall time of
the whole command. Target: < 180 s on 2 cores (a bare sequential loop: about 7.5 minutes).
Usage: python benchmarks/table_throughput.py [--seeds 3] [--launcher joblib|basic]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {"joblib": ["hydra/launcher=joblib"], "basic": []}


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--launcher", default="joblib", choices=list(LAUNCHERS))
    args = parser.parse_args()
    print(f"MNIST-1D Table 1, 8 cells x {args.seeds} seeds; {os.cpu_count()} cores, {load()} at start")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "papers", project / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
        command = [sys.executable, "-m", "workbench", "run", "mnist1d", "stage=reproduction", "-m",
                   "model=gru,cnn,mlp,logistic", "data=standard,shuffled", "seed=0", f"seeds={args.seeds}",
                   "trainer.vectorize_seeds=true", "logger=none", *LAUNCHERS[args.launcher]]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=project, env={**os.environ, "WORKBENCH_ROOT": str(project)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        total = time.perf_counter() - start
        fallbacks = sorted({line.strip() for line in done.stderr.splitlines() if "vectorize_seeds:" in line})
        rows = []
        for path in (project / "reproductions" / "mnist1d" / "runs" / "reproduction").glob("*/summary.json"):
            s = json.loads(path.read_text())
            rows.append((s["choices"]["model"], s["choices"]["data"], s["seed"], s["status"], s.get("wall_time_s", 0.0),
                         "vectorised" if "vectorized_with_seeds" in s else "alone", s.get("metrics", {}).get("test/acc")))
    print(f"{'model':9} {'data':9} {'seed':>4} {'status':10} {'train s':>8} {'how':10} {'test acc':>8}")
    for model, data, seed, status, wall, how, acc in sorted(rows):
        print(f"{model:9} {data:9} {seed:4d} {status:10} {wall:8.1f} {how:10} {acc if acc is None else round(acc, 1)!s:>8}")
    for line in fallbacks:
        print(f"fallback: {line}")
    print(f"{len(rows)} runs, {sum(r[3] == 'completed' for r in rows)} completed; exit code {done.returncode}")
    print(f"wall time of the whole command: {total:.1f} s  (target < 180 s on 2 cores; {load()} at end)")


if __name__ == "__main__":
    main()
