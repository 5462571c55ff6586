"""`seeds=N trainer.vectorize_seeds=true`: N seeds of one configuration trained in one process.

launch.py decides whether a job's seeds come here (`why_not_vectorised`) or run one after another.

Each seed s gets what a separate `workbench run ... seed=s` would get: the experiment is built
after `seed_everything(s)` (its own init and its own `train_batches()` order), and it ends in its
own ordinary run folder (config.yaml with seed=s, provenance, metrics.jsonl, summary.json,
checkpoints that `workbench resume` continues with the ordinary trainer), so the report and W&B
see N ordinary runs.

Vectorised, the N models become one set of stacked parameters (torch.func.stack_module_state),
and one `vmap(functional_call)` over the paper's own `train_step` computes the N losses at
once. The seeds never mix: the loss summed over seeds has, for seed i's slice, exactly seed i's
gradient; gradient clipping is done per seed; and the paper's optimizer is stepped on the stacked
parameters, which is the same as N separate optimizers because every optimizer allowed here is
elementwise (each number's update depends only on its own gradient history, and the step count,
learning rate and schedule are the same for all seeds). Weight decay is elementwise too.

`trainer.vectorize_over=[data]` with a sweep over data (`-m data=standard,shuffled seeds=3`) puts
the runs of every swept data option in the same batch (launch.batch_swept_groups): each is
still built from its own config, draws its own batches and writes its own run folder; the step
function and optimizer are the first run's, so the group's options may change only the data.

What the experiment must allow (experiment.py documents it): `train_step` reaches the weights
only through `self.model`, draws no random numbers (no dropout: vmap cannot give each seed the
stream it would get alone), and returns tensors. When a model cannot be vectorised (a fused RNN
such as nn.GRU, BatchNorm running statistics, a non-elementwise optimizer, anything vmap
rejects) the trainer says why in one line and runs the seeds one after another instead.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from workbench.errors import UserError
from workbench.run import provenance, record
from workbench.run.experiment import FUSED_OPTIMIZERS, count_parameters
from workbench.run.record import RunOutcome
from workbench.run.runner import build_experiment, fail_run, finish_run, open_logger, open_run_dir
from workbench.run.seeding import rng_state, seed_everything, set_rng_state
from workbench.run.trainer import (FitResult, StopRequest, Trainer, TrainerConfig, TrainState, configure_torch,
                                   divergence_message, interrupted_message, move_to, resolve_device)

ELEMENTWISE_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.Adamax,
                          torch.optim.NAdam, torch.optim.RAdam, torch.optim.RMSprop, torch.optim.Adagrad)


# ---------------------------------------------------------------- the seeds


@dataclass
class SeedRun:
    """One seed's share of a vectorised job: its experiment, optimizer, record and progress."""

    seed: int
    config: dict[str, Any]
    overrides: list[str]
    experiment: Any
    optimizer: torch.optim.Optimizer
    rng: dict[str, Any]  # global RNG state right after building, as the ordinary run would have it
    run_dir: Path | None = None
    logger: Any = None
    base: dict[str, Any] = field(default_factory=dict)
    trainer: Trainer | None = None
    state: TrainState = field(default_factory=TrainState)
    status: str = "completed"
    message: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "completed"


def build_seeds(root: Path, paper: Any, jobs: list[Any]) -> list[SeedRun]:
    """Each run's experiment and optimizer, built as its own run would build them; a job has the
    run's .config, .choices and .overrides (launch.Member)."""
    runs = []
    for job in jobs:
        job_config = {**job.config, "choices": job.choices}
        seed_everything(job_config["seed"])
        experiment = build_experiment(root, paper, job_config)
        optimizer, _ = experiment.optimizers()
        runs.append(SeedRun(job_config["seed"], job_config, job.overrides, experiment, optimizer, rng_state()))
    return runs


# ---------------------------------------------------------------- can it be vectorised?


def why_not_vectorised(runs: list[SeedRun], cfg: TrainerConfig) -> str | None:
    """None when the seeds can train under vmap; otherwise the reason, in a few words."""
    model = runs[0].experiment.model
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            return f"{name} updates BatchNorm running statistics in place"
    optimizer = runs[0].optimizer
    if type(optimizer) not in ELEMENTWISE_OPTIMIZERS:
        return f"{type(optimizer).__name__} is not an elementwise optimizer, so one step on stacked weights would mix seeds"
    in_model = {id(p) for p in model.parameters()}
    if any(id(p) not in in_model for group in optimizer.param_groups for p in group["params"]):
        return "the optimizer trains tensors outside experiment.model, which vmap cannot swap per seed"
    # A fused RNN kernel (nn.GRU, nn.LSTM; cuDNN on GPU) has no vmap rule; one that only holds
    # weights for a recurrence written out (as MNIST-1D's GRU does) is fine, so refuse on a call.
    hooks = [module.register_forward_pre_hook(refuse_fused_rnn(name)) for name, module in model.named_modules()
             if isinstance(module, nn.RNNBase)]
    try:  # one forward pass on the first batches, weights untouched
        with torch.no_grad():
            models = [r.experiment.model.to(resolve_device(cfg.device)) for r in runs]
            params, buffers = stack_module_state(models)
            batch, dims = stack_batches([next(iter(r.experiment.train_batches())) for r in runs])
            SeedStep(runs[0].experiment, cfg)(params, buffers, batch, dims)
    except FusedRNN as exc:
        return str(exc)
    except Exception as exc:  # vmap refuses in many ways (random ops, .item(), data-dependent control flow)
        return f"train_step does not run under torch.func.vmap ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    finally:
        for hook in hooks:
            hook.remove()
    return None


class FusedRNN(Exception):
    pass


def refuse_fused_rnn(name: str) -> Any:
    def hook(module: nn.Module, args: Any) -> None:
        raise FusedRNN(f"{name or 'the model'} calls nn.{type(module).__name__}, a fused RNN kernel that vmap cannot batch")

    return hook


# ---------------------------------------------------------------- the vectorised step


class TrainStepModule(nn.Module):
    """The paper's train_step as a module whose only submodule is the experiment's model, so
    functional_call can swap in one seed's weights for the whole step (loss and metrics)."""

    def __init__(self, experiment: Any) -> None:
        super().__init__()
        self.model = experiment.model
        self.train_step = experiment.train_step

    def forward(self, batch: Any) -> dict[str, torch.Tensor]:
        return {k: torch.as_tensor(v) for k, v in self.train_step(batch).items()}


class SeedStep:
    """out[k][i] = train_step(batch_i) with seed i's weights, for all seeds in one call."""

    def __init__(self, experiment: Any, cfg: TrainerConfig) -> None:
        self.module = TrainStepModule(experiment)
        self.device = resolve_device(cfg.device)
        self.vmapped: dict[str, Any] = {}  # by the batch's in_dims, which rarely change

    def one_seed(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], batch: Any) -> dict[str, torch.Tensor]:
        named = {f"model.{k}": v for k, v in {**params, **buffers}.items()}
        return functional_call(self.module, named, (batch,))

    def __call__(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], batch: Any,
                 batch_dims: Any) -> dict[str, torch.Tensor]:
        key = repr(batch_dims)
        if key not in self.vmapped:
            # randomness="error": a random op would give each seed a stream unlike its own run's
            self.vmapped[key] = vmap(self.one_seed, in_dims=(0, 0, batch_dims), randomness="error")
        return self.vmapped[key](params, buffers, move_to(batch, self.device))


def stack_batches(batches: list[Any]) -> tuple[Any, Any]:
    """The seeds' batches as one vmap input, and its in_dims: a tensor every seed shares (the
    same memory, e.g. an unshuffled data set) is passed once (dim None), others are stacked (0)."""
    first = batches[0]
    if isinstance(first, torch.Tensor):
        shared = all(b.data_ptr() == first.data_ptr() and b.shape == first.shape and b.stride() == first.stride()
                     for b in batches)
        return (first, None) if shared else (torch.stack(batches), 0)
    if isinstance(first, (list, tuple)):
        pairs = [stack_batches([b[i] for b in batches]) for i in range(len(first))]
        return type(first)(p[0] for p in pairs), type(first)(p[1] for p in pairs)
    if isinstance(first, dict):
        pairs = {k: stack_batches([b[k] for b in batches]) for k in first}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    return first, None


def clip_per_seed(grads: list[torch.Tensor], max_norm: float) -> None:
    """torch.nn.utils.clip_grad_norm_ applied to each seed's slice on its own."""
    per_seed = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()  # n
    coef = (max_norm / (per_seed + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))


def stacked_optimizer(experiment: Any, params: dict[str, torch.Tensor]) -> tuple[torch.optim.Optimizer, Any]:
    """The paper's own optimizer and schedule, made afresh, with each weight replaced by its
    stack over seeds (before any step, so no state refers to the old weights).

    The step runs as torch's fused kernel where it has one (Adam, AdamW, SGD, Adagrad), otherwise
    over all tensors at once (foreach): the per-tensor Python loop of the default is what a step
    over a few small stacked tensors costs. Fused rounds a few ulps differently from the loop
    (foreach does not), well inside what batched matrix kernels already change."""
    optimizer, scheduler = experiment.optimizers()
    name_of = {id(p): name for name, p in experiment.model.named_parameters()}
    for group in optimizer.param_groups:
        group["params"] = [params[name_of[id(p)]] for p in group["params"]]
        if isinstance(optimizer, FUSED_OPTIMIZERS) and not group.get("differentiable"):
            group["fused"], group["foreach"] = True, None
        elif "foreach" in group:
            group["foreach"] = True
    return optimizer, scheduler


KERNEL_CHOICES = ("params", "fused", "foreach")  # the stacked optimizer's own, not the seed's


# ---------------------------------------------------------------- the loop


def run_vectorized(root: Path, paper: Any, runs: list[SeedRun], cfg: TrainerConfig,
                   command: list[str] | None) -> list[RunOutcome]:
    """Open N ordinary run folders, train the N runs together, close each with its own summary."""
    device = resolve_device(cfg.device)
    seeds = [r.seed for r in runs]
    git = provenance.git_state(root)  # the runs start together: one reading of the tree (three git calls) for all
    for run in runs:
        run.run_dir = open_run_dir(run.config, run.config["choices"].get("stage", "run"), run.overrides)
        prov = provenance.collect(root, device, run.seed, getattr(run.experiment, "data_fingerprint", None),
                                  argv=command, git=git)
        prov["vectorized_with_seeds"] = seeds
        prov["vectorized_with"] = [" ".join(r.overrides) for r in runs]
        record.write_provenance(run.run_dir, prov)
        run.logger, run.base = open_logger(root, paper, run.run_dir, run.config)
        run.base["vectorized_with_seeds"] = seeds
        run.trainer = Trainer(cfg, run.logger, record.checkpoint_dir(run.run_dir), label=provenance.run_identity(run.overrides))
    try:
        results = VectorizedFit(cfg, runs).fit()
    except BaseException as exc:
        disk_full = None
        for run in runs:  # every seed's folder is marked before the one clear error is raised
            try:
                fail_run(run.logger, run.base, exc, run.run_dir)
            except UserError as error:
                disk_full = disk_full or error
        if disk_full is not None:
            raise disk_full from None
        raise
    return [finish_run(run.run_dir, run.experiment, run.logger, run.base, result) for run, result in zip(runs, results)]


class VectorizedFit:
    """The loop of Trainer.fit for N seeds at once; each seed records its run with its own
    Trainer's per-step pieces, so its files are those its ordinary run would write."""

    def __init__(self, cfg: TrainerConfig, runs: list[SeedRun]) -> None:
        self.cfg, self.runs = cfg, runs

    def fit(self) -> list[FitResult]:
        cfg, runs = self.cfg, self.runs
        configure_torch(cfg)
        device = resolve_device(cfg.device)
        self.models = [r.experiment.model.to(device).train() for r in runs]
        self.params, self.buffers = stack_module_state(self.models)
        self.optimizer, self.scheduler = stacked_optimizer(runs[0].experiment, self.params)
        step_fn = SeedStep(runs[0].experiment, cfg)
        iterators = [self._batches(r) for r in runs]
        start = time.perf_counter()
        step = 0
        others = f" and {len(runs) - 1} more run(s)" if len(runs) > 1 else ""
        with StopRequest() as stop, runs[0].trainer.progress(label=runs[0].trainer.label + others) as progress:
            try:
                while step < cfg.max_steps and any(r.active for r in runs):
                    batch, dims = stack_batches([next(it) for it in iterators])
                    out = step_fn(self.params, self.buffers, batch, dims)
                    self.optimizer.zero_grad(set_to_none=True)
                    out["loss"].sum().backward()  # seed i's slice gets seed i's gradient only
                    if cfg.grad_clip is not None:
                        clip_per_seed([p.grad for p in self.params.values() if p.grad is not None], cfg.grad_clip)
                    self.optimizer.step()
                    if self.scheduler is not None:
                        self.scheduler.step()
                    step += 1
                    self._record(step, {k: v.detach().tolist() for k, v in out.items()}, start)
                    progress.update(step, runs[0].state)
                    if stop.requested and step < cfg.max_steps:
                        self._checkpoint()
                        for run in runs:
                            if run.active:
                                run.status, run.message = "interrupted", interrupted_message(step, aborted=False)
                        break
            except KeyboardInterrupt:
                for run in runs:
                    if run.active:
                        run.status, run.message = "interrupted", interrupted_message(run.state.step, aborted=True)
        session_s = time.perf_counter() - start
        params = count_parameters(self.models[0])
        return [FitResult(r.status, r.state, params, r.state.step / session_s if session_s > 0 else 0.0, r.message)
                for r in runs]

    def _batches(self, run: SeedRun) -> Iterator[Any]:
        set_rng_state(run.rng)  # an iterator drawing on global RNG starts where the run's own would
        batches = iter(run.experiment.train_batches())
        return itertools.repeat(next(batches)) if self.cfg.overfit_batch else batches

    def _record(self, step: int, values: dict[str, list[float]], start: float) -> None:
        """Per seed, what Trainer.fit does after a step: divergence guard, metrics, eval, checkpoint."""
        cfg = self.cfg
        if cfg.due(cfg.eval_every, step):
            self._unstack_weights()  # evaluate() runs on each seed's own model
        for i, run in enumerate(self.runs):
            if not run.active:
                continue
            loss = values["loss"][i]
            run.message = divergence_message(loss, step)
            if run.message is not None:
                run.status = "diverged"
                continue
            run.state.step = step
            run.trainer.accumulate(run.state, loss, {k: v[i] for k, v in values.items()})
            run.trainer.log_and_evaluate(run.experiment, self.models[i], run.state)
            run.state.elapsed_s = time.perf_counter() - start
        if cfg.due(cfg.checkpoint_every, step):
            self._checkpoint()

    def _unstack_weights(self) -> None:
        with torch.no_grad():
            for i, model in enumerate(self.models):
                for name, p in model.named_parameters():
                    p.copy_(self.params[name][i])

    def _checkpoint(self) -> None:
        """Each active seed's checkpoint, the same files its ordinary run would write."""
        self._unstack_weights()
        for i, run in enumerate(self.runs):
            if run.active:
                run.trainer.write_checkpoint(self.models[i], self._seed_optimizer_state(run.optimizer, i), self.scheduler,
                                             run.state, rng=run.rng)

    def _seed_optimizer_state(self, optimizer: torch.optim.Optimizer, i: int) -> dict[str, Any]:
        """Seed i's slice of the stacked optimizer, as the state_dict of its own optimizer."""
        for stacked_group, group in zip(self.optimizer.param_groups, optimizer.param_groups):
            group.update({k: v for k, v in stacked_group.items() if k not in KERNEL_CHOICES})
            for stacked, own in zip(stacked_group["params"], group["params"]):
                optimizer.state[own] = {
                    k: (v[i].clone() if v.shape == stacked.shape else v.clone()) if isinstance(v, torch.Tensor) else v
                    for k, v in self.optimizer.state.get(stacked, {}).items()
                }
        return optimizer.state_dict()
