"""Trainer overhead: the MNIST-1D CNN, same steps, bare PyTorch loop vs the workbench trainer.

Both drive the same experiment (papers/mnist1d: train_step, Adam, evaluate every 250 steps),
so the difference is the trainer's own machinery: it adds metric means, metrics.jsonl, atomic checkpoints and the progress bookkeeping.
Target: trainer / bare <= 1.03 with logging on. Usage: python benchmarks/trainer_overhead.py [steps]
"""

from __future__ import annotations

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


def bare_loop(steps: int) -> tuple[float, float]:
    """The loop a person writes by hand around the same experiment: no logging, no checkpoints."""
    seed_everything(0)
    configure_torch(TrainerConfig())  # same threads and determinism settings as the trainer
    exp = build(CFG)
    model, batches = exp.model, exp.train_batches()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    acc = float("nan")
    start = time.perf_counter()
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
    return time.perf_counter() - start, acc


def workbench_trainer(steps: int, folder: Path) -> tuple[float, float]:
    seed_everything(0)
    exp = build(CFG)
    start = time.perf_counter()
    summary = quick_fit(exp, folder, max_steps=steps, eval_every=250, log_every=50, checkpoint_every=1000)
    return time.perf_counter() - start, summary["metrics"]["test/acc"]


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
    bare_loop(200)  # warm up kernels and the data cache for both
    bare, trainer = [], []
    for repeat in range(REPEATS):  # interleaved, best of each: machine noise hits both alike
        bare.append(bare_loop(steps))
        with tempfile.TemporaryDirectory() as tmp:
            trainer.append(workbench_trainer(steps, Path(tmp)))
    (bare_s, bare_acc), (wb_s, wb_acc) = min(bare), min(trainer)
    print(f"MNIST-1D CNN, {steps} steps, torch threads {torch.get_num_threads()}, best of {REPEATS}")
    print(f"bare loop        {bare_s:7.2f} s   test acc {bare_acc:.1f}")
    print(f"workbench trainer {wb_s:6.2f} s   test acc {wb_acc:.1f}")
    print(f"ratio trainer/bare {wb_s / bare_s:.3f}  (target <= 1.03)")


if __name__ == "__main__":
    main()
