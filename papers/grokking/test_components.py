"""Stage 1 gate for grokking (arXiv 2301.05217): each component against the most naive reference
we can write, and the fast answer-position forward pass against the model's full-sequence forward
and a full-sequence loop."""

from __future__ import annotations

import itertools
import math
import random

import pytest
import torch
import torch.nn.functional as F

from .components import (
    accuracy,
    attention_from_last,
    cross_entropy_float64,
    embedding_frequency_norms,
    first_epoch_reaching,
    fourier_basis,
    key_frequencies,
    modular_addition_split,
    tokens_and_labels,
)
from .model import OneLayerTransformer


def test_split_is_the_official_shuffle_and_partitions_all_pairs():
    train, test = modular_addition_split(113, 0.3, seed=0)
    # official gen_train_test: random.seed(seed); random.shuffle(pairs); first int(0.3·p²)
    official = [(i, j, 113) for i in range(113) for j in range(113)]
    random.seed(0)
    random.shuffle(official)
    assert train == [(a, b) for a, b, _ in official[:3830]]
    assert len(train) == 3830 and len(test) == 113 * 113 - 3830
    assert set(train).isdisjoint(test) and len(set(train) | set(test)) == 113 * 113


def test_tokens_are_a_b_equals_and_labels_are_the_sum_mod_p():
    tokens, labels = tokens_and_labels([(3, 5), (6, 6), (0, 0)], p=7)
    assert tokens.tolist() == [[3, 5, 7], [6, 6, 7], [0, 0, 7]]
    assert labels.tolist() == [1, 5, 0]


def test_attention_from_last_matches_a_loop():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 4, dtype=torch.float64), *(torch.randn(2, 3, 5, 4, dtype=torch.float64) for _ in range(2))
    out, pattern = attention_from_last(q, k, v)
    for b, h in itertools.product(range(2), range(3)):
        w = torch.stack([q[b, h] @ k[b, h, j] for j in range(5)]).div(2.0).softmax(0)  # √d = 2
        torch.testing.assert_close(pattern[b, h], w)
        torch.testing.assert_close(out[b, h], sum(w[j] * v[b, h, j] for j in range(5)))


def test_cross_entropy_float64_matches_torch_and_keeps_tiny_losses():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 5), torch.randint(0, 5, (6,))
    torch.testing.assert_close(cross_entropy_float64(logits, labels), F.cross_entropy(logits.double(), labels))
    confident = torch.tensor([[17.0, 0.0]])  # loss ≈ e^-17 ≈ 4e-8
    assert float(F.cross_entropy(confident, torch.tensor([0]))) == 0.0  # float32 rounds it away
    assert cross_entropy_float64(confident, torch.tensor([0])) > 0


def test_accuracy_counts_argmax_hits():
    assert float(accuracy(torch.tensor([[0.0, 1.0], [2.0, 1.0], [0.0, 3.0]]), torch.tensor([1, 1, 1]))) == pytest.approx(2 / 3)


def test_fourier_basis_is_orthonormal_and_matches_cos_sin():
    basis = fourier_basis(7)
    torch.testing.assert_close(basis @ basis.T, torch.eye(7, dtype=torch.float64))
    x = torch.arange(7, dtype=torch.float64)
    cos2 = torch.cos(2 * math.pi * 2 * x / 7)
    torch.testing.assert_close(basis[3], cos2 / cos2.norm())  # rows: const, cos1, sin1, cos2, ...
    with pytest.raises(ValueError, match="odd"):
        fourier_basis(8)


def test_an_embedding_built_from_two_frequencies_has_exactly_those_keys():
    p, x = 113, torch.arange(113, dtype=torch.float64)
    w = lambda k: 2 * math.pi * k * x / p  # noqa: E731
    W_E = torch.stack([torch.cos(w(14)), torch.sin(w(14)), 3 * torch.cos(w(41)), torch.sin(w(41) + 1)], dim=1)
    norms = embedding_frequency_norms(W_E)
    assert norms.shape == (56,)
    assert set(torch.nonzero(norms > 1e-9).flatten().add(1).tolist()) == {14, 41}
    assert key_frequencies(norms, share=0.9) == [14, 41]
    assert key_frequencies(norms, share=0.5) == [41]  # the stronger one alone holds > 50%


def test_a_random_embedding_has_many_key_frequencies():
    torch.manual_seed(0)
    assert len(key_frequencies(embedding_frequency_norms(torch.randn(113, 128)), share=0.9)) > 40


def test_first_epoch_reaching():
    history = [(100, 0.2), (200, 0.96), (300, 0.5), (400, 0.99)]
    assert first_epoch_reaching(history, 0.95) == 200
    assert math.isnan(first_epoch_reaching(history, 1.0))


def naive_full_forward(model: OneLayerTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """Logits at every position, one example, head and query at a time (the official layout)."""
    x = model.W_E[tokens] + model.W_pos[: tokens.shape[1]]
    h, d = model.n_heads, model.W_Q.shape[1]
    attn = torch.zeros_like(x)
    for b, head, qi in itertools.product(range(len(tokens)), range(h), range(tokens.shape[1])):
        q = model.W_Q[head] @ x[b, qi]
        w = torch.stack([q @ (model.W_K[head] @ x[b, ki]) / math.sqrt(d) for ki in range(qi + 1)]).softmax(0)
        z = sum(w[ki] * (model.W_V[head] @ x[b, ki]) for ki in range(qi + 1))
        attn[b, qi] += model.W_O[:, head * d:(head + 1) * d] @ z
    x = x + attn
    x = x + F.relu(x @ model.W_in.T + model.b_in) @ model.W_out.T + model.b_out
    return x @ model.W_U


def small_model() -> tuple[OneLayerTransformer, torch.Tensor]:
    torch.manual_seed(0)
    model = OneLayerTransformer(7, d_model=16, n_heads=4, d_mlp=32).double()
    with torch.no_grad():
        for parameter in model.parameters():  # non-zero biases too, so they are exercised
            parameter.normal_()
    tokens, _ = tokens_and_labels([(a, b) for a in range(7) for b in range(7)], p=7)
    return model, tokens


def test_the_full_sequence_forward_equals_the_naive_loop_at_every_position():
    model, tokens = small_model()
    torch.testing.assert_close(model.forward_full_sequence(tokens), naive_full_forward(model, tokens))


def test_fast_forward_equals_the_full_sequence_at_the_answer_position():
    model, tokens = small_model()
    torch.testing.assert_close(model(tokens), model.forward_full_sequence(tokens)[:, -1])
    torch.testing.assert_close(model(tokens), naive_full_forward(model, tokens)[:, -1])


def test_fast_forward_gradients_equal_the_full_sequence_gradients():
    model, tokens = small_model()
    labels = (tokens[:, 0] + tokens[:, 1]) % 7
    cross_entropy_float64(model(tokens), labels).backward()
    fast = {n: p.grad.clone() for n, p in model.named_parameters()}
    for full_forward in (model.forward_full_sequence, lambda t: naive_full_forward(model, t)):
        model.zero_grad()
        cross_entropy_float64(full_forward(tokens)[:, -1], labels).backward()
        for name, parameter in model.named_parameters():
            torch.testing.assert_close(fast[name], parameter.grad, msg=name)


def test_attention_patterns_are_causal_and_agree_with_the_fast_path():
    model, tokens = small_model()
    patterns = model.attention_patterns(tokens)
    assert patterns.shape == (49, 4, 3, 3)
    torch.testing.assert_close(patterns.sum(-1), torch.ones(49, 4, 3, dtype=torch.float64))
    assert torch.all(patterns.triu(diagonal=1) == 0)
    torch.testing.assert_close(patterns[:, :, -1], model.attend_from_last(tokens)[1])


def test_parameter_count_of_the_paper_model():
    # W_E 114·128, W_pos 3·128, W_Q/K/V 3·128·128, W_O 128·128, MLP 2·128·512 + 512 + 128, W_U 128·114
    expected = 114 * 128 + 3 * 128 + 4 * 128 * 128 + 2 * 128 * 512 + 512 + 128 + 128 * 114
    assert sum(p.numel() for p in OneLayerTransformer(113).parameters()) == expected
