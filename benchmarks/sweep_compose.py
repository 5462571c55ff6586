"""What planning a `-m` sweep costs before its first job starts: `plan_run` composes (checks) every
job's config up front, so a typo fails before any training.

Measured side by side, on the repository's papers/mnist1d:
  - plan_run over `seed=range(0,N)` (jobs that differ only in a value),
  - plan_run over a sweep of config groups (`model=gru,cnn,mlp,logistic data=standard,shuffled`),
  - plan_run over both at once (the groups x a few seeds),
  - one compose_config call (what a job cost when plan_run composed each job on its own),
  - Hydra's own launch of the seed sweep with a task that does nothing: the cost a job (a run of M
    jobs less a run of 1), and the wait before its first job. Hydra composes every job twice: the
    basic sweeper checks a whole batch (by default every job) before it launches any, and the
    basic launcher composes each job again when it runs it.
Target: plan_run under 20 ms a job. Wall times on a shared machine vary; the load average is printed.

Usage (repository root):
    .venv/bin/python benchmarks/sweep_compose.py                 # N=300 seeds, M=30 launched jobs
    .venv/bin/python benchmarks/sweep_compose.py --jobs 100 --launch-jobs 0
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra

from workbench.project import find_paper
from workbench.run.config import compose_config, set_project_root
from workbench.run.launch import run_hydra
from workbench.run.sweep import plan_run

ROOT = Path(__file__).resolve().parents[1]
PAPER = find_paper(ROOT, "mnist1d")
GROUPS = ["model=gru,cnn,mlp,logistic", "data=standard,shuffled"]


def seconds(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (time.process_time, the steadier figure on a shared machine) of work()."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def row(name: str, n_jobs: int, took: tuple[float, float], per_job: tuple[float, float] | None = None) -> None:
    wall, cpu = per_job or (took[0] / n_jobs, took[1] / n_jobs)
    print(f"{name:58} {n_jobs:6d} {took[0]:9.2f} {wall * 1e3:9.1f} {cpu * 1e3:9.1f}", flush=True)


def plan_row(name: str, overrides: list[str]) -> None:
    """plan_run over the sweep, with how many jobs it composed and the cost a job."""
    jobs: list[int] = []
    took = seconds(lambda: jobs.append(len(plan_run(PAPER.conf_dir, overrides, multirun=True, warn=False).jobs)))
    row(name, jobs[0], took)


def compose_row(repeat: int = 5) -> None:
    compose_config(PAPER.conf_dir, ["seed=0"])  # the first compose imports Hydra's plugins
    took = seconds(lambda: [compose_config(PAPER.conf_dir, [f"seed={i}"]) for i in range(repeat)])
    row("one compose_config (the old cost a job)", repeat, took)


class NoOpTask:
    """The task Hydra calls once a job: does nothing but note when it was first called."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_call: float | None = None

    def __call__(self, cfg: object) -> None:
        self.first_call = self.first_call or time.perf_counter()


def hydra_launch(n_jobs: int) -> tuple[tuple[float, float], float]:
    """Hydra's -m launch of n seed jobs through the basic sweeper and launcher: (wall, CPU) seconds
    in all, and the wall seconds before the first job's task was called."""
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"seed=range(0,{n_jobs})", f"hydra.sweep.dir={tmp}", "logger=none"]  # not under reproductions/
        GlobalHydra.instance().clear()
        task = NoOpTask()
        took = seconds(lambda: run_hydra(PAPER, task, ["-m"], overrides))
        return took, (task.first_call or task.started) - task.started


def launch_rows(n_jobs: int) -> None:
    hydra_launch(1)  # warm: plugin discovery and imports
    (one, _), (many, wait) = hydra_launch(1), hydra_launch(n_jobs)
    row("Hydra -m launch, no-op task (a job: M jobs less 1)", n_jobs, many,
        ((many[0] - one[0]) / (n_jobs - 1), (many[1] - one[1]) / (n_jobs - 1)))
    print(f"{'  of which before the first job starts (wall s)':58} {n_jobs:6d} {wait:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="seeds in the seed sweep")
    parser.add_argument("--launch-jobs", type=int, default=30, help="jobs Hydra launches (0: skip)")
    args = parser.parse_args()
    set_project_root(ROOT)
    print(f"papers/mnist1d, {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':58} {'jobs':>6} {'wall s':>9} {'ms a job':>9} {'CPU ms':>9}")
    compose_row()
    plan_row(f"plan_run seed=range(0,{args.jobs})", [f"seed=range(0,{args.jobs})"])
    plan_row("plan_run " + " ".join(GROUPS), GROUPS)
    plan_row("plan_run groups x seed=range(0,10)", [*GROUPS, "seed=range(0,10)"])
    if args.launch_jobs > 1:
        launch_rows(args.launch_jobs)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
