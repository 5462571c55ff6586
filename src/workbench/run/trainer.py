"""The one generic training loop. It knows nothing about any paper.

It owns: device, threads and determinism; the step loop; training-metric means over
`log_every`; evaluation every `eval_every`; atomic checkpoints every `checkpoint_every`;
resume to the identical result; the NaN/inf guard (status `diverged`); Ctrl-C/SIGTERM (finish
the step, checkpoint, status `interrupted`); progress bar; timing and memory.
Its per-step pieces are public so that another loop (vectorized.py, or one a paper needs)
records a run exactly as this one does (docs/experiment.md).
"""

from __future__ import annotations

import ctypes
import itertools
import math
import resource
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from workbench.run import distributed
from workbench.errors import ConfigError
from workbench.run.experiment import Experiment, count_parameters
from workbench.run.progress import LINES, ProgressBar, progress_mode
from workbench.run.checkpoints import CHECKPOINT_NAMES, load_checkpoint, remove_stale_temp_files, save_checkpoint
from workbench.console import stderr
from workbench.tracking.logger import RunLogger
from workbench.run.seeding import rng_state, set_rng_state

@dataclass
class TrainerConfig:
    max_steps: int = 1000
    eval_every: int = 250
    log_every: int = 50
    checkpoint_every: int = 1000
    device: str = "cpu"
    threads: int | None = None
    deterministic: bool = True
    progress: bool | str = True  # true: a bar on a terminal, status lines elsewhere; "lines"; false
    overfit_batch: bool = False
    grad_clip: float | None = None
    devices: int = 1  # >1: data-parallel over that many processes (distributed.py)
    vectorize_seeds: bool = False  # `seeds=N` in one process with torch.func (vectorized.py)
    vectorize_over: list[str] = field(default_factory=list)  # config groups a sweep batches with the seeds (launch.py)

    def __post_init__(self) -> None:
        for name in ("max_steps", "eval_every", "log_every", "checkpoint_every", "devices"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"trainer.{name}={value} must be a positive integer")
        if self.threads is not None and (not isinstance(self.threads, int) or isinstance(self.threads, bool) or self.threads <= 0):
            raise ConfigError(f"trainer.threads={self.threads} must be a positive integer or null")
        if self.grad_clip is not None and (not isinstance(self.grad_clip, (int, float)) or isinstance(self.grad_clip, bool)
                                           or not 0 < self.grad_clip < math.inf):
            raise ConfigError(f"trainer.grad_clip={self.grad_clip} must be positive or null")
        if not isinstance(self.progress, bool) and self.progress != LINES:
            raise ConfigError(f"trainer.progress={self.progress} must be true, false or {LINES} (status lines, "
                              f"no bar)")
        for name in ("deterministic", "overfit_batch"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"trainer.{name}={getattr(self, name)} must be true or false")
        if not isinstance(self.vectorize_over, list) or not all(isinstance(g, str) for g in self.vectorize_over):
            raise ConfigError(f"trainer.vectorize_over={self.vectorize_over} must be a list of config group names, "
                              f"e.g. trainer.vectorize_over=[data]")
        if not isinstance(self.device, str) or (self.device not in ("cpu", "cuda", "auto") and not self.device.startswith("cuda:")):
            raise ConfigError(f"trainer.device={self.device} must be cpu, cuda, cuda:N or auto")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainerConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"trainer.{unknown[0]} is not a trainer option ({', '.join(sorted(known))})")
        return cls(**values)

    def due(self, every: int, step: int) -> bool:
        """The cadence of logs, evaluations and checkpoints, `cfg.due(cfg.log_every, step)`: every
        `every` steps taken (step counts from 1), and at the last step whatever the remainder."""
        return step % every == 0 or step == self.max_steps


@dataclass
class TrainState:
    """Everything besides model/optimizer that a resumed run needs to end identically."""

    step: int = 0
    elapsed_s: float = 0.0
    window: dict[str, float] = field(default_factory=dict)  # sums since the last train log
    window_steps: int = 0
    last_train: dict[str, float] = field(default_factory=dict)
    first_train_loss: float | None = None
    last_eval: dict[str, float] = field(default_factory=dict)
    best: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class FitResult:
    status: str  # completed | diverged | interrupted
    state: TrainState
    params: int
    steps_per_s: float
    message: str | None = None

    def summary(self) -> dict[str, Any]:
        s = self.state
        last_loss = s.last_train.get("loss")
        return {
            "status": self.status,
            "step": s.step,
            "metrics": {**s.last_eval, **{f"train/{k}": v for k, v in s.last_train.items()}},
            "best": s.best,
            "gate": {
                "first_train_loss": s.first_train_loss,
                "last_train_loss": last_loss,
                "loss_fell": None if last_loss is None or s.first_train_loss is None else last_loss < s.first_train_loss,
            },
            "wall_time_s": round(s.elapsed_s, 3),
            "steps_per_s": round(self.steps_per_s, 2),
            "params": self.params,
            "peak_memory_mb": peak_memory_mb(),
            "message": self.message,
        }


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device={name} but no CUDA GPU is visible; use trainer.device=cpu")
    return torch.device(name)


def peak_memory_mb() -> float:
    if torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0:
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def configure_torch(cfg: TrainerConfig) -> None:
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(cfg.deterministic, warn_only=True)
    # Deterministic mode also fills every new tensor with NaN, a check for code that reads memory
    # before writing it; correct code gives the same numbers without it, and the filling was 12%
    # of MNIST-1D's vectorised GRU step (13.5 -> 11.8 ms: its recurrence allocates its buffers once a step).
    torch.utils.deterministic.fill_uninitialized_memory = False
    keep_freed_memory()


# glibc's mallopt parameters (malloc.h); the largest mmap threshold glibc accepts on 64-bit, and
# up to 1 GiB of free heap kept rather than trimmed
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX, TRIM_THRESHOLD = -1, -3, 32 * 2**20, 2**30


def keep_freed_memory() -> None:
    """Let glibc keep freed tensor memory for the next step instead of handing it back to the OS.

    By default a tensor over a few hundred KB is its own mmap, returned on free, so every training
    step faults fresh zeroed pages in again; on small models with many such temporaries (MNIST-1D's
    vectorised GRU) that is a quarter of the step (benchmarks/seeds.py). Elsewhere than Linux with
    glibc this does nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError):
        pass


def move_to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    return batch


def as_float(value: Any) -> float:
    return float(value.detach().item()) if isinstance(value, torch.Tensor) else float(value)


def lower_is_better(metric: str) -> bool:
    """`best` in summary.json: minimum for losses, errors and distances, maximum for everything else."""
    name = metric.rsplit("/", 1)[-1].lower()
    return any(word in name for word in LOWER_IS_BETTER_WORDS)


LOWER_IS_BETTER_WORDS = ("loss", "err", "mse", "mae", "l1", "l2", "nll", "perplexity", "ppl")


def divergence_message(loss_value: float, step: int) -> str | None:
    """Why the run must stop as `diverged` at `step` (1-based), or None while the loss is finite."""
    if math.isfinite(loss_value):
        return None
    return f"training loss became {loss_value} at step {step}; the run stopped. Try a lower optim.lr or trainer.grad_clip"


def interrupted_message(step: int, aborted: bool) -> str:
    """Status `interrupted`: stopped by a first Ctrl-C/SIGTERM after a checkpoint, or aborted by a second."""
    if aborted:
        return f"aborted at step {step}; the last checkpoint is kept"
    return f"stopped by a signal at step {step}; `workbench resume` continues"


# ---------------------------------------------------------------- the loop


class StopRequest:
    """First Ctrl-C or SIGTERM: stop at the end of this step. Second Ctrl-C: abort now."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._previous.clear()
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        stderr.print("[yellow]stopping after this step and saving a checkpoint (Ctrl-C again to abort)[/]")


class Trainer:
    """The plain loop (`fit`) and the per-step pieces every loop records a run with."""

    def __init__(self, cfg: TrainerConfig, logger: RunLogger, checkpoint_dir: Path, label: str = "") -> None:
        self.cfg = cfg
        self.logger = logger
        self.checkpoint_dir = checkpoint_dir
        self.label = label  # names the run in progress status lines (provenance.run_identity)
        self.dist = distributed.context()

    def fit(self, experiment: Experiment, resume: bool = False, optimizers: tuple[Any, Any] | None = None) -> FitResult:
        """Train to max_steps. `optimizers` is experiment.optimizers(), when the caller already made it."""
        cfg = self.cfg
        configure_torch(cfg)
        device = self.dist.device(resolve_device(cfg.device))
        model = experiment.model.to(device)
        self.dist.broadcast_parameters(model.parameters())
        model.train()
        optimizer, scheduler = optimizers if optimizers is not None else experiment.optimizers()
        state = TrainState()
        batches = self._batches(experiment)
        if resume:
            state = self._restore(model, optimizer, scheduler, batches)
        with StopRequest() as stop, self.progress(state.step) as progress:
            status, message, session_steps, session_s = self._loop(
                experiment, model, optimizer, scheduler, batches, state, device, stop, progress)
        steps_per_s = session_steps / session_s if session_s > 0 else 0.0
        return FitResult(status, state, count_parameters(model), steps_per_s, message)

    def _batches(self, experiment: Experiment) -> Iterator[Any]:
        batches = iter(experiment.train_batches())
        if self.cfg.overfit_batch:
            return itertools.repeat(next(batches))
        return batches

    def _loop(self, experiment: Experiment, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
              scheduler: Any, batches: Iterator[Any], state: TrainState, device: torch.device,
              stop: StopRequest, progress: ProgressBar) -> tuple[str, str | None, int, float]:
        cfg = self.cfg
        start_step, start = state.step, time.perf_counter()
        elapsed_before = state.elapsed_s
        status, message = "completed", None
        closure_step = needs_closure(optimizer)  # asked once: the optimizer is the run's for every step
        try:
            while state.step < cfg.max_steps:
                batch = move_to(self.dist.shard(next(batches)), device)
                if closure_step:
                    out = self._closure_step(experiment, model, optimizer, batch)
                    loss_value = as_float(out["loss"])
                else:
                    out = experiment.train_step(batch)
                    optimizer.zero_grad(set_to_none=True)
                    out["loss"].backward()
                    # One all-reduce under torchrun: gradients and the loss, averaged over ranks.
                    loss_value = self.dist.average_gradients(model.parameters(), as_float(out["loss"]))
                message = divergence_message(loss_value, state.step + 1)
                if message is not None:
                    status = "diverged"
                    break
                if not closure_step:
                    if cfg.grad_clip is not None:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                state.step += 1
                self.accumulate(state, loss_value, out)
                self.log_and_evaluate(experiment, model, state)
                state.elapsed_s = elapsed_before + time.perf_counter() - start
                if cfg.due(cfg.checkpoint_every, state.step):
                    self.write_checkpoint(model, optimizer.state_dict(), scheduler, state)
                progress.update(state.step, state)
                if stop.requested and state.step < cfg.max_steps:
                    self.write_checkpoint(model, optimizer.state_dict(), scheduler, state)
                    status, message = "interrupted", interrupted_message(state.step, aborted=False)
                    break
        except KeyboardInterrupt:
            status, message = "interrupted", interrupted_message(state.step, aborted=True)
        session_s = time.perf_counter() - start
        state.elapsed_s = elapsed_before + session_s
        return status, message, state.step - start_step, session_s

    def _closure_step(self, experiment: Experiment, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      batch: Any) -> dict[str, Any]:
        """One optimizer.step(closure): L-BFGS evaluates the loss again inside its line search.

        Returns the metrics of the first evaluation, the loss before this step, as the plain path
        reports. A non-finite first loss is not backpropagated: with no gradient L-BFGS leaves the
        weights alone, and the NaN guard ends the run.
        """
        first: dict[str, Any] = {}

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            out = experiment.train_step(batch)
            if not first:
                first.update(out)
                if not math.isfinite(as_float(out["loss"])):
                    return out["loss"].detach()
            out["loss"].backward()
            loss_value = self.dist.average_gradients(model.parameters(), as_float(out["loss"]))
            if self.cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
            return torch.tensor(loss_value, dtype=out["loss"].dtype)

        optimizer.step(closure)
        return first

    def accumulate(self, state: TrainState, loss_value: float, out: dict[str, Any]) -> None:
        """Add one step's loss and metrics (train_step's output, tensors or numbers) to the sums
        the next train log averages. Call it once per step, after `state.step += 1`."""
        state.window["loss"] = state.window.get("loss", 0.0) + loss_value
        for key, value in out.items():
            if key != "loss":
                state.window[key] = state.window.get(key, 0.0) + as_float(value)
        state.window_steps += 1

    def log_and_evaluate(self, experiment: Experiment, model: torch.nn.Module, state: TrainState) -> None:
        """After `accumulate`, at log_every steps: the train means to metrics.jsonl; at eval_every
        steps: experiment.evaluate() (model.eval(), no grad), logged by split, into last_eval and best."""
        cfg = self.cfg
        if cfg.due(cfg.log_every, state.step):
            means = self.dist.mean({k: v / state.window_steps for k, v in state.window.items()})
            if state.first_train_loss is None:
                state.first_train_loss = means["loss"]
            state.last_train = means
            state.window, state.window_steps = {}, 0
            self.logger.log(state.step, "train", means)
        if cfg.due(cfg.eval_every, state.step):
            model.eval()
            with torch.no_grad():
                metrics = {k: as_float(v) for k, v in experiment.evaluate().items()}
            model.train()
            state.last_eval = metrics
            update_best(state.best, metrics, state.step)
            for split, values in split_metrics(metrics).items():
                self.logger.log(state.step, split, values)

    def write_checkpoint(self, model: torch.nn.Module, optimizer_state: dict[str, Any], scheduler: Any,
                         state: TrainState, rng: dict[str, Any] | None = None) -> None:
        """checkpoints/last.pt, all that fit(resume=True) restores (atomic; the old one becomes prev.pt).
        optimizer_state is the run's own optimizer's state_dict; rng defaults to the global RNG state
        now. Call it at checkpoint_every steps and before stopping for a signal; only rank 0 writes."""
        if not self.dist.is_main:
            return
        self.logger.sync()  # metrics.jsonl first: a resume never finds metrics its checkpoint lacks
        save_checkpoint(self.checkpoint_dir, {
            "model": model.state_dict(),
            "optimizer": optimizer_state,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "state": asdict(state),
            "rng": rng if rng is not None else rng_state(),
        })

    def _restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                 batches: Iterator[Any]) -> TrainState:
        remove_stale_temp_files(self.checkpoint_dir)
        if not any((self.checkpoint_dir / name).exists() for name in CHECKPOINT_NAMES):
            # killed before its first checkpoint: the run starts over, and ends as it would have
            stderr.print(f"warning: no checkpoint in {self.checkpoint_dir} yet; starting the run again from step 0",
                         markup=False)
            self.logger.rewind(0)
            return TrainState()
        payload = load_checkpoint(self.checkpoint_dir)
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        if scheduler is not None and payload.get("scheduler") is not None:
            scheduler.load_state_dict(payload["scheduler"])
        state = TrainState(**payload["state"])
        if not self.cfg.overfit_batch:
            for _ in range(state.step):  # replay the data order up to the checkpoint
                next(batches)
        set_rng_state(payload["rng"])
        self.logger.rewind(state.step)
        return state

    def progress(self, start_step: int = 0, label: str | None = None) -> ProgressBar:
        """The run's progress (progress.py), a context manager: `with trainer.progress() as bar: ...
        bar.update(step, state)`; `label` replaces the trainer's own in status lines."""
        mode = progress_mode(self.cfg.progress) if self.logger.console else None
        return ProgressBar(self.cfg.max_steps, mode, start_step, self.label if label is None else label)


def needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """Optimizers that must re-evaluate the loss themselves; the trainer hands them a closure."""
    return isinstance(optimizer, torch.optim.LBFGS) or getattr(optimizer, "needs_closure", False)


def split_metrics(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """{"test/acc": 1, "val/acc": 2} -> {"test": {"acc": 1}, "val": {"acc": 2}}; no prefix -> "eval"."""
    by_split: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        split, _, name = key.rpartition("/")
        by_split.setdefault(split or "eval", {})[name] = value
    return by_split


def update_best(best: dict[str, dict[str, float]], metrics: dict[str, float], step: int) -> None:
    for key, value in metrics.items():
        if not math.isfinite(value):
            continue
        old = best.get(key)
        better = old is None or (value < old["value"] if lower_is_better(key) else value > old["value"])
        if better:
            best[key] = {"value": value, "step": step}


def quick_fit(experiment: Experiment, folder: Path, resume: bool = False, **options: Any) -> dict[str, Any]:
    """Train outside the run-folder record, quietly: for a paper's own prototype tests.

    `options` are TrainerConfig fields (max_steps=200, overfit_batch=True, ...). Returns the
    summary a run would write (status, metrics, gate, ...); metrics.jsonl and checkpoints land in
    `folder`, and resume=True continues from them.
    """
    logger = RunLogger(folder, {"console": False, "wandb": None}, name="quick", group="quick",
                       job_type="test", config={})
    cfg = TrainerConfig(**{"progress": False, **options})
    result = Trainer(cfg, logger, folder / "checkpoints").fit(experiment, resume)
    summary = result.summary()
    logger.close(summary)
    return summary
