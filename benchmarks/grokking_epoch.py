"""Grokking epoch time: one full-batch AdamW epoch of the paper's model (data=p113: 3830 pairs), our
answer-position forward pass vs the official layout (every layer at all 3 positions, then [:, -1]),
and one evaluation of the test pairs. One torch thread.

Usage: taskset -c 0 python benchmarks/grokking_epoch.py [epochs] [data: p113 | p59]
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import einsum, rearrange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from papers.grokking.components import cross_entropy_float64  # noqa: E402
from papers.grokking.experiment import build  # noqa: E402
from workbench import load_config, seed_everything  # noqa: E402


def full_sequence_logits(model, tokens: torch.Tensor) -> torch.Tensor:
    """The official code's computation: attention and MLP at every position, logits at the last."""
    x = model.W_E[tokens] + model.W_pos
    q = einsum(x, model.W_Q, "b t f, h d f -> b h t d")
    k = einsum(x, model.W_K, "b t f, h d f -> b h t d")
    v = einsum(x, model.W_V, "b t f, h d f -> b h t d")
    scores = einsum(q, k, "b h t d, b h s d -> b h t s") / math.sqrt(q.shape[-1])
    causal = torch.ones(3, 3, dtype=torch.bool).tril()
    z = einsum(scores.masked_fill(~causal, float("-inf")).softmax(-1), v, "b h t s, b h s d -> b h t d")
    x = x + rearrange(z, "b h t d -> b t (h d)") @ model.W_O.T
    x = x + F.relu(x @ model.W_in.T + model.b_in) @ model.W_out.T + model.b_out
    return (x @ model.W_U)[:, -1]


def seconds_per_epoch(experiment, forward, epochs: int) -> float:
    optimizer, scheduler = experiment.optimizers()
    for epoch in range(epochs + 3):
        if epoch == 3:
            start = time.perf_counter()
        loss = cross_entropy_float64(forward(experiment.x), experiment.y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return (time.perf_counter() - start) / epochs


def main(epochs: int, data: str) -> None:
    torch.set_num_threads(1)
    seed_everything(0)
    experiment = build(load_config("grokking", ["stage=reproduction", f"data={data}"]))
    ours = seconds_per_epoch(experiment, experiment.model, epochs)
    official = seconds_per_epoch(experiment, lambda t: full_sequence_logits(experiment.model, t), epochs)
    with torch.no_grad():
        start = time.perf_counter()
        experiment.evaluate()
        evaluate = time.perf_counter() - start
    print(f"epoch, answer position only : {ours * 1000:7.1f} ms")
    print(f"epoch, all positions        : {official * 1000:7.1f} ms  ({official / ours:.2f}x)")
    print(f"evaluate ({len(experiment.x_test)} test pairs) : {evaluate * 1000:7.1f} ms")
    print(f"40k epochs, eval every 100  : {(40000 * ours + 400 * evaluate) / 60:7.1f} min")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30, sys.argv[2] if len(sys.argv) > 2 else "p113")
