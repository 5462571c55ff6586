"""The GRU recurrence of model.GRU as one autograd node: the fast path beside the readable one.

model.GRU.readable_recurrence writes the recurrence out with ordinary tensor ops; autograd then
records about 15 small ops per time step and replays twice as many backwards, and on CPU it is
the per-op overhead, not the arithmetic (about 9 MFLOP a training step), that costs. Here the
forward runs the same equations under no_grad, four ops a step, and the backward is the
hand-written BPTT below, three ops a step: everything that does not depend on the incoming
gradient (the gate derivatives) is computed for all steps at once, before the loop, and the weight
gradients after it as one batched matrix product over all steps.

Shapes: g groups (directions, times seeds under vmap), t steps, h hidden, 3h the gates (r, z, n,
nn.GRU's row order), b batch; tensors are g (3h) t b: batch innermost, so that every elementwise
op runs over 100 contiguous numbers and a gate is a slice of rows (with hidden units innermost,
h = 6, CPU kernels fall off their vectorised path: a gate slice, a broadcast over gates or a
repeat then costs several times the arithmetic). With gx = W_ih x_t + b_ih precomputed for all steps:

    gh  = W_hh h_prev + b_hh                          (g 3h h) @ (g h b): one batched matrix product
    r   = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z)
    n   = tanh(gx_n + r * gh_n)
    h   = (1 - z) * n + z * h_prev      computed as lerp(n, h_prev, z) = n + z (h_prev - n)

Backward, with dh the gradient reaching h at step t (from the output and from step t + 1):

    da_r = dh * r(1-r) gh_n (1-z)(1-n^2)   da_z = dh * z(1-z)(h_prev - n)   da_n = dh * (1-z)(1-n^2)
    dgx  = [da_r, da_z, da_n]               dgh  = [da_r, da_z, r da_n]
    dh_prev = dh * z + W_hh^T dgh

Under torch.func.vmap (several seeds at once) the vmap rule folds the seeds into g, so the
seeds' recurrences run as one batch instead of op by op. test_components checks this path
against the readable one and against components.gru_cell in float64, values and gradients.
"""

from __future__ import annotations

from typing import Any

import torch
from einops import rearrange


class GRURecurrence(torch.autograd.Function):
    """hs: g h t b, all hidden states from h_0 = 0, given gx: g 3h t b, W_hh: g 3h h, b_hh: g 3h (with
    h_prev, the gates and W_hh h_prev + b_hh's candidate rows, for backward)."""

    @staticmethod
    def forward(gx: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g, three_h, t, b = gx.shape
        hidden = three_h // 3
        bias = b_hh.unsqueeze(-1)  # g 3h 1
        # every step writes into its slice of the outputs (out=): stacking 40 small tensors costs more.
        # H holds h_0 = 0 and every h_t: hs and h_prev are its views, no copies. gh, time-major, keeps each
        # step's W_hh h_prev + b_hh (its n rows are what backward needs).
        H, rz, n = (gx.new_empty(g, rows, t + extra, b) for rows, extra in ((hidden, 1), (2 * hidden, 0), (hidden, 0)))
        gh = gx.new_empty(t, g, three_h, b)
        # each step's views, made before the loop in one call each: a view made in the loop costs a few µs
        x_rz, x_n = gx[:, :2 * hidden].unbind(2), gx[:, 2 * hidden:].unbind(2)  # g · b
        gh_t, gh_rz, gh_n = gh.unbind(0), gh[:, :, :2 * hidden].unbind(0), gh[:, :, 2 * hidden:].unbind(0)
        H_t, rz_t, r_t, z_t, n_t = H.unbind(2), rz.unbind(2), rz[:, :hidden].unbind(2), rz[:, hidden:].unbind(2), n.unbind(2)
        two, minus_one = gx.new_tensor(2.0), gx.new_tensor(-1.0)  # tensors: a Python number is wrapped at each op
        h = H_t[0].zero_()
        for step in range(t):
            torch.baddbmm(bias, W_hh, h, out=gh_t[step])  # g 3h b
            torch.sigmoid(gh_rz[step].add_(x_rz[step]), out=rz_t[step])
            # tanh(a) = 2 sigmoid(2a) - 1: CPU sigmoid kernels are vectorised, tanh's several times slower
            a = torch.addcmul(x_n[step], r_t[step], gh_n[step]).mul_(two)
            torch.add(minus_one, torch.sigmoid(a, out=n_t[step]), alpha=2, out=n_t[step])
            h = torch.lerp(n_t[step], h, z_t[step], out=H_t[step + 1])
        return H[:, :, 1:], H[:, :, :-1], rz, n, rearrange(gh[:, :, 2 * hidden:], "t g h b -> g h t b")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, ...], output: tuple[torch.Tensor, ...]) -> None:
        _, W_hh, _ = inputs
        _, h_prev, rz, n, gh_n = output
        ctx.mark_non_differentiable(h_prev, rz, n, gh_n)
        ctx.save_for_backward(W_hh, h_prev, rz, n, gh_n)

    @staticmethod
    def backward(ctx: Any, d_hs: torch.Tensor, *unused: Any) -> tuple[torch.Tensor, ...]:
        W_hh, h_prev, rz, n, gh_n = ctx.saved_tensors
        g, hidden, t, b = h_prev.shape
        r, z = rz[:, :hidden], rz[:, hidden:]
        # dh -> (da_r, da_z, r da_n) per unit, for every step at once, each written into its rows: g 3 h t b
        to_gh = h_prev.new_empty(g, 3, hidden, t, b)
        one_minus_z = 1 - z
        a_n = torch.addcmul(h_prev.new_tensor(1.0), n, n, value=-1).mul_(one_minus_z)  # (1-z)(1-n^2)
        torch.mul(a_n, gh_n, out=to_gh[:, 0]).mul_(torch.addcmul(r, r, r, value=-1))  # ... gh_n r(1-r)
        torch.sub(h_prev, n, out=to_gh[:, 1]).mul_(z).mul_(one_minus_z)  # (h_prev - n) z(1-z)
        torch.mul(a_n, r, out=to_gh[:, 2])
        W_t = W_hh.transpose(1, 2).contiguous()  # g h 3h
        # each step's dgh lands in its slice of d_gh, and dh in dh_all; the views are made before the loop
        d_gh, dh_all = h_prev.new_empty(g, 3, hidden, t, b), torch.empty_like(h_prev)
        d_gh_t, dgh_t = d_gh.unbind(3), d_gh.view(g, 3 * hidden, t, b).unbind(2)  # g 3 h b, g 3h b
        dh_t, dh_gates_t = dh_all.unbind(2), dh_all.unsqueeze(1).unbind(3)  # g h b, g 1 h b
        to_gh_t, z_t, d_out = to_gh.unbind(3), z.unbind(2), d_hs.unbind(2)
        dh_t[-1].copy_(d_out[-1])
        for step in range(t - 1, -1, -1):
            torch.mul(dh_gates_t[step], to_gh_t[step], out=d_gh_t[step])
            if step > 0:
                carried = torch.addcmul(d_out[step - 1], dh_t[step], z_t[step])
                torch.baddbmm(carried, W_t, dgh_t[step], out=dh_t[step - 1])
        d_gh = d_gh.view(g, 3 * hidden, t, b)
        # dgx = dgh but for the candidate's rows, where r does not multiply: [da_r, da_z, da_n]
        d_gx = torch.cat([d_gh[:, :2 * hidden], dh_all * a_n], dim=1)
        d_W_hh = torch.bmm(d_gh.view(g, 3 * hidden, t * b), h_prev.reshape(g, hidden, t * b).transpose(1, 2))
        return d_gx, d_W_hh, d_gh.sum((2, 3))

    @staticmethod
    def vmap(info: Any, in_dims: tuple[int | None, ...], gx: torch.Tensor, W_hh: torch.Tensor,
             b_hh: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], tuple[int, ...]]:
        """v seeds of g groups each become one recurrence of v·g groups."""
        v = info.batch_size
        args = [a.movedim(d, 0) if d is not None else a.expand(v, *a.shape) for a, d in zip((gx, W_hh, b_hh), in_dims)]
        outputs = GRURecurrence.apply(*(a.reshape(-1, *a.shape[2:]) for a in args))
        return tuple(o.reshape(v, -1, *o.shape[1:]) for o in outputs), (0, 0, 0, 0, 0)


def gru_recurrence(gx: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """All hidden states, g h t b, of g independent GRUs from zero initial states (see above)."""
    return GRURecurrence.apply(gx, W_hh, b_hh)[0]
