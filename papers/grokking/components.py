"""Stage 1 components of "Progress measures for grokking via mechanistic interpretability"
(Nanda, Chan, Lieberum, Smith, Steinhardt; arXiv 2301.05217).

Shapes: b batch, h heads, m key positions, d per-head width, p the modulus, f model width.
"Official code" is github.com/mechanistic-interpretability-grokking/progress-measures-paper
(transformers.py).
"""

from __future__ import annotations

import math
import random

import torch
from einops import einsum, rearrange


def modular_addition_split(p: int, frac_train: float, seed: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """§3: all p·p pairs (a, b), a fraction `frac_train` for training, the rest for test.

    The same shuffle as the official code's gen_train_test (Python's `random` seeded with the data
    seed, then the first ⌊frac·p²⌋ pairs), so data seed 0 gives the paper's own split.
    """
    pairs = [(a, b) for a in range(p) for b in range(p)]
    random.Random(seed).shuffle(pairs)
    cut = int(frac_train * len(pairs))
    return pairs[:cut], pairs[cut:]


def tokens_and_labels(pairs: list[tuple[int, int]], p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """§3: the input is "a b =", with "=" the extra token p; the label is c = (a + b) mod p."""
    pairs_t = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)
    equals = torch.full((len(pairs_t), 1), p, dtype=torch.long)
    return torch.cat([pairs_t, equals], dim=1), (pairs_t[:, 0] + pairs_t[:, 1]) % p


def attention_from_last(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q·kᵀ/√d) v for the last position only. q: b h d; k, v: b h m d -> (b h d, b h m).

    The causal mask hides nothing from the last position, so none is needed.
    """
    scores = einsum(q, k, "b h d, b h m d -> b h m") / math.sqrt(q.shape[-1])
    pattern = scores.softmax(dim=-1)
    return einsum(pattern, v, "b h m, b h m d -> b h d"), pattern


def cross_entropy_float64(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean −log softmax(logits)[label], in float64 as the official code does: late in training
    the loss reaches ~1e-7, where float32 log_softmax rounds to zero (official helpers.py)."""
    log_probs = logits.to(torch.float64).log_softmax(dim=-1)
    return -log_probs.gather(-1, labels[:, None]).mean()


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction (0–1) of argmax predictions equal to the label."""
    return (logits.argmax(dim=-1) == labels).float().mean()


def fourier_basis(p: int) -> torch.Tensor:
    """§4: the orthonormal Fourier basis over Z_p, rows 1, cos(w_k x), sin(w_k x), w_k = 2πk/p,
    for k = 1..(p−1)/2 (p odd), each row scaled to unit norm. Returns p × p (row, x)."""
    if p % 2 == 0:
        raise ValueError(f"p={p}: the Fourier basis here needs an odd modulus (the paper's is 113)")
    x = torch.arange(p, dtype=torch.float64)
    rows = [torch.ones(p, dtype=torch.float64)]
    for k in range(1, (p - 1) // 2 + 1):
        rows += [torch.cos(2 * math.pi * k * x / p), torch.sin(2 * math.pi * k * x / p)]
    basis = torch.stack(rows)
    return basis / basis.norm(dim=1, keepdim=True)


def embedding_frequency_norms(W_E_numbers: torch.Tensor) -> torch.Tensor:
    """§4.1, Fig. 3 (left): the norm of the embedding in each frequency k = 1..(p−1)/2, the cos
    and sin directions together. W_E_numbers: p × f (the embeddings of tokens 0..p−1)."""
    p = W_E_numbers.shape[0]
    coefficients = fourier_basis(p) @ W_E_numbers.to(torch.float64)  # p × f, row 0 the constant
    per_direction = coefficients[1:].pow(2).sum(dim=-1)  # cos_1, sin_1, cos_2, ...
    return rearrange(per_direction, "(k two) -> k two", two=2).sum(dim=-1).sqrt()


def key_frequencies(norms: torch.Tensor, share: float) -> list[int]:
    """The fewest frequencies (1-based k) that together hold `share` of the embedding's Fourier
    energy (sum of squared norms): a grokked model's "handful of key frequencies" (§4)."""
    energy = norms.pow(2)
    order = torch.argsort(energy, descending=True)
    cumulative = torch.cumsum(energy[order], dim=0) / energy.sum()
    count = int(torch.searchsorted(cumulative, torch.tensor(share, dtype=cumulative.dtype)).item()) + 1
    return sorted(int(k) + 1 for k in order[:count])


def first_epoch_reaching(history: list[tuple[int, float]], threshold: float) -> float:
    """The first logged epoch whose value is ≥ threshold; NaN when none has yet (the report then
    excludes the run for that claim instead of comparing a made-up epoch)."""
    for epoch, value in history:
        if value >= threshold:
            return float(epoch)
    return float("nan")
