"""The GRU recurrence of model.GRU as one autograd node: the fast path beside the readable one.

model.GRU.readable_recurrence writes the recurrence out with ordinary tensor ops; autograd then
records about 15 small ops per time step and replays twice as many backwards, and on CPU it is
the per-op overhead, not the arithmetic (about 9 MFLOP a training step), that costs. Here the
forward runs the same equations under no_grad, six ops a step, and the backward is the
hand-written BPTT below, four ops a step: everything that does not depend on the incoming
gradient (the gate derivatives) is computed for all steps at once, before the loop, and the weight
gradients after it as one batched matrix product over all steps.

Shapes: g groups (directions, times seeds under vmap), t steps, b batch, h hidden, 3h the gates
(r, z, n, nn.GRU's row order); tensors are g t b ..., so that each step's slice is contiguous
memory per group. With gx = W_ih x_t + b_ih precomputed for all steps:

    gh  = W_hh h_prev + b_hh
    r   = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z)
    n   = tanh(gx_n + r * gh_n)
    h   = (1 - z) * n + z * h_prev      computed as lerp(n, h_prev, z) = n + z (h_prev - n)

Backward, with dh the gradient reaching h at step t (from the output and from step t + 1):

    da_r = dh * r(1-r) gh_n (1-z)(1-n^2)   da_z = dh * z(1-z)(h_prev - n)   da_n = dh * (1-z)(1-n^2)
    dgx  = [da_r, da_z, da_n]               dgh  = [da_r, da_z, r da_n]
    dh_prev = dh * z + dgh W_hh

Under torch.func.vmap (several seeds at once) the vmap rule folds the seeds into g, so the
seeds' recurrences run as one batch instead of op by op. test_components checks this path
against the readable one and against components.gru_cell in float64, values and gradients.
"""

from __future__ import annotations

from typing import Any

import torch


class GRURecurrence(torch.autograd.Function):
    """hs: g t b h, all hidden states from h_0 = 0, given gx: g t b 3h, W_hh: g 3h h, b_hh: g 3h.

    The elementwise products pair tensors of the same shape: broadcasting a dimension of 6 units
    over 3 gates takes CPU kernels off their fast path, so dh is repeated over the gates instead.
    """

    @staticmethod
    def forward(gx: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g, t, b, three_h = gx.shape
        hidden = three_h // 3
        W_t = W_hh.transpose(1, 2)  # g h 3h
        bias = b_hh.unsqueeze(1)  # g 1 3h
        h = gx.new_zeros(g, b, hidden)
        hs, rzs, ns, ghns = [], [], [], []
        for step in range(t):
            x_step = gx[:, step]
            gh = torch.baddbmm(bias, h, W_t)  # g b 3h
            rz = torch.sigmoid(x_step[..., :2 * hidden] + gh[..., :2 * hidden])
            gh_n = gh[..., 2 * hidden:]
            n = torch.tanh(torch.addcmul(x_step[..., 2 * hidden:], rz[..., :hidden], gh_n))
            h = torch.lerp(n, h, rz[..., hidden:])
            hs.append(h)
            rzs.append(rz)
            ns.append(n)
            ghns.append(gh_n)
        return tuple(torch.stack(seq, 1) for seq in (hs, rzs, ns, ghns))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, ...], output: tuple[torch.Tensor, ...]) -> None:
        _, W_hh, _ = inputs
        hs, rz, n, gh_n = output
        ctx.mark_non_differentiable(rz, n, gh_n)
        ctx.save_for_backward(W_hh, hs, rz, n, gh_n)

    @staticmethod
    def backward(ctx: Any, d_hs: torch.Tensor, *unused: Any) -> tuple[torch.Tensor, ...]:
        W_hh, hs, rz, n, gh_n = ctx.saved_tensors
        g, t, b, hidden = hs.shape
        d_hs = d_hs.contiguous()
        h_prev = torch.cat([hs.new_zeros(g, 1, b, hidden), hs[:, :-1]], dim=1)
        r, z = rz[..., :hidden], rz[..., hidden:].contiguous()
        # dh -> (da_r, da_z, da_n) per unit, for every step at once: g t b 3h
        a_n = (1 - z) * (1 - n * n)
        a_r = a_n * gh_n * r * (1 - r)
        a_z = (h_prev - n) * z * (1 - z)
        to_gx = torch.cat([a_r, a_z, a_n], dim=-1)
        to_gh = torch.cat([a_r, a_z, a_n * r], dim=-1)
        dh = d_hs[:, -1]
        dhs = [dh]
        for step in range(t - 1, 0, -1):
            dgh = dh.repeat(1, 1, 3) * to_gh[:, step]  # g b 3h
            dh = torch.baddbmm(torch.addcmul(d_hs[:, step - 1], dh, z[:, step]), dgh, W_hh)
            dhs.append(dh)
        dh_all = torch.stack(dhs[::-1], dim=1).repeat(1, 1, 1, 3)  # g t b 3h
        d_gx = dh_all * to_gx
        d_gh = dh_all * to_gh
        d_W_hh = torch.bmm(d_gh.reshape(g, t * b, 3 * hidden).transpose(1, 2), h_prev.reshape(g, t * b, hidden))
        return d_gx, d_W_hh, d_gh.sum((1, 2))

    @staticmethod
    def vmap(info: Any, in_dims: tuple[int | None, ...], gx: torch.Tensor, W_hh: torch.Tensor,
             b_hh: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], tuple[int, ...]]:
        """v seeds of g groups each become one recurrence of v·g groups."""
        v = info.batch_size
        args = [a.movedim(d, 0) if d is not None else a.expand(v, *a.shape) for a, d in zip((gx, W_hh, b_hh), in_dims)]
        outputs = GRURecurrence.apply(*(a.reshape(-1, *a.shape[2:]) for a in args))
        return tuple(o.reshape(v, -1, *o.shape[1:]) for o in outputs), (0, 0, 0, 0)


def gru_recurrence(gx: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """All hidden states, g t b h, of g independent GRUs from zero initial states (see above)."""
    return GRURecurrence.apply(gx, W_hh, b_hh)[0]
