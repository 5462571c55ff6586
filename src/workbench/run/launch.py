"""`workbench run` from the command line to its runs: the Hydra bridge and the `seeds=N` dispatch.

cli.py -> launch() hands the command line to Hydra, so -m sweeps, --cfg and launcher plugins
behave as Hydra users expect; Hydra calls JobTask once per job of a sweep. A job is
`trainer.devices=N` (the job again under torchrun, distributed.py), or `seeds=N` runs:
one run is runner.start_run, several are trained together (vectorized.py) or one after another.
Each outcome gets one console line on stderr.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.markup import escape

from workbench.console import stderr
from workbench.errors import ConfigError, UserError
from workbench.project import Paper
from workbench.run import record, vectorized
from workbench.run.config import SEARCHPATH_OVERRIDE, job_choices, resolve_user_config
from workbench.run.distributed import relaunch
from workbench.run.provenance import redact_arg
from workbench.run.runner import RunOutcome, start_run
from workbench.run.trainer import TrainerConfig


def launch(root: Path, paper: Paper, flags: list[str], overrides: list[str], n_jobs: int) -> list[RunOutcome]:
    """Hand the command line to Hydra (so -m, --cfg, launchers behave as Hydra users expect)."""
    argv = sys.argv
    task = JobTask(root, paper, ["workbench", *argv[1:]], n_jobs)
    runs_dir = paper.repro_dir(root) / "runs"
    before = set(record.run_folders(runs_dir))
    sys.argv = ["workbench", *flags, SEARCHPATH_OVERRIDE, *overrides]
    try:
        hydra.main(config_path=str(paper.conf_dir.resolve()), config_name="config", version_base="1.3")(task)()
    except KeyboardInterrupt:
        if n_jobs > 1:
            stderr.print(f"[yellow]sweep stopped after {len(task.outcomes)} of {n_jobs} runs[/]")
        if not task.outcomes or task.outcomes[-1].status != "interrupted":
            task.outcomes.append(RunOutcome("interrupted", None, {"message": "stopped before the run started"}))
    finally:
        sys.argv = argv
    if task.outcomes or n_jobs == 0:
        return task.outcomes
    return outcomes_from_folders(sorted(set(record.run_folders(runs_dir)) - before), n_jobs)


class JobTask:
    """One job of `workbench run`, as Hydra calls it. A plain object, not a closure, so that
    process-based launchers (hydra/launcher=joblib) can pickle it to their workers."""

    def __init__(self, root: Path, paper: Paper, command: list[str], n_jobs: int) -> None:
        self.root, self.paper, self.command, self.n_jobs = root, paper, command, n_jobs
        self.outcomes: list[RunOutcome] = []  # filled in this process only (the basic launcher)

    def __call__(self, cfg: DictConfig) -> None:
        hydra_cfg = HydraConfig.get()
        choices = job_choices(hydra_cfg)
        job_overrides = list(hydra_cfg.overrides.task)
        label = " ".join(redact_arg(o) for o in job_overrides) or "defaults"
        counter = f"[{hydra_cfg.job.get('num', 0) + 1}/{self.n_jobs}] " if self.n_jobs > 1 else ""
        stderr.print(f"[bold]{counter}{self.paper.name}[/] {choices.get('stage', '')}: {label}")
        started = time.perf_counter()
        try:  # one outcome a seed (`seeds=N`; usually N = 1)
            if cfg.trainer.devices > 1 and "WORLD_SIZE" not in os.environ:
                outcomes = self.under_torchrun(int(cfg.trainer.devices), job_overrides, int(cfg.seeds))
            else:
                outcomes = start_seed_runs(self.root, self.paper, resolve_user_config(cfg), choices, job_overrides,
                                           self.command)
        except UserError as exc:
            outcomes = [RunOutcome("failed", None, {"message": str(exc)})]
        except Exception:
            stderr.print(traceback.format_exc(), highlight=False)
            outcomes = [RunOutcome("failed", None, {"message": "the run crashed in the paper's code (traceback above)"})]
        for outcome in outcomes:
            report_outcome(outcome, time.perf_counter() - started)
        self.outcomes.extend(outcomes)
        if any(outcome.status == "interrupted" for outcome in outcomes):
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM stops the whole sweep, not just this run

    def under_torchrun(self, devices: int, job_overrides: list[str], seeds: int) -> list[RunOutcome]:
        """trainer.devices=N: this job again as N torchrun processes (here, or on a SLURM node)."""
        runs_dir = self.paper.repro_dir(self.root) / "runs"
        before = set(record.run_folders(runs_dir))
        relaunch(devices, ["run", self.paper.name, *job_overrides])
        return outcomes_from_folders(sorted(set(record.run_folders(runs_dir)) - before), seeds)


def start_seed_runs(root: Path, paper: Paper, config: dict[str, Any], choices: dict[str, str],
                    overrides: list[str], command: list[str] | None = None) -> list[RunOutcome]:
    """The job's runs: one per seed in seed, seed+1, ..., seed+seeds-1."""
    n = config.get("seeds", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ConfigError(f"seeds={n} must be a positive integer (the number of seeds to run)")
    if n == 1:
        return [start_run(root, paper, config, choices, overrides, command)]
    first = int(config.get("seed", 0))
    jobs = [seed_job(config, overrides, s) for s in range(first, first + n)]
    trainer_cfg = TrainerConfig.from_dict(config["trainer"])
    if trainer_cfg.vectorize_seeds:
        reason = "data-parallel runs (trainer.devices>1) train one seed at a time" if trainer_cfg.devices > 1 else None
        runs = None if reason else vectorized.build_seeds(root, paper, jobs, choices)
        reason = reason or vectorized.why_not_vectorised(runs, trainer_cfg)
        if reason is None:
            return vectorized.run_vectorized(root, paper, runs, trainer_cfg, choices.get("stage", "run"), command)
        stderr.print(f"[yellow]trainer.vectorize_seeds:[/] {reason}; running the {n} seeds one after another")
    return [start_run(root, paper, job_config, choices, job_overrides, command) for job_config, job_overrides in jobs]


def seed_job(config: dict[str, Any], overrides: list[str], seed: int) -> tuple[dict[str, Any], list[str]]:
    """The config and overrides of the ordinary run `... seed=<seed>`."""
    kept = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in ("seed", "seeds")]
    return {**config, "seed": seed, "seeds": 1}, [*kept, f"seed={seed}"]


def outcomes_from_folders(new_runs: list[Path], n_jobs: int) -> list[RunOutcome]:
    """Jobs that ran in other processes report through their run folders; a job that never made
    one failed before it started (its error was printed by its worker)."""
    outcomes = []
    for run in new_runs:
        summary = record.read_summary(run) or {"status": "failed", "message": f"{run} has no readable summary.json"}
        outcomes.append(RunOutcome(summary.get("status", "failed"), run, summary))
    missing = n_jobs - len(outcomes)
    outcomes += [RunOutcome("failed", None, {"message": "did not start"}) for _ in range(max(0, missing))]
    return outcomes


def report_outcome(outcome: RunOutcome, seconds: float) -> None:
    """One line per run on stderr: its status, time, eval metrics and folder (or the error)."""
    summary = outcome.summary
    if outcome.run_dir is None:  # it never started: the message is the whole story
        stderr.print(f"[red]error:[/] {escape(str(summary.get('message')))}", highlight=False)
        return
    metrics = summary.get("metrics") or {}
    shown = " · ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, (int, float)) and not k.startswith("train/"))
    color = "green" if outcome.ok else "red"
    stderr.print(f"  [{color}]{outcome.status}[/] in {seconds:.1f} s {shown} -> {outcome.run_dir}")
    if not outcome.ok and summary.get("message"):
        stderr.print(f"  [{color}]{escape(summary['message'])}[/]")
