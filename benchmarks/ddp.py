"""Data-parallel scaling on this machine: the same MNIST-1D CNN training (stage=reproduction
recipe, global batch B) as 1 process and as 2 gloo ranks (trainer.devices=2, each rank B/2 rows,
one thread each). Scaling efficiency = (time with 1 rank / time with 2 ranks) / 2.

The figures are the runs' own training wall time (summary.json), in a throwaway project.
On a 2-core CPU with small models the all-reduce and the halved per-rank batch dominate; this
shows the machinery's overhead, not what NCCL on GPUs gives.
Usage: python benchmarks/ddp.py [--steps 1000] [--batches 100,1000]
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


def train_seconds(project: Path, *overrides: str) -> float:
    runs = project / "reproductions" / "mnist1d" / "runs" / "reproduction"
    before = set(runs.glob("*")) if runs.exists() else set()
    command = [sys.executable, "-m", "workbench", "run", "mnist1d", "stage=reproduction", "model=cnn", "logger=none",
               "trainer.threads=1", *overrides]
    subprocess.run(command, cwd=project, env={**os.environ, "WORKBENCH_ROOT": str(project)}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (new,) = set(runs.glob("*")) - before
    return json.loads((new / "summary.json").read_text())["wall_time_s"]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batches", default="100,1000")
    args = parser.parse_args()
    print(f"MNIST-1D CNN, {args.steps} steps, gloo on CPU; {os.cpu_count()} cores, {load()}")
    print(f"{'global batch':>12} {'1 rank s':>9} {'2 ranks s':>10} {'speed-up':>9} {'efficiency':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "papers", project / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
        for batch in map(int, args.batches.split(",")):
            common = [f"batch_size={batch}", f"trainer.max_steps={args.steps}", f"trainer.eval_every={args.steps}",
                      f"trainer.checkpoint_every={args.steps}"]
            one = train_seconds(project, *common)
            two = train_seconds(project, *common, "trainer.devices=2")
            print(f"{batch:12d} {one:9.2f} {two:10.2f} {one / two:9.2f} {one / two / 2:10.0%}   ({load()})")


if __name__ == "__main__":
    main()
