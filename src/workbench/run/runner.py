"""One run, start to finish: a composed config -> run folder -> paper experiment -> trainer.

The folder itself and every file in it belong to run/record.py (docs/run-folder.md); this
module decides what goes in them and when. summary.json says `running` (and which process,
pid on host, is running it) until the run ends. A run that fails before its training starts
leaves no folder; a resumed run must be the same run (checkpoints.check_checkpoint_belongs).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from torch import nn

from workbench.run import checkpoints, distributed, provenance, record
from workbench.run.record import RunOutcome, now_iso
from workbench.errors import ConfigError, UserError
from workbench.files import is_disk_full, shown_path
from workbench.tracking.logger import RunLogger
from workbench.project import Paper, find_paper, load_paper_module
from workbench.run.seeding import seed_everything
from workbench.run.trainer import Trainer, TrainerConfig, resolve_device


def require_seed(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ConfigError(f"seed={value} must be an integer >= 0, e.g. seed=0")
    return value


def open_run_dir(config: dict[str, Any], stage: str, overrides: list[str]) -> Path:
    """A new run folder holding the resolved config and the overrides as typed, secrets redacted."""
    return record.create_run(Path(config["paths"]["runs_dir"]), stage, provenance.redact_config(config),
                             [provenance.redact_arg(o) for o in overrides])


def start_run(root: Path, paper: Paper, config: dict[str, Any], choices: dict[str, str],
              overrides: list[str], command: list[str] | None = None) -> RunOutcome:
    """A new run from a composed config (Hydra's node removed, interpolations resolved)."""
    config = {**config, "choices": choices}
    stage = choices.get("stage", "run")
    if config.get("component_tests"):
        return run_component_tests(root, paper, config, overrides)
    trainer_cfg = TrainerConfig.from_dict(config["trainer"])
    ctx = distributed.setup(trainer_cfg.device, trainer_cfg.devices)
    seed_everything(require_seed(config.get("seed", 0)))
    experiment = build_experiment(root, paper, config)
    optimizers = experiment.optimizers()  # config errors (a bad lr) surface before a folder exists
    resolve_device(trainer_cfg.device)  # so does a device this machine lacks
    run_dir = ctx.from_main(lambda: open_run_dir(config, stage, overrides))  # under torchrun: rank 0's
    try:
        if ctx.is_main:
            write_provenance(root, run_dir, config, trainer_cfg, experiment, command)
        opened = open_logger(root, paper, run_dir, config)
    except BaseException:  # nothing trained yet: a folder with half its files would only mislead
        if ctx.is_main:
            record.discard_run(run_dir)
        raise
    return execute(root, paper, run_dir, config, trainer_cfg, experiment, resume=False, optimizers=optimizers,
                   opened=opened)


def write_provenance(root: Path, run_dir: Path, config: dict[str, Any], trainer_cfg: TrainerConfig,
                     experiment: Any, command: list[str] | None) -> None:
    device = distributed.context().device(resolve_device(trainer_cfg.device))
    prov = provenance.collect(root, device, int(config.get("seed", 0)),
                              getattr(experiment, "data_fingerprint", None), argv=command)
    record.write_provenance(run_dir, prov)


def resume_run(root: Path, run_dir: Path) -> RunOutcome:
    """Continue a killed or interrupted run in its own folder, to the same final numbers.

    Everything is checked before anything is written: the config is whole, the folder is the
    paper's, it is a training run, and its checkpoint was written by this run with this config."""
    config = record.read_config_for_resume(run_dir)
    refuse_component_resume(run_dir, config)
    previous = record.read_summary(run_dir) or {}
    if previous.get("status") == "completed":
        return RunOutcome("completed", run_dir, previous)
    paper, trainer_cfg, seed, fresh = check_resumable(root, run_dir, config)
    ctx = distributed.setup(trainer_cfg.device, trainer_cfg.devices)
    seed_everything(seed)
    experiment = build_resumed_experiment(root, paper, config, run_dir, fresh)
    if ctx.is_main:
        record_resume(root, run_dir)
    return execute(root, paper, run_dir, config, trainer_cfg, experiment, resume=True)


def check_resumable(root: Path, run_dir: Path, config: dict[str, Any]) -> tuple[Paper, TrainerConfig, int, str]:
    """What resume checks before it writes anything, and what it needs: the paper, the trainer
    settings, the seed, and how to start the run afresh instead (for messages)."""
    paper, trainer_cfg, seed = resumable_settings(root, run_dir, config)
    fresh = f"start a new run: {record.short_text(rerun_command(paper, run_dir))}"
    checkpoints.check_checkpoint_belongs(run_dir, fix=fresh)
    if not os.access(run_dir, os.W_OK):
        raise UserError(f"{shown_path(run_dir)} is not writable; make it writable to resume the run there")
    return paper, trainer_cfg, seed, fresh


def refuse_component_resume(run_dir: Path, config: dict[str, Any]) -> None:
    """Gate 1 is what pytest found; resuming would train a model in the gate's folder instead."""
    choices = config.get("choices") if isinstance(config.get("choices"), dict) else {}
    if config.get("component_tests") or choices.get("stage") == "component":
        paper = config.get("paper", {}).get("name", "<paper>") if isinstance(config.get("paper"), dict) else "<paper>"
        raise UserError(f"{shown_path(run_dir)} is a component-test run (gate 1): there is no training to resume; "
                        f"run the tests again with `workbench run {paper} stage=component`")


def resumable_settings(root: Path, run_dir: Path, config: dict[str, Any]) -> tuple[Paper, TrainerConfig, int]:
    """The paper, trainer settings and seed a run's config.yaml gives, or one line saying what
    in that file stops the resume (a key missing, a wrong type, another paper's config)."""
    path = shown_path(run_dir / record.CONFIG)
    restore = "restore the config.yaml the run started with, or start a new run with `workbench run`"
    paper_name = config["paper"].get("name") if isinstance(config.get("paper"), dict) else None
    if not isinstance(paper_name, str):
        raise UserError(f"{path} has no paper.name; {restore}")
    if len(run_dir.parents) > 2 and run_dir.parents[1].name == record.EVIDENCE:
        raise UserError(f"{shown_path(run_dir)} is a report's evidence copy of a run, not a run: it has no checkpoints; "
                        f"resume the run under reproductions/{run_dir.parents[2].name}/runs/ instead")
    folder_paper = run_dir.parents[2].name if len(run_dir.parents) > 2 and run_dir.parents[1].name == "runs" else None
    if folder_paper is not None and folder_paper != paper_name:
        raise UserError(f"{path} is a config of paper {paper_name}, but the run folder is under "
                        f"reproductions/{folder_paper}/; {restore}")
    for key in ("trainer", "choices"):
        if not isinstance(config.get(key), dict):
            raise UserError(f"{path}: '{key}' is missing or not a mapping of keys; {restore}")
    try:
        trainer_cfg = TrainerConfig.from_dict(config["trainer"])
        seed = require_seed(config.get("seed", 0))
    except (ConfigError, TypeError) as exc:  # TypeError: keys that are not names
        raise UserError(f"{path}: {str(exc).splitlines()[0]}; {restore}") from None
    return find_paper(root, paper_name), trainer_cfg, seed


def rerun_command(paper: Paper, run_dir: Path) -> str:
    return " ".join(["workbench run", paper.name, *record.read_overrides(run_dir)])


def build_resumed_experiment(root: Path, paper: Paper, config: dict[str, Any], run_dir: Path, fresh: str) -> Any:
    """build_experiment on a config.yaml read back from disk: the paper's code built this run
    when it started, so a failure now is the file (edited, from another version), said in one line."""
    try:
        return build_experiment(root, paper, config)
    except UserError:
        raise
    except Exception as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise UserError(f"the paper's build(cfg) fails on {shown_path(run_dir / record.CONFIG)} ({type(exc).__name__}: "
                        f"{detail}); if the file was edited restore it, or {fresh}") from exc


def record_resume(root: Path, run_dir: Path) -> None:
    record.append_resume(run_dir, {
        "at": now_iso(),
        "command": provenance.redact_command(["workbench", *sys.argv[1:]]),
        "git": provenance.git_state(root),
    })


# The Experiment protocol (run/experiment.py), member by member: what to add when one is missing.
EXPERIMENT_MEMBERS = {
    "model": "self.model = <the torch.nn.Module to train>",
    "optimizers": "def optimizers(self) returning (optimizer, scheduler or None)",
    "train_batches": "def train_batches(self) yielding batches forever",
    "train_step": 'def train_step(self, batch) returning {"loss": <scalar tensor>, ...}',
    "evaluate": 'def evaluate(self) returning {"test/<metric>": <number>, ...}',
}


def build_experiment(root: Path, paper: Paper, config: dict[str, Any]) -> Any:
    source = paper.dir / "experiment.py"
    source = source.relative_to(root) if source.is_relative_to(root) else source  # papers/<name>/experiment.py
    module = load_paper_module(paper.dir, "experiment")
    if not hasattr(module, "build"):
        raise UserError(f"{source} has no build(cfg) function; see docs/experiment.md")
    experiment = module.build(OmegaConf.create(config))
    check_experiment(experiment, source)
    return experiment


def check_experiment(experiment: Any, source: Path) -> None:
    """One line naming the first member of the Experiment protocol that build(cfg)'s result lacks."""
    if experiment is None:
        raise UserError(f"{source}: build(cfg) returned None; end it with `return <your experiment>` "
                        f"(see docs/experiment.md)")
    kind = type(experiment).__name__
    for name, what in EXPERIMENT_MEMBERS.items():
        member = getattr(experiment, name, None)
        if member is None or (name != "model" and not callable(member)):
            raise UserError(f"{source}: the {kind} that build(cfg) returned has no {name}; add {what} "
                            f"(see docs/experiment.md)")
    if not isinstance(experiment.model, nn.Module):
        raise UserError(f"{source}: {kind}.model is a {type(experiment.model).__name__}, not a torch.nn.Module; "
                        f"set self.model to the network to train (see docs/experiment.md)")


def execute(root: Path, paper: Paper, run_dir: Path, config: dict[str, Any], trainer_cfg: TrainerConfig,
            experiment: Any, resume: bool, optimizers: tuple[Any, Any] | None = None,
            opened: tuple[Any, dict[str, Any]] | None = None) -> RunOutcome:
    """Train in run_dir; `opened` is open_logger's answer when the caller already has it."""
    logger, base = opened if opened is not None else open_logger(root, paper, run_dir, config)
    try:
        trainer = Trainer(trainer_cfg, logger, record.checkpoint_dir(run_dir),
                          label=provenance.run_identity(record.read_overrides(run_dir)))
        result = trainer.fit(experiment, resume, optimizers)
    except BaseException as exc:
        fail_run(logger, base, exc, run_dir)
        raise
    return finish_run(run_dir, experiment, logger, base, result)


def open_logger(root: Path, paper: Paper, run_dir: Path, config: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The run's logger (a silent one on torchrun ranks other than 0) and its summary so far."""
    stage = config["choices"].get("stage", "run")
    base = {
        "status": "running",
        "paper": paper.name,
        "stage": stage,
        "seed": config.get("seed"),
        "choices": config["choices"],
        "run_dir": str(run_dir.relative_to(root)) if run_dir.is_relative_to(root) else str(run_dir),
        "started_at": now_iso(),
        "pid": os.getpid(),  # so `workbench status` can tell a killed run from a running one
        "host": socket.gethostname(),
    }
    if not distributed.context().is_main:
        return distributed.SilentLogger(), base
    logger = RunLogger(run_dir, config.get("logger") or {}, name=f"{paper.name}-{stage}-{run_dir.name}",
                       group=f"{paper.name}-{stage}", job_type=stage, config=provenance.redact_config(config))
    logger.write_summary(base)
    return logger, base


def fail_run(logger: Any, base: dict[str, Any], exc: BaseException, run_dir: Path) -> None:
    """Mark the run failed (or interrupted, for Ctrl-C); a full disk becomes one clear error."""
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    try:
        logger.close({**base, "status": status, "message": f"{type(exc).__name__}: {exc}", "finished_at": now_iso()})
    except (OSError, UserError):  # the full disk that stopped the run may refuse this too: it stays "running"
        pass
    if is_disk_full(exc) or is_disk_full(exc.__cause__ or exc):
        raise UserError(f"no space left on the disk during run {run_dir}; free some space, "
                        f"then `workbench resume {run_dir}` continues from the last checkpoint") from None


def finish_run(run_dir: Path, experiment: Any, logger: Any, base: dict[str, Any], result: Any) -> RunOutcome:
    summary = {**base, **result.summary(), "finished_at": now_iso()}
    if result.status == "completed" and hasattr(experiment, "analysis") and distributed.context().is_main:
        record.write_analysis(run_dir, experiment.analysis())
    logger.close(summary)
    return RunOutcome(result.status, run_dir, summary)


def run_component_tests(root: Path, paper: Paper, config: dict[str, Any], overrides: list[str]) -> RunOutcome:
    """Stage 1 gate: the paper's component tests, run by pytest, recorded as a run."""
    test_file = paper.dir / str(config["component_tests"])
    if not test_file.exists():
        raise UserError(f"{test_file} does not exist; stage 1 needs component tests (component_tests in conf/stage/component.yaml)")
    run_dir = open_run_dir(config, "component", overrides)
    started = now_iso()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root), str(test_file)],
        cwd=root, capture_output=True, text=True,
    )
    record.write_pytest_log(run_dir, proc.stdout + proc.stderr)
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?)", proc.stdout)}
    passed = proc.returncode == 0 and counts.get("passed", 0) > 0
    summary = {
        "status": "completed" if passed else "failed",
        "paper": paper.name,
        "stage": "component",
        "seed": config.get("seed"),
        "choices": config["choices"],
        "gate": {"passed": passed, "tests": counts, "returncode": proc.returncode},
        "message": None if passed else f"component tests did not pass; see {run_dir / 'pytest.log'}",
        "started_at": started,
        "finished_at": now_iso(),
    }
    record.write_summary(run_dir, summary)
    return RunOutcome(summary["status"], run_dir, summary)
