"""Capture attention weights with forward hooks, for the report's attention maps.

A paper's `analysis()` runs its model on a few inputs inside `capture_attention` and writes what
it caught under analysis.json's "attention" key, which the report draws as one heatmap per head:

    with capture_attention(model) as maps:          # hooks every nn.MultiheadAttention
        model(tokens)
    weights = maps.first()                          # h n m of the first captured call, batch item 0
    return {"attention": attention_payload("layer 0, a + b =", token_names, weights)}

Shapes: b batch, h heads, n query positions, m key positions.
A module of the paper's own (not nn.MultiheadAttention) is captured when its forward returns a
tuple whose second item is the weights (b h n m or b n m), or when `capture_attention` is given
`weights_of=` to pull them from its output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from einops import rearrange
from torch import nn

WeightsOf = Callable[[nn.Module, tuple, Any], torch.Tensor | None]


@dataclass
class AttentionMaps:
    """What the hooks caught: (module name, weights b h n m) per call, in call order."""

    calls: list[tuple[str, torch.Tensor]] = field(default_factory=list)

    def first(self, module: str | None = None, item: int = 0) -> torch.Tensor:
        """h n m weights of the first call (of `module`, when named) for batch item `item`."""
        for name, weights in self.calls:
            if module is None or name == module:
                return weights[item]
        where = f" from module {module!r}" if module else ""
        raise LookupError(f"no attention weights were captured{where}; run the model inside capture_attention")


def _default_weights(module: nn.Module, inputs: tuple, output: Any) -> torch.Tensor | None:
    if isinstance(output, tuple) and len(output) > 1 and isinstance(output[1], torch.Tensor):
        return output[1]
    return None


def _as_bhnm(weights: torch.Tensor) -> torch.Tensor:
    """b n m (heads averaged, as nn.MultiheadAttention gives by default) becomes b 1 n m."""
    if weights.dim() == 3:
        return rearrange(weights, "b n m -> b 1 n m")
    if weights.dim() != 4:
        raise ValueError(f"attention weights must be b h n m or b n m, got shape {tuple(weights.shape)}")
    return weights


@contextlib.contextmanager
def capture_attention(
    model: nn.Module,
    modules: Sequence[str] | None = None,
    weights_of: WeightsOf | None = None,
) -> Iterator[AttentionMaps]:
    """Hook attention modules of `model` while the block runs; the hooks are removed after it.

    modules: names from `model.named_modules()` to hook; by default every nn.MultiheadAttention.
    nn.MultiheadAttention only returns weights when asked, so it is called with
    need_weights=True, average_attn_weights=False for the duration (per-head maps).
    """
    maps = AttentionMaps()
    named = dict(model.named_modules())
    if modules is None:
        chosen = [name for name, m in named.items() if isinstance(m, nn.MultiheadAttention)]
    else:
        unknown = [name for name in modules if name not in named]
        if unknown:
            raise KeyError(f"no module named {unknown[0]!r} in the model; names come from model.named_modules()")
        chosen = list(modules)
    extract = weights_of or _default_weights
    handles = []
    for name in chosen:
        module = named[name]
        if isinstance(module, nn.MultiheadAttention):
            handles.append(module.register_forward_pre_hook(_ask_for_weights, with_kwargs=True))
        handles.append(module.register_forward_hook(_recorder(name, maps, extract)))
    try:
        yield maps
    finally:
        for handle in handles:
            handle.remove()


# nn.MultiheadAttention.forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights)
_NEED_WEIGHTS_AT, _AVERAGE_AT = 4, 6


def _ask_for_weights(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Per-head weights, whether the caller passed these two flags by keyword or by position."""
    args = list(args)
    for index, name, value in ((_NEED_WEIGHTS_AT, "need_weights", True), (_AVERAGE_AT, "average_attn_weights", False)):
        if len(args) > index:
            args[index] = value
        else:
            kwargs = {**kwargs, name: value}
    return tuple(args), kwargs


def _recorder(name: str, maps: AttentionMaps, extract: WeightsOf):
    def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
        weights = extract(module, inputs, output)
        if weights is not None:
            maps.calls.append((name, _as_bhnm(weights.detach().float().cpu())))
    return hook


def attention_payload(title: str, tokens: Sequence[str], weights: torch.Tensor) -> dict[str, Any]:
    """analysis.json's "attention" value: {"title", "tokens", "maps": heads × query × key}."""
    if weights.dim() == 2:
        weights = rearrange(weights, "n m -> 1 n m")
    if weights.dim() != 3:
        raise ValueError(f"weights must be h n m (one batch item), got shape {tuple(weights.shape)}")
    h, n, m = weights.shape
    if len(tokens) != m:
        raise ValueError(f"{len(tokens)} token names for {m} key positions")
    return {"title": title, "tokens": [str(t) for t in tokens], "maps": weights.tolist()}
