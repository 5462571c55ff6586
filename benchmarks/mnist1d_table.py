"""Wall time of the whole MNIST-1D Table 1 through `workbench run -m`: 8 cells, one seed, jobs
run sequentially (Hydra's basic launcher) or in parallel (hydra/launcher=joblib, one process per
core, one torch thread each); and `demo`, the training command of `make demo`: 8 cells x 3 seeds,
each model's 6 runs (3 seeds x 2 data variants) vectorised as one job, joblib; and `startup`, the
demo's command with trainer.max_steps=1: what the demo costs besides training (planning, worker
start, imports, building 24 runs, their files, the processes' exits).

Runs in a throwaway project folder (papers/ copied), so the repo's runs are untouched.
Prints each cell's training time and the total wall time of the command. Targets on 2 cores:
joblib < 3 min; demo < 60 s.
Usage: python benchmarks/mnist1d_table.py [basic] [joblib] [demo] [startup]   (basic and joblib by default)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib"],
             "demo": ["seeds=3", "trainer.vectorize_seeds=true", "hydra/launcher=joblib"],
             "startup": ["seeds=3", "trainer.vectorize_seeds=true", "hydra/launcher=joblib", "trainer.max_steps=1"]}
MODELS = {"basic": "model=logistic,mlp,cnn,gru", "joblib": "model=logistic,mlp,cnn,gru",
          "demo": "model=gru,cnn,mlp,logistic", "startup": "model=gru,cnn,mlp,logistic"}  # the demo's order: the slowest job first


def time_table(launcher: str) -> tuple[float, list[tuple]]:
    """Run the 8 cells in a throwaway project; return the command's wall time and per-cell rows."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "papers", project / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
        command = [sys.executable, "-m", "workbench", "run", "mnist1d", "stage=reproduction", "-m",
                   MODELS[launcher], "data=standard,shuffled", "seed=0", "logger=none",
                   *LAUNCHERS[launcher]]
        start = time.perf_counter()
        subprocess.run(command, cwd=project, env={**os.environ, "WORKBENCH_ROOT": str(project)}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        total = time.perf_counter() - start
        rows = []
        for path in sorted((project / "reproductions" / "mnist1d" / "runs" / "reproduction").glob("*/summary.json")):
            s = json.loads(path.read_text())
            rows.append((s["choices"]["model"], s["choices"]["data"], s["seed"], s["wall_time_s"], s["steps_per_s"],
                         s["metrics"]["test/acc"]))
    return total, sorted(rows)


def main() -> None:
    launchers = sys.argv[1:] or ["basic", "joblib"]
    for launcher in launchers:
        total, rows = time_table(launcher)
        print(f"\nlauncher {launcher}")
        print(f"{'model':10} {'data':9} {'seed':>4} {'train s':>8} {'steps/s':>8} {'test acc':>8}")
        for model, data, seed, wall, sps, acc in rows:
            print(f"{model:10} {data:9} {seed:4} {wall:8.1f} {sps:8.0f} {acc:8.1f}")
        if launcher not in ("demo", "startup"):  # vectorised runs each report their whole batch's time
            print(f"training time, sum of cells: {sum(r[3] for r in rows):.1f} s")
        target = {"demo": " (target < 60 s on 2 cores)", "startup": ""}.get(launcher, " (target < 180 s on 2 cores)")
        print(f"wall time of the whole command: {total:.1f} s{target}")


if __name__ == "__main__":
    main()
