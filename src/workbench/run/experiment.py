"""The Experiment protocol a paper's experiment.py implements, and small helpers for it.

`papers/<name>/experiment.py` defines `build(cfg) -> Experiment`; the generic trainer drives it:

    for step in 1..max_steps:
        batch = next(batches)                 # experiment.train_batches(), an infinite iterator
        metrics = experiment.train_step(batch) # forward + loss; the trainer does backward/step
        every eval_every: experiment.evaluate() under torch.no_grad and model.eval()

An optimizer that must re-evaluate the loss (torch.optim.LBFGS, or one with `needs_closure = True`)
gets a closure instead: the trainer calls optimizer.step(closure), and the closure runs
train_step + backward on the step's batch as often as the optimizer asks.

Resuming replays `train_batches()` up to the checkpoint's step, so the iterator must be a pure
function of the config: draw its randomness from its own seeded `torch.Generator`.

Scaling out asks nothing more of a paper (its config opts in):
- torchrun / `trainer.devices=N` (distributed.py): `train_batches()` yields the global batch
  (tensors, tuples/lists or dicts of them, batch on dim 0); each rank trains on an equal slice,
  so `train_step` must return the *mean* loss over the batch it is given.
- `seeds=N trainer.vectorize_seeds=true` (vectorized.py): the trainer runs `train_step` for N
  seeds at once under `torch.func.vmap`, swapping each seed's weights into `self.model`. That
  works when `train_step` reaches its weights only through `self.model`, draws no random
  numbers (no dropout), calls no `.item()`, and returns tensors; and the optimizer is
  elementwise (SGD, Adam, AdamW, ...). Otherwise the trainer says which rule failed and runs
  the seeds one after another. `trainer.vectorize_over=[data]` adds the options of a swept
  group to the same batch (`-m data=a,b`): allow it only when `train_step` depends on that
  group through its batches alone (each run still builds its own data and model).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from workbench.errors import ConfigError

Metrics = dict[str, Any]


@runtime_checkable
class Experiment(Protocol):
    model: nn.Module

    def optimizers(self) -> tuple[torch.optim.Optimizer, Any]:
        """The optimizer and its LR scheduler (None when there is none)."""

    def train_batches(self) -> Iterator[Any]:
        """Infinite and deterministic; the trainer counts steps."""

    def train_step(self, batch: Any) -> Metrics:
        """Forward pass; must return {"loss": scalar tensor}, may add metrics (e.g. "acc")."""

    def evaluate(self) -> Metrics:
        """Split-prefixed metrics, e.g. {"test/acc": 94.1, "test/loss": 0.2}."""


# Optional members the trainer uses when present:
#   data_fingerprint: str           -> provenance.json "data_hash"
#   analysis(self) -> dict          -> analysis.json at the end of a run; the report reads these keys:
#       "split", "class_names", "confusion_matrix"   a k×k int matrix, rows are true classes
#       "worst_examples": [{"index": int, "true": str, "predicted": str, "confidence": float,
#                           "input": [float, ...] (optional, a 1-D signal drawn as a line)}, ...]
#                                      the examples the model got most confidently wrong
#       "attention": {"title": str, "tokens": [str, ...], "maps": [[[float]]]}
#                                      heads × query × key weights (workbench.attention builds it)


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
              "lbfgs": torch.optim.LBFGS}  # the trainer calls LBFGS with a closure
# Optimizers with torch's single fused kernel over all weights, which make_optimizer and the vectorised
# trainer's stacked optimizer take: torch's CPU default is a Python loop over each weight, half of a
# small model's training step (MNIST-1D's MLP: Adam 572 -> 184 us of a ~1.1 ms step)
FUSED_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.Adagrad)
KERNEL_OPTIONS = ("foreach", "fused", "differentiable", "capturable")


def make_optimizer(params: Iterable[nn.Parameter], optim_cfg: Any) -> torch.optim.Optimizer:
    """An optimizer from an `optim:` config block: name, lr, weight_decay, and extras (betas, momentum).

    Adam, AdamW and SGD step with torch's fused kernel (`fused=True`) unless the block chooses a
    kernel itself (optim.foreach, optim.fused): the same update in one call instead of a loop over
    the weights, rounding a few ulps differently. Where torch cannot fuse (before 2.4 on CPU, a
    device or dtype it does not support) it keeps its default."""
    if not isinstance(optim_cfg, Mapping):
        raise ConfigError(f"optim={optim_cfg} must be a mapping (name, lr, ...), e.g. optim.lr=1e-3")
    options = dict(optim_cfg)
    name = str(options.pop("name", "adam")).lower()
    if name not in OPTIMIZERS:
        raise ConfigError(f"optim.name={name} is not one of {', '.join(OPTIMIZERS)}")
    lr = options.get("lr")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not 0 < lr < math.inf:
        raise ConfigError(f"optim.lr={lr} must be a positive number, e.g. optim.lr=1e-3")
    decay = options.get("weight_decay", 0)
    if not isinstance(decay, (int, float)) or isinstance(decay, bool) or not 0 <= decay < math.inf:
        raise ConfigError(f"optim.weight_decay={decay} must be a number >= 0")
    if isinstance(options.get("betas"), (list, tuple)):
        options["betas"] = tuple(options["betas"])
    params = list(params)  # a generator would be spent by a first try
    if OPTIMIZERS[name] in FUSED_OPTIMIZERS and not any(key in options for key in KERNEL_OPTIONS):
        try:
            return OPTIMIZERS[name](params, **options, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass  # cannot fuse here, or an option is wrong: the plain call below keeps torch's default or says which
    try:
        return OPTIMIZERS[name](params, **options)
    except (TypeError, ValueError, LookupError) as exc:  # torch checks the rest (betas, momentum, eps, unknown keys)
        keys = ", ".join(f"optim.{k}" for k in sorted(options))
        raise ConfigError(f"optim: {(str(exc) or type(exc).__name__).splitlines()[0]} (from {keys}); fix the value") from None


def require_positive(name: str, value: Any) -> int:
    """For sizes a user sets (batch_size, hidden): one clear error instead of a torch crash."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name}={value} must be a positive integer")
    return value


def require_batch_fits(batch_size: int, n_examples: int) -> int:
    """A batch larger than the training set would be cut to it without a word (or, with the ragged
    tail dropped, never come at all): refuse it in one line instead."""
    if batch_size > n_examples:
        raise ConfigError(f"batch_size={batch_size} is larger than the training set ({n_examples} examples); "
                          f"use batch_size={n_examples} or less")
    return batch_size


def fingerprint(*arrays: np.ndarray | torch.Tensor) -> str:
    """sha256 over the arrays' dtypes, shapes and bytes: the data hash in provenance.json."""
    digest = hashlib.sha256()
    for array in arrays:
        a = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
