"""Trainer overhead: the MNIST-1D CNN, same steps, bare PyTorch loop vs the workbench trainer.

Both drive the same experiment (papers/mnist1d: train_step, Adam, evaluate every 250 steps),
so the difference is the trainer's own machinery: it adds metric means, metrics.jsonl, atomic checkpoints and the progress bookkeeping.
Wall and CPU seconds (time.process_time) are both printed, with the load average. Target:
trainer / bare <= 1.02 with logging on.

On a shared machine two runs of the same loop differ by more than 2% (0.99-1.13 between
back-to-back pairs), so the benchmark also clocks, inside every run, the work both loops share
(train_step, backward, the optimizer step, evaluate) and prints each loop's own time, the rest:
the overhead estimate (shared work + trainer's own) / (shared work + bare loop's own) compares
the two loops within the same run, under the same load.
Usage: python benchmarks/trainer_overhead.py [steps] [repeats]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from papers.mnist1d.experiment import build  # noqa: E402
from workbench.run.seeding import seed_everything  # noqa: E402
from workbench.run.trainer import TrainerConfig, configure_torch, quick_fit  # noqa: E402

REPEATS = 5
CFG = OmegaConf.create({
    "seed": 0, "batch_size": 100,
    "optim": {"name": "adam", "lr": 1e-2, "weight_decay": 0.0},
    "model": {"name": "cnn", "channels": 25},
    "data": {"name": "standard", "shuffle_seq": False, "seed": 42},
})


class SharedWork:
    """Seconds spent in the work both loops do: train_step, backward, optimizer.step, evaluate."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._backward = torch.Tensor.backward

    def timed(self, fn):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return run

    def watch(self, exp) -> None:
        """Clock exp's train_step and evaluate, its optimizers' steps, and every backward."""
        exp.train_step, exp.evaluate = self.timed(exp.train_step), self.timed(exp.evaluate)
        make_optimizers = exp.optimizers

        def optimizers():
            optimizer, scheduler = make_optimizers()
            self.watch_optimizer(optimizer)
            return optimizer, scheduler

        exp.optimizers = optimizers
        torch.Tensor.backward = self.timed(self._backward)

    def watch_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        started = {}
        optimizer.register_step_pre_hook(lambda *_: started.update(t=time.perf_counter()))
        optimizer.register_step_post_hook(lambda *_: self.add(time.perf_counter() - started["t"]))

    def add(self, seconds: float) -> None:
        self.seconds += seconds

    def close(self) -> None:
        torch.Tensor.backward = self._backward


class Clock:
    """Wall and CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def bare_loop(steps: int, work: SharedWork | None = None) -> tuple[tuple[float, float], float]:
    """The loop a person writes by hand around the same experiment: no logging, no checkpoints."""
    seed_everything(0)
    configure_torch(TrainerConfig(threads=1))  # same threads and determinism settings as the trainer
    exp = build(CFG)
    work = work or SharedWork()
    work.watch(exp)
    model, batches = exp.model, exp.train_batches()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    work.watch_optimizer(opt)
    acc = float("nan")
    clock = Clock()
    for step in range(1, steps + 1):
        loss = exp.train_step(next(batches))["loss"]
        loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                acc = exp.evaluate()["test/acc"]
            model.train()
    seconds = clock.read()
    work.close()
    return seconds, acc


def workbench_trainer(steps: int, folder: Path, work: SharedWork | None = None) -> tuple[tuple[float, float], float]:
    seed_everything(0)
    exp = build(CFG)
    work = work or SharedWork()
    work.watch(exp)
    clock = Clock()
    summary = quick_fit(exp, folder, max_steps=steps, eval_every=250, log_every=50, checkpoint_every=1000, threads=1)
    seconds = clock.read()
    work.close()
    return seconds, summary["metrics"]["test/acc"]


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else REPEATS
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    bare_loop(200)  # warm up kernels and the data cache for both
    bare, trainer, estimates = [], [], []
    for repeat in range(repeats):  # interleaved, best of each: machine noise hits both alike
        bare_work, trainer_work = SharedWork(), SharedWork()
        bare.append(bare_loop(steps, bare_work))
        with tempfile.TemporaryDirectory() as tmp:
            trainer.append(workbench_trainer(steps, Path(tmp), trainer_work))
        own_bare, own_trainer = bare[-1][0][0] - bare_work.seconds, trainer[-1][0][0] - trainer_work.seconds
        estimates.append((own_bare, own_trainer, trainer_work.seconds))
    print(f"MNIST-1D CNN, {steps} steps, torch threads {torch.get_num_threads()}, best of {repeats}; "
          f"load average {load} at start, {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")
    for col, kind in ((0, "wall"), (1, "cpu")):
        bare_s, wb_s = min(b[0][col] for b in bare), min(t[0][col] for t in trainer)
        print(f"{kind}: bare loop {bare_s:7.2f} s, workbench trainer {wb_s:7.2f} s, ratio trainer/bare {wb_s / bare_s:.3f}")
    print("each loop's own time (wall minus the shared work it clocked), per repeat:")
    for own_bare, own_trainer, shared in estimates:
        print(f"  bare loop {own_bare:6.2f} s, trainer {own_trainer:6.2f} s, shared work {shared:7.2f} s: "
              f"overhead estimate {(shared + own_trainer) / (shared + own_bare):.3f}")
    median = sorted((shared + t) / (shared + b) for b, t, shared in estimates)[len(estimates) // 2]
    print(f"median overhead estimate {median:.3f}")
    print(f"test acc: bare {bare[0][1]:.1f}, trainer {trainer[0][1]:.1f}   (target: ratio <= 1.02)")


if __name__ == "__main__":
    main()
