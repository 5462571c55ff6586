"""The bidirectional GRU of model.GRU as one autograd node: the fast path beside the readable one.

model.GRU.readable_forward writes the GRU out with ordinary tensor ops; autograd then records about
15 small ops per time step and replays twice as many backwards, and on CPU it is the per-op
overhead, not the arithmetic (about 9 MFLOP a training step), that costs. Here the forward runs
the same equations under no_grad, seven ops a step on contiguous blocks, and the backward is the
hand-written BPTT below, three ops a step: everything that does not depend on the incoming
gradient (the gate derivatives) is computed for all steps at once, before the loop, and the
weight gradients after it.

Shapes: g groups (directions, times seeds under vmap), t steps, h hidden, 3h the gates (r, z, n,
nn.GRU's row order), b batch. Every tensor the loop touches is time-major, t g · b, with the r, z
rows and the candidate's rows in separate tensors, so that a step's slice is one contiguous block
(a slice along a middle axis makes each op stride through memory: sigmoid 14 -> 37 µs), with
the batch innermost so that every elementwise op runs over 100 contiguous numbers (with hidden
units innermost, h = 6, CPU kernels fall off their vectorised path). The input size is 1
(MNIST-1D's sequence of scalars), so the input half of every gate is an outer product, computed
for all steps at once (components.gru_cell's input half):

    gx  = W_ih x_t + b_ih                             t g 3h b, before the loop
    gh  = W_hh h_prev + b_hh                          (g 3h h) @ (g h b): one batched matrix product
    r   = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z)
    n   = tanh(gx_n + r * gh_n)
    h   = (1 - z) * n + z * h_prev      computed as lerp(n, h_prev, z) = n + z (h_prev - n)

tanh(a) = 2 sigmoid(2a) - 1, because CPU sigmoid kernels are vectorised and tanh's are several
times slower; the candidate's input half is doubled when it is computed for all steps, and each
step's addcmul doubles r * gh_n, so that it computes 2a directly.

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
from einops import einsum, rearrange


class GRURecurrence(torch.autograd.Function):
    """hs: t g h b, every hidden state from h_0 = 0, given x: g t b (each group's input sequence),
    W_ih: g 3h, b_ih: g 3h, W_hh: g 3h h, b_hh: g 3h (with h_prev, the gates and the candidate rows
    of W_hh h_prev + b_hh, for backward)."""

    @staticmethod
    def forward(x: torch.Tensor, W_ih: torch.Tensor, b_ih: torch.Tensor, W_hh: torch.Tensor,
                b_hh: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g, t, b = x.shape
        hidden = W_hh.shape[-1]
        rows_rz, rows_n = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
        # gx for every step at once: t g · b. The gates r and z take b_ih + b_hh here, so that each
        # step's r, z rows are one baddbmm onto them; the candidate's b_hh stays inside r * gh_n,
        # and its input half is doubled (2a, above).
        x_t = rearrange(x, "g t b -> t g 1 b").contiguous()
        gx_rz = torch.mul(W_ih[None, :, rows_rz, None], x_t).add_((b_ih + b_hh)[None, :, rows_rz, None])
        gx_n = torch.mul(2 * W_ih[None, :, rows_n, None], x_t).add_(2 * b_ih[None, :, rows_n, None])
        W_rz, W_n = W_hh[:, rows_rz].contiguous(), W_hh[:, rows_n].contiguous()
        # baddbmm copies its bias into the output first: a contiguous one, not a broadcast, is a plain copy
        b_n = b_hh[:, rows_n, None].expand(g, hidden, b).contiguous()
        # every step writes into its slice of the outputs (out=): stacking 40 small tensors costs more.
        # H holds h_0 = 0 and every h_t: hs and h_prev are its views, no copies. gh_n keeps each step's
        # W_hn h_prev + b_hn, which backward needs.
        H, rz = x.new_empty(t + 1, g, hidden, b), x.new_empty(t, g, 2 * hidden, b)
        gh_n, n, a = x.new_empty(t, g, hidden, b), x.new_empty(t, g, hidden, b), x.new_empty(g, hidden, b)
        # each step's views, made before the loop in one call each: a view made in the loop costs a few µs
        x_rz, x_n, gh_n_t, n_t = gx_rz.unbind(0), gx_n.unbind(0), gh_n.unbind(0), n.unbind(0)
        H_t, rz_t, r_t, z_t = H.unbind(0), rz.unbind(0), rz[:, :, :hidden].unbind(0), rz[:, :, hidden:].unbind(0)
        minus_one = x.new_tensor(-1.0)  # a tensor: a Python number is wrapped at each op
        h = H_t[0].zero_()
        for step in range(t):
            torch.sigmoid_(torch.baddbmm(x_rz[step], W_rz, h, out=rz_t[step]))  # r, z: g 2h b
            torch.baddbmm(b_n, W_n, h, out=gh_n_t[step])  # gh_n
            torch.addcmul(x_n[step], r_t[step], gh_n_t[step], value=2, out=a)  # 2 (gx_n + r gh_n)
            torch.add(minus_one, torch.sigmoid(a, out=n_t[step]), alpha=2, out=n_t[step])
            h = torch.lerp(n_t[step], h, z_t[step], out=H_t[step + 1])
        return H[1:], H[:-1], rz, n, gh_n

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, ...], output: tuple[torch.Tensor, ...]) -> None:
        x, W_ih, _, W_hh, _ = inputs
        _, h_prev, rz, n, gh_n = output
        ctx.mark_non_differentiable(h_prev, rz, n, gh_n)
        ctx.save_for_backward(x, W_ih, W_hh, h_prev, rz, n, gh_n)

    @staticmethod
    def backward(ctx: Any, d_hs: torch.Tensor, *unused: Any) -> tuple[torch.Tensor | None, ...]:
        x, W_ih, W_hh, h_prev, rz, n, gh_n = ctx.saved_tensors
        t, g, hidden, b = h_prev.shape
        r, z = rz[:, :, :hidden], rz[:, :, hidden:]
        # dh -> (da_r, da_z, r da_n) per unit, for every step at once, each written into its rows: t g 3 h b
        to_gh = h_prev.new_empty(t, g, 3, hidden, b)
        one_minus_z = 1 - z
        a_n = torch.addcmul(h_prev.new_tensor(1.0), n, n, value=-1).mul_(one_minus_z)  # (1-z)(1-n^2)
        torch.mul(a_n, gh_n, out=to_gh[:, :, 0]).mul_(torch.addcmul(r, r, r, value=-1))  # ... gh_n r(1-r)
        torch.sub(h_prev, n, out=to_gh[:, :, 1]).mul_(z).mul_(one_minus_z)  # (h_prev - n) z(1-z)
        torch.mul(a_n, r, out=to_gh[:, :, 2])
        W_t = W_hh.transpose(1, 2).contiguous()  # g h 3h
        # each step's dgh lands in its slice of d_gh, and dh in dh_all; the views are made before the loop
        d_gh, dh_all = h_prev.new_empty(t, g, 3, hidden, b), torch.empty_like(h_prev)
        d_gh_t, dgh_t = d_gh.unbind(0), d_gh.view(t, g, 3 * hidden, b).unbind(0)  # g 3 h b, g 3h b
        dh_t, dh_gates_t = dh_all.unbind(0), dh_all.unsqueeze(2).unbind(0)  # g h b, g 1 h b
        to_gh_t, z_t, d_out = to_gh.unbind(0), z.unbind(0), d_hs.contiguous().unbind(0)
        dh_t[-1].copy_(d_out[-1])
        for step in range(t - 1, -1, -1):
            torch.mul(dh_gates_t[step], to_gh_t[step], out=d_gh_t[step])
            if step > 0:
                carried = torch.addcmul(d_out[step - 1], dh_t[step], z_t[step])
                torch.baddbmm(carried, W_t, dgh_t[step], out=dh_t[step - 1])
        # The weight gradients sum over steps and examples: one batched product per weight with the
        # (t b) axis innermost (MKL is several times faster with the long axis as the contraction of
        # two row-major operands), so d_gh, h_prev and the candidate's dgx are laid out g · (t b) once.
        d_gh = rearrange(d_gh, "t g three h b -> g (three h) (t b)")
        d_gx_n = rearrange(dh_all * a_n, "t g h b -> g h (t b)")  # da_n: dgx's candidate rows
        x_row = rearrange(x, "g t b -> g 1 (t b)")
        d_W_hh = torch.bmm(rearrange(h_prev, "t g h b -> g h (t b)"), d_gh.transpose(1, 2)).transpose(1, 2)
        d_W_ih = torch.cat([torch.bmm(x_row, d_gh[:, :2 * hidden].transpose(1, 2)), torch.bmm(x_row, d_gx_n.transpose(1, 2))], 2)
        d_b_ih = torch.cat([d_gh[:, :2 * hidden].sum(2), d_gx_n.sum(2)], 1)
        d_x = None
        if ctx.needs_input_grad[0]:
            d_x = einsum(torch.cat([d_gh[:, :2 * hidden], d_gx_n], 1), W_ih, "g j tb, g j -> g tb").view(g, t, b)
        return d_x, d_W_ih.squeeze(1), d_b_ih, d_W_hh, d_gh.sum(2)

    @staticmethod
    def vmap(info: Any, in_dims: tuple[int | None, ...], *inputs: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], tuple[int, ...]]:
        """v seeds of g groups each become one recurrence of v·g groups (the outputs' axis 1)."""
        v = info.batch_size
        args = [a.movedim(d, 0) if d is not None else a.expand(v, *a.shape) for a, d in zip(inputs, in_dims)]
        outputs = GRURecurrence.apply(*(a.reshape(-1, *a.shape[2:]) for a in args))
        return tuple(o.unflatten(1, (v, -1)) for o in outputs), (1,) * len(outputs)


def gru_recurrence(x: torch.Tensor, W_ih: torch.Tensor, b_ih: torch.Tensor, W_hh: torch.Tensor,
                   b_hh: torch.Tensor) -> torch.Tensor:
    """All hidden states, t g h b, of g independent GRUs with input size 1 from zero initial states,
    given x: g t b, W_ih and b_ih: g 3h, W_hh: g 3h h, b_hh: g 3h (see above)."""
    return GRURecurrence.apply(x, W_ih, b_ih, W_hh, b_hh)[0]
