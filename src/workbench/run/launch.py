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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.markup import escape
from rich.table import Column, Table

from workbench.console import stderr
from workbench.errors import ConfigError, UserError
from workbench.extras import is_optional, missing_extra_message
from workbench.project import Paper
from workbench.run import record
from workbench.run.config import RunArgs, job_choices, register_sweeper, resolve_user_config, searchpath_override
from workbench.run.progress import LINES
from workbench.run.provenance import redact_arg, run_identity
from workbench.run.record import RunOutcome
from workbench.run.sweep import SweepPlan, first_value, job_objective, parse, plan_run

# The modules that train (runner, trainer, vectorized, distributed) import torch, and are imported
# where a job runs, not here: under a process launcher (hydra/launcher=joblib) the sweep's own
# process only plans and hands out jobs, and torch's import there (about 2.4 s) would hold back
# every worker's start.


def launch(root: Path, paper: Paper, flags: list[str], overrides: list[str], plan: SweepPlan) -> list[RunOutcome]:
    """Hand the command line to Hydra (so -m, --cfg, launchers behave as Hydra users expect)."""
    args = RunArgs(list(overrides), list(flags))
    if args.multirun and args.prints_config:
        answer_for_sweep(paper, args)
        return []
    overrides, batches = batch_swept_groups(overrides, plan) if args.multirun else (overrides, None)
    n_jobs = len(batches.jobs) if batches else plan.n_jobs
    task = JobTask(root, paper, ["workbench", *sys.argv[1:]], n_jobs, batches)
    runs_dir = paper.repro_dir(root) / "runs"
    before = set(record.run_folders(runs_dir))
    try:
        run_hydra(paper, task, flags, overrides)
    except KeyboardInterrupt:
        if n_jobs > 1:
            stderr.print(f"[yellow]sweep stopped after {len(task.outcomes)} of {n_jobs} runs[/]")
        if not task.outcomes or task.outcomes[-1].status != "interrupted":
            task.outcomes.append(RunOutcome("interrupted", None, {"message": "stopped before the run started"}))
    return task.outcomes or outcomes_from_folders(sorted(set(record.run_folders(runs_dir)) - before), n_jobs)


def run_hydra(paper: Paper, task: Any, flags: list[str], overrides: list[str]) -> None:
    """One Hydra command line, as if `workbench` were the paper's own @hydra.main script."""
    register_sweeper()
    argv = sys.argv
    sys.argv = ["workbench", *flags, searchpath_override(), *overrides]
    try:
        hydra.main(config_path=str(paper.conf_dir.resolve()), config_name="config", version_base="1.3")(task)()
    finally:
        sys.argv = argv


def answer_for_sweep(paper: Paper, args: RunArgs) -> None:
    """`-m --cfg job` prints each job's config (Hydra itself takes only one of -m and --cfg);
    `-m --info` answers once, for the sweep's first job."""
    plan = plan_run(paper.conf_dir, args.overrides, multirun=True)
    if not args.prints_job_config:
        run_hydra(paper, answers_only, args.single_run_flags(), job_overrides(plan.jobs[0]))
        return
    if plan.sweeper != "basic":
        stderr.print(f"# hydra/sweeper={plan.sweeper} picks each job's values as it runs; "
                     f"this is the config before it sets its parameters (a key swept on the command line at its "
                     f"first value)", highlight=False)
    for i, job in enumerate(plan.jobs, 1):
        if len(plan.jobs) > 1:
            stderr.print(f"# job {i}/{len(plan.jobs)}: {escape(' '.join(job_overrides(job)))}", highlight=False)
        run_hydra(paper, answers_only, args.single_run_flags(), job_overrides(job))


def answers_only(cfg: DictConfig) -> None:
    """The task of a command line that only asks (--cfg, --info): Hydra answers without calling it."""


def job_overrides(job: DictConfig) -> list[str]:
    return list(job.hydra.overrides.task)


class JobTask:
    """One job of `workbench run`, as Hydra calls it. A plain object, not a closure, so that
    process-based launchers (hydra/launcher=joblib) can pickle it to their workers."""

    def __init__(self, root: Path, paper: Paper, command: list[str], n_jobs: int,
                 batches: Batches | None = None) -> None:
        self.root, self.paper, self.command, self.n_jobs = root, paper, command, n_jobs
        self.batches = batches  # the sweep's jobs that train in one batch (batch_swept_groups)
        self.outcomes: list[RunOutcome] = []  # filled in this process only (the basic launcher)

    def __call__(self, cfg: DictConfig) -> float | None:
        """Run the job; return the metric `sweep.objective` names, for sweepers that optimise it."""
        hydra_cfg = HydraConfig.get()
        choices = job_choices(hydra_cfg)
        overrides = list(hydra_cfg.overrides.task)
        label = " ".join(redact_arg(o) for o in overrides) or "defaults"
        counter = f"[{hydra_cfg.job.get('num', 0) + 1}/{self.n_jobs}] " if self.n_jobs > 1 else ""
        stderr.print(f"[bold]{counter}{self.paper.name}[/] {choices.get('stage', '')}: {escape(label)}")
        started = time.perf_counter()
        in_workers = hydra_cfg.runtime.choices.get("hydra/launcher", "basic") != "basic"
        batch = self.batches.others(overrides) if self.batches else []
        members = [Member(resolve_user_config(cfg), choices, overrides),
                   *(Member(resolve_user_config(job), job_choices(job.hydra), job_overrides(job)) for job in batch)]
        if in_workers:  # jobs side by side, each drawing a bar on one terminal, would garble it: status lines
            for member in members:
                if member.config["trainer"].get("progress", True) is True:
                    member.config["trainer"] = {**member.config["trainer"], "progress": LINES}
        config = members[0].config
        if len(members) > 1:
            stderr.print(f"  with {', '.join(escape(' '.join(m.overrides)) for m in members[1:])}", highlight=False)
        try:  # one outcome a seed (`seeds=N`; usually N = 1) of each member
            if cfg.trainer.devices > 1 and "WORLD_SIZE" not in os.environ:
                outcomes = self.under_torchrun(int(cfg.trainer.devices), overrides, int(cfg.seeds))
            else:
                outcomes = start_seed_runs(self.root, self.paper, members, self.command)
        except UserError as exc:
            outcomes = [RunOutcome("failed", None, {"message": str(exc)})]
        except Exception as exc:
            outcomes = [crash_outcome(exc, self.paper)]
        named = in_workers or len(outcomes) > 1  # which run a line is about, when the header above does not say
        for outcome in outcomes:
            report_outcome(outcome, time.perf_counter() - started,
                           label=f"{counter if in_workers else ''}{run_label(outcome, label)} " if named else "")
        self.outcomes.extend(outcomes)
        if any(outcome.status == "interrupted" for outcome in outcomes):
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM stops the whole sweep, not just this run
        return job_objective(config, [outcome.summary.get("metrics") or {} for outcome in outcomes])

    def under_torchrun(self, devices: int, job_overrides: list[str], seeds: int) -> list[RunOutcome]:
        """trainer.devices=N: this job again as N torchrun processes (here, or on a SLURM node)."""
        from workbench.run.distributed import relaunch

        runs_dir = self.paper.repro_dir(self.root) / "runs"
        before = set(record.run_folders(runs_dir))
        relaunch(devices, ["run", self.paper.name, *job_overrides])
        return outcomes_from_folders(sorted(set(record.run_folders(runs_dir)) - before), seeds)


def crash_outcome(exc: Exception, paper: Paper) -> RunOutcome:
    """A job that raised: a missing optional integration in one line, anything else with its traceback
    and whose code it ended in: the paper's (a frame in its folder) or workbench's."""
    if isinstance(exc, ModuleNotFoundError) and is_optional(exc.name):
        return RunOutcome("failed", None, {"message": missing_extra_message(str(exc.name))})
    stderr.print(traceback.format_exc(), highlight=False)
    frames = traceback.extract_tb(exc.__traceback__)
    if any(Path(frame.filename).resolve().is_relative_to(paper.dir.resolve()) for frame in frames):
        return RunOutcome("failed", None, {"message": "the run crashed in the paper's code (traceback above)"})
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return RunOutcome("failed", None, {"message": f"the run crashed inside workbench{where}, not in the paper's code "
                                                  f"(traceback above)"})


@dataclass
class Member:
    """One job of the sweep as a run would see it: its resolved config, group choices and overrides."""

    config: dict[str, Any]
    choices: dict[str, str]
    overrides: list[str]


def start_seed_runs(root: Path, paper: Paper, members: list[Member], command: list[str] | None = None) -> list[RunOutcome]:
    """The job's runs: one per seed in seed, seed+1, ..., seed+seeds-1, of each member (usually one)."""
    from workbench.run import vectorized
    from workbench.run.runner import start_run
    from workbench.run.trainer import TrainerConfig
    from workbench.tracking.wandb import check_mode

    config = members[0].config
    check_mode(config.get("logger"))  # before any folder exists, for one run and a vectorised group alike
    n = config.get("seeds", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ConfigError(f"seeds={n} must be a positive integer (the number of seeds to run)")
    if n == 1 and len(members) == 1:
        return [start_run(root, paper, config, members[0].choices, members[0].overrides, command)]
    first = int(config.get("seed", 0))
    jobs = [seed_job(m, s) for m in members for s in range(first, first + n)]
    trainer_cfg = TrainerConfig.from_dict(config["trainer"])
    if trainer_cfg.vectorize_seeds:
        reason = "data-parallel runs (trainer.devices>1) train one seed at a time" if trainer_cfg.devices > 1 else None
        runs = None if reason else vectorized.build_seeds(root, paper, jobs)
        reason = reason or vectorized.why_not_vectorised(runs, trainer_cfg)
        if reason is None:
            return vectorized.run_vectorized(root, paper, runs, trainer_cfg, command)
        stderr.print(f"[yellow]trainer.vectorize_seeds:[/] {reason}; running the {len(jobs)} runs one after another")
    elif trainer_cfg.devices == 1:
        stderr.print(f"[dim]tip: trainer.vectorize_seeds=true trains these {len(jobs)} seeds together in one process "
                     f"(usually faster for small models)[/]", highlight=False)
    return [start_run(root, paper, job.config, job.choices, job.overrides, command) for job in jobs]


def seed_job(member: Member, seed: int) -> Member:
    """The config and overrides of the ordinary run `... seed=<seed>`."""
    kept = [o for o in member.overrides if o.split("=", 1)[0].lstrip("+~") not in ("seed", "seeds")]
    return Member({**member.config, "seed": seed, "seeds": 1}, member.choices, [*kept, f"seed={seed}"])


def batch_swept_groups(overrides: list[str], plan: SweepPlan) -> tuple[list[str], Batches | None]:
    """`trainer.vectorize_over=[data]` with a sweep over data: the sweep Hydra launches, each swept
    group at its first option, and the sweep's jobs grouped by the overrides they share besides it.

    Only command-line lists of a group are batched, and only where the jobs' configs differ in
    nothing but that group's node and the seed (the vectorised step and optimizer are the first
    job's, so a group that also changes, say, the learning rate keeps its own jobs)."""
    first = plan.jobs[0] if plan.jobs and plan.sweeper == "basic" else None
    batchable = first is not None and first.trainer.vectorize_seeds and first.trainer.devices == 1
    over = list(first.trainer.get("vectorize_over") or []) if batchable else []
    kept, batched = [], []
    for text, override in zip(overrides, parse(overrides) if over else []):
        key = override.get_key_element()
        if key in over and override.is_sweep_override() and override.is_discrete_sweep():
            kept.append(first_value(override))
            batched.append(key)
        else:
            kept.append(text)
    if not batched:
        return overrides, None
    batches = Batches(batched, {})
    for job in plan.jobs:
        batches.jobs.setdefault(batches.key(job_overrides(job)), []).append(job)
    if not all(differ_only_in(batched, jobs) for jobs in batches.jobs.values()):
        stderr.print(f"[yellow]trainer.vectorize_over:[/] the options of {', '.join(batched)} change more than "
                     f"their own config node; each trains in its own job", highlight=False)
        return overrides, None
    return kept, batches


@dataclass
class Batches:
    """The jobs of a sweep that train together, by the overrides they share besides the batched groups."""

    groups: list[str]
    jobs: dict[tuple[str, ...], list[DictConfig]]

    def key(self, overrides: list[str]) -> tuple[str, ...]:
        return tuple(o for o in overrides if o.split("=", 1)[0] not in self.groups)

    def others(self, overrides: list[str]) -> list[DictConfig]:
        """The jobs that train with the launched job `overrides` (its own config comes from Hydra)."""
        jobs = self.jobs.get(self.key(overrides))
        if jobs is None:  # the launched sweep is the planned one less the batched lists: a bug if it differs
            raise RuntimeError(f"no batch of the planned sweep matches the job {' '.join(overrides)}")
        return jobs[1:]


def differ_only_in(groups: list[str], jobs: list[DictConfig]) -> bool:
    configs = [resolve_user_config(job) for job in jobs]
    strip = [{k: v for k, v in c.items() if k not in groups and k != "seed"} for c in configs]
    return all(s == strip[0] for s in strip)


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


# Hydra settings that workbench owns: it picks each run's folder itself (record.py).
IGNORED_HYDRA_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir", "hydra.output_subdir", "hydra.job.chdir")


def warn_ignored_overrides(overrides: list[str]) -> None:
    """`hydra.run.dir=...` and friends would be silently ignored: say so, and where runs go."""
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in IGNORED_HYDRA_KEYS:
            stderr.print(f"[yellow]warning:[/] {escape(key)} is ignored: workbench puts every run in its own folder, "
                         f"reproductions/<paper>/runs/<stage>/<time>-<id>/ (paths.runs_dir=<folder> moves the runs/ "
                         f"part)", highlight=False)


def sweep_table(outcomes: list[RunOutcome]) -> tuple[str, Table]:
    """The end of a sweep: one row per run with its status, the overrides that tell the runs apart,
    key metrics and folder; and a line above it with the folders' parent and the overrides every run
    shares (a line of its own, so the path is never wrapped)."""
    keys = shown_metric_keys(outcomes)
    overrides = {id(o): [redact_arg(a) for a in record.read_overrides(o.run_dir)] for o in outcomes if o.run_dir}
    shared = set.intersection(*map(set, overrides.values())) if overrides else set()
    folders = [o.run_dir for o in outcomes if o.run_dir is not None]
    parent = Path(os.path.commonpath(folders)) if len(folders) > 1 else None
    title = f"{len(outcomes)} runs" + (f" in {parent}" if parent else "") + (
        f"; all with {' '.join(a for a in next(iter(overrides.values())) if a in shared)}" if shared else "")
    own = {key: " ".join(a for a in args if a not in shared) for key, args in overrides.items()}
    widest_own = min(max(map(len, own.values()), default=9), 30)
    widest_folder = min(max((len(str(f.relative_to(parent) if parent else f)) for f in folders), default=10), 40)
    table = Table("status", Column("overrides", overflow="fold", min_width=widest_own), *keys,
                  Column("run folder", overflow="fold", min_width=widest_folder))
    for outcome in outcomes:
        metrics = outcome.summary.get("metrics") or {}
        color = "green" if outcome.ok else "red"
        if outcome.run_dir is None:
            told, folder = "", escape(str(outcome.summary.get("message", "")))
        else:
            told = escape(own[id(outcome)])
            folder = str(outcome.run_dir.relative_to(parent) if parent else outcome.run_dir)
        table.add_row(f"[{color}]{outcome.status}[/]", told, *[format_metric(metrics.get(k)) for k in keys], folder)
    return escape(title), table


def shown_metric_keys(outcomes: list[RunOutcome], most: int = 4) -> list[str]:
    """The evaluation metrics the runs report (train/ curves left out), in first-seen order."""
    keys: list[str] = []
    for outcome in outcomes:
        for key, value in (outcome.summary.get("metrics") or {}).items():
            if key not in keys and not key.startswith("train/") and isinstance(value, (int, float)):
                keys.append(key)
    return keys[:most]


def format_metric(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def run_label(outcome: RunOutcome, job_label: str) -> str:
    """What the run trains, from its own overrides (provenance.run_identity: the runs of one job differ
    in seed, and in a batched group such as data=...), or the job's label where it made no folder."""
    if outcome.run_dir is None:
        return job_label
    return run_identity(record.read_overrides(outcome.run_dir)) or job_label


def report_outcome(outcome: RunOutcome, seconds: float, label: str = "") -> None:
    """One line per run on stderr: its status, time, eval metrics and folder (or the error); `label`
    names the run where the job's header does not (several runs in a job, or jobs side by side)."""
    summary = outcome.summary
    if outcome.run_dir is None:  # it never started: the message is the whole story
        stderr.print(f"[red]error:[/] {escape(str(summary.get('message')))}", highlight=False)
        return
    metrics = summary.get("metrics") or {}
    shown = " · ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, (int, float)) and not k.startswith("train/"))
    color = "green" if outcome.ok else "red"
    stderr.print(f"  {escape(label)}[{color}]{outcome.status}[/] in {seconds:.1f} s {shown} -> {outcome.run_dir}")
    if not outcome.ok and summary.get("message"):
        stderr.print(f"  [{color}]{escape(summary['message'])}[/]")
