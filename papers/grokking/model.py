"""The one-layer ReLU transformer of §3 (arXiv 2301.05217), without LayerNorm, untied embed and
unembed, learned positional embeddings; initialisation as in the official code (transformers.py).

Speed: the loss reads only the logits at the "=" position (§3), and with one layer nothing the
first two positions compute after attention can reach that position. So the forward pass runs
attention for the last query only and the MLP and unembedding for the last position only. Keys and
values of a position depend only on its token, so they are computed once per vocabulary entry
(p + 1 rows) and gathered, rather than once per example. `forward_full_sequence` is the plain
transformer forward beside it, every position at once, kept as the readable reference: the fast
path equals its last position (test_components.py checks both against a naive loop as well).

Shapes: b batch, t positions (3), h heads, d head width, f d_model, n d_mlp, v vocabulary (p + 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import einsum, rearrange
from torch import nn

from workbench import ConfigError

from .components import attention_from_last

N_CTX = 3  # "a b ="


class OneLayerTransformer(nn.Module):
    def __init__(self, p: int, d_model: int = 128, n_heads: int = 4, d_mlp: int = 512) -> None:
        super().__init__()
        if d_model % n_heads:
            divisor = max(k for k in range(1, n_heads) if d_model % k == 0)
            raise ConfigError(f"model.d_model={d_model} must be divisible by model.n_heads={n_heads}; "
                              f"set n_heads to a divisor of {d_model}, e.g. model.n_heads={divisor}")
        v, f, h, d = p + 1, d_model, n_heads, d_model // n_heads
        self.p, self.n_heads = p, n_heads
        # Official code: every matrix ~ N(0, 1)/√fan, biases zero; the unembed scales by 1/√v.
        self.W_E = nn.Parameter(torch.randn(v, f) / math.sqrt(f))
        self.W_pos = nn.Parameter(torch.randn(N_CTX, f) / math.sqrt(f))
        self.W_Q = nn.Parameter(torch.randn(h, d, f) / math.sqrt(f))
        self.W_K = nn.Parameter(torch.randn(h, d, f) / math.sqrt(f))
        self.W_V = nn.Parameter(torch.randn(h, d, f) / math.sqrt(f))
        self.W_O = nn.Parameter(torch.randn(f, h * d) / math.sqrt(f))
        self.W_in = nn.Parameter(torch.randn(d_mlp, f) / math.sqrt(f))
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = nn.Parameter(torch.randn(f, d_mlp) / math.sqrt(f))
        self.b_out = nn.Parameter(torch.zeros(f))
        # Official code: the unembedding has d_vocab = p + 1 outputs, "=" included (never a label).
        self.W_U = nn.Parameter(torch.randn(f, v) / math.sqrt(v))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: b 3 ("a b =") -> logits at the "=" position, b v."""
        attn_out, _ = self.attend_from_last(tokens)
        resid_mid = self.W_E[tokens[:, -1]] + self.W_pos[-1] + attn_out
        # F.linear rather than einsum here: a plain GEMM, ~10% faster than einsum's bmm on CPU
        hidden = F.relu(F.linear(resid_mid, self.W_in, self.b_in))  # b n
        resid_post = resid_mid + F.linear(hidden, self.W_out, self.b_out)  # b f
        return resid_post @ self.W_U

    def forward_full_sequence(self, tokens: torch.Tensor) -> torch.Tensor:
        """The textbook forward pass: tokens b t -> logits at every position, b t v. Not used in
        training (only the last position has a loss); the reference the fast `forward` must match."""
        resid = self.W_E[tokens] + self.W_pos[: tokens.shape[1]]  # b t f
        pattern = self.attention_patterns(tokens)  # b h t s, causal
        v = einsum(resid, self.W_V, "b t f, h d f -> b h t d")
        z = einsum(pattern, v, "b h t s, b h s d -> b h t d")
        resid_mid = resid + einsum(rearrange(z, "b h t d -> b t (h d)"), self.W_O, "b t e, f e -> b t f")
        hidden = F.relu(F.linear(resid_mid, self.W_in, self.b_in))  # b t n
        resid_post = resid_mid + F.linear(hidden, self.W_out, self.b_out)
        return resid_post @ self.W_U

    def attend_from_last(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention output at the last position (b f) and its pattern over the 3 keys (b h 3)."""
        table_in = rearrange(self.W_E, "v f -> 1 v f") + rearrange(self.W_pos, "t f -> t 1 f")  # t v f
        keys = einsum(table_in, self.W_K, "t v f, h d f -> t v h d")
        values = einsum(table_in, self.W_V, "t v f, h d f -> t v h d")
        # Row (position t, token) of the flattened t·v tables; F.embedding's backward is a fast
        # scatter-add, unlike advanced indexing's index_put under deterministic algorithms.
        rows = tokens + torch.arange(tokens.shape[1], device=tokens.device) * keys.shape[1]
        k = rearrange(F.embedding(rows, rearrange(keys, "t v h d -> (t v) (h d)")), "b t (h d) -> b h t d", h=self.n_heads)
        v = rearrange(F.embedding(rows, rearrange(values, "t v h d -> (t v) (h d)")), "b t (h d) -> b h t d", h=self.n_heads)
        q = einsum(table_in[-1][tokens[:, -1]], self.W_Q, "b f, h d f -> b h d")
        z, pattern = attention_from_last(q, k, v)
        return einsum(rearrange(z, "b h d -> b (h d)"), self.W_O, "b e, f e -> b f"), pattern

    def attention_patterns(self, tokens: torch.Tensor) -> torch.Tensor:
        """The full causal attention pattern, b h query key, for analysis (every query position)."""
        resid = self.W_E[tokens] + self.W_pos[: tokens.shape[1]]
        q = einsum(resid, self.W_Q, "b t f, h d f -> b h t d")
        k = einsum(resid, self.W_K, "b t f, h d f -> b h t d")
        scores = einsum(q, k, "b h t d, b h s d -> b h t s") / math.sqrt(q.shape[-1])
        n = tokens.shape[1]
        causal = torch.ones(n, n, dtype=torch.bool, device=tokens.device).tril()
        return scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
