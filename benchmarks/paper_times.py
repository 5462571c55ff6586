"""Per-paper wall time of stage=prototype and stage=reproduction on this machine.

Runs each paper's prototype stage now (one torch thread) and reads the reproduction stage's cost
from the completed reproduction runs already in reproductions/<paper>/runs/ (their summary.json
records wall time and steps/s). `--reproduce` runs one reproduction per paper now as well, which
takes from minutes (HNN) to hours (grokking at p = 113).

    .venv/bin/python benchmarks/paper_times.py [--papers mnist1d hnn] [--reproduce]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ["mnist1d", "hnn", "pinn_burgers", "grokking", "resnet_cifar10"]


def run_stage(paper: str, stage: str) -> tuple[float, int]:
    """Wall seconds of one `workbench run`, and its exit code."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench", "run", paper, f"stage={stage}", "trainer.threads=1",
                           "logger=none"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "WORKBENCH_ROOT": str(ROOT)})
    return time.perf_counter() - start, done.returncode


def recorded_reproductions(paper: str) -> list[float]:
    """wall_time_s of every completed reproduction run of the paper."""
    times = []
    for path in (ROOT / "reproductions" / paper / "runs" / "reproduction").glob("*/summary.json"):
        summary = json.loads(path.read_text())
        if summary.get("status") == "completed" and isinstance(summary.get("wall_time_s"), (int, float)):
            times.append(float(summary["wall_time_s"]))
    return times


def describe(times: list[float]) -> str:
    if not times:
        return "no completed runs"
    spread = f" (min {min(times):.0f}, max {max(times):.0f})" if len(times) > 1 else ""
    return f"median {statistics.median(times):.0f} s over {len(times)} run(s){spread}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", nargs="+", default=PAPERS)
    parser.add_argument("--reproduce", action="store_true", help="also run one reproduction per paper now")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for paper in args.papers:
        seconds, code = run_stage(paper, "prototype")
        status = "" if code == 0 else f" (exit {code})"
        print(f"{paper:16s} prototype    {seconds:7.1f} s now{status}")
        if args.reproduce:
            seconds, code = run_stage(paper, "reproduction")
            status = "" if code == 0 else f" (exit {code})"
            print(f"{paper:16s} reproduction {seconds:7.1f} s now{status}")
        print(f"{paper:16s} reproduction {describe(recorded_reproductions(paper))}, recorded")


if __name__ == "__main__":
    main()
