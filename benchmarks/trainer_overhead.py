"""Trainer overhead: the MNIST-1D CNN, same steps, bare PyTorch loop vs the workbench trainer.

Both drive the same experiment (papers/mnist1d: train_step, Adam, evaluate every 250 steps),
so the difference is the trainer's own machinery: it adds metric means, metrics.jsonl, atomic checkpoints and the progress bookkeeping.
Wall and CPU seconds (time.process_time) are both printed, with the load average: on a shared
machine the CPU figure is the steadier one. Target: trainer / bare <= 1.02 with logging on.
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

REPEATS = 3
CFG = OmegaConf.create({
    "seed": 0, "batch_size": 100,
    "optim": {"name": "adam", "lr": 1e-2, "weight_decay": 0.0},
    "model": {"name": "cnn", "channels": 25},
    "data": {"name": "standard", "shuffle_seq": False, "seed": 42},
})


class Clock:
    """Wall and CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def bare_loop(steps: int) -> tuple[tuple[float, float], float]:
    """The loop a person writes by hand around the same experiment: no logging, no checkpoints."""
    seed_everything(0)
    configure_torch(TrainerConfig(threads=1))  # same threads and determinism settings as the trainer
    exp = build(CFG)
    model, batches = exp.model, exp.train_batches()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
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
    return clock.read(), acc


def workbench_trainer(steps: int, folder: Path) -> tuple[tuple[float, float], float]:
    seed_everything(0)
    exp = build(CFG)
    clock = Clock()
    summary = quick_fit(exp, folder, max_steps=steps, eval_every=250, log_every=50, checkpoint_every=1000, threads=1)
    return clock.read(), summary["metrics"]["test/acc"]


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else REPEATS
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    bare_loop(200)  # warm up kernels and the data cache for both
    bare, trainer = [], []
    for repeat in range(repeats):  # interleaved, best of each: machine noise hits both alike
        bare.append(bare_loop(steps))
        with tempfile.TemporaryDirectory() as tmp:
            trainer.append(workbench_trainer(steps, Path(tmp)))
    print(f"MNIST-1D CNN, {steps} steps, torch threads {torch.get_num_threads()}, best of {repeats}; "
          f"load average {load} at start, {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")
    for col, kind in ((0, "wall"), (1, "cpu")):
        bare_s, wb_s = min(b[0][col] for b in bare), min(t[0][col] for t in trainer)
        print(f"{kind}: bare loop {bare_s:7.2f} s, workbench trainer {wb_s:7.2f} s, ratio trainer/bare {wb_s / bare_s:.3f}")
    print(f"test acc: bare {bare[0][1]:.1f}, trainer {trainer[0][1]:.1f}   (target: ratio <= 1.02)")


if __name__ == "__main__":
    main()
