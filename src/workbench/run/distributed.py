"""Data-parallel training across processes launched by torchrun (or by `trainer.devices=N`).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK in each process; `setup()` reads them and joins the
process group: NCCL when the run is on a GPU (one GPU a process, cuda:LOCAL_RANK), gloo on CPU.
Without those variables everything here is a no-op and the trainer runs as one process.

The contract with a paper, which opts in with nothing but its config:

* `train_batches()` yields the *global* batch, the same on every rank (it is a pure function of
  the config). Each rank keeps an equal, contiguous slice of it along dim 0 of every tensor:
  a tensor, a tuple/list of tensors or a dict of tensors (nested freely). Non-tensor leaves are
  kept whole. The global batch size must divide by the number of ranks, or the run stops with
  one line saying so.
* `train_step()` returns the *mean* loss over its shard. After backward the gradients are
  averaged over ranks, which with equal shards is the gradient of the mean over the global
  batch, so N ranks take the same steps as one process with the whole batch.
* `evaluate()` runs on every rank (the parameters are identical); rank 0 records it.

Only rank 0 writes: it creates the run folder (the others learn its path by broadcast), writes
metrics, checkpoints, W&B and the summary. Resume: every rank loads rank 0's checkpoint.

Gradients are averaged explicitly after `backward()` (one flat all-reduce) rather than through
the DistributedDataParallel wrapper, because a paper's `train_step` may call its model in any
way (submodules, several forward passes) and DDP only synchronises through `model.forward`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from workbench.errors import ConfigError

T = TypeVar("T")
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One GPU a process: `cuda` becomes cuda:LOCAL_RANK under torchrun."""
        if self.enabled and device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def shard(self, batch: Any) -> Any:
        """This rank's equal slice of the global batch (see the module docstring)."""
        if not self.enabled:
            return batch
        if isinstance(batch, torch.Tensor):
            size = batch.shape[0]
            if size % self.world_size:
                raise ConfigError(f"a global batch of {size} does not split into {self.world_size} equal shards; "
                                  f"make batch_size a multiple of trainer.devices")
            per_rank = size // self.world_size
            return batch[self.rank * per_rank:(self.rank + 1) * per_rank]
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.shard(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self.shard(v) for k, v in batch.items()}
        return batch

    def average_gradients(self, parameters: Any, loss: float) -> float:
        """Mean of every gradient over ranks, in one flat all-reduce that also carries this
        rank's loss; returns the mean loss, the same number on every rank (so all ranks agree
        on a NaN and stop together)."""
        if not self.enabled:
            return loss
        grads = [p.grad for p in parameters if p.grad is not None]
        flat = torch.cat([*(g.reshape(-1) for g in grads), torch.tensor([loss], dtype=grads[0].dtype if grads else torch.float32,
                                                                          device=grads[0].device if grads else self._comm_device())])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()
        return float(flat[-1])

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Metrics averaged over ranks (each rank's value is a mean over an equal shard)."""
        if not self.enabled or not values:
            return values
        keys = sorted(values)
        tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(tensor)
        return {k: v / self.world_size for k, v in zip(keys, tensor.tolist())}

    def from_main(self, make: Callable[[], T]) -> T:
        """`make()` on rank 0 only; every rank gets its result (e.g. the run folder's path)."""
        if not self.enabled:
            return make()
        box = [make() if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_parameters(self, parameters: Any) -> None:
        """Start every rank from rank 0's weights, as DDP does."""
        if self.enabled:
            for p in parameters:
                dist.broadcast(p.data, src=0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def _comm_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")


_CONTEXT = Context()


class SilentLogger:
    """The logger of ranks other than 0: rank 0 alone writes the run's files and W&B."""

    console = False

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None: ...
    def rewind(self, step: int) -> None: ...
    def sync(self) -> None: ...
    def write_summary(self, summary: dict[str, Any]) -> None: ...
    def close(self, summary: dict[str, Any]) -> None: ...


def in_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARS) and int(os.environ["WORLD_SIZE"]) > 1


def setup(device_name: str, devices: int = 1) -> Context:
    """Join the process group torchrun prepared (once a process); a no-op outside torchrun."""
    global _CONTEXT
    if not in_torchrun():
        return _CONTEXT
    world_size = int(os.environ["WORLD_SIZE"])
    if devices not in (1, world_size):
        raise ConfigError(f"trainer.devices={devices} but torchrun started {world_size} processes; "
                          f"drop trainer.devices or make it {world_size}")
    if not dist.is_initialized():
        use_gpu = device_name != "cpu" and torch.cuda.is_available()
        if use_gpu:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group(backend="nccl" if use_gpu else "gloo")
    _CONTEXT = Context(dist.get_rank(), dist.get_world_size(), int(os.environ["LOCAL_RANK"]))
    return _CONTEXT


def context() -> Context:
    return _CONTEXT


def torchrun_command(devices: int, workbench_args: list[str]) -> list[str]:
    """`trainer.devices=N`: the same command, started as N processes by torch.distributed.run."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={devices}",
            "-m", "workbench", *workbench_args]


def relaunch(devices: int, workbench_args: list[str]) -> int:
    """Run the command under torchrun with `devices` processes; its exit code."""
    if devices > 1 and not torch.cuda.is_available():
        print(f"note: trainer.devices={devices} with no GPU: {devices} CPU processes (gloo)", file=sys.stderr)
    elif torch.cuda.is_available() and devices > torch.cuda.device_count():
        raise ConfigError(f"trainer.devices={devices} but only {torch.cuda.device_count()} GPUs are visible")
    return subprocess.call(torchrun_command(devices, workbench_args))
