"""Stage 1 components of "Scaling Down Deep Learning with MNIST-1D" (arXiv 2011.14439), Table 1.

The smallest pieces behind Table 1, each written plainly so a test can hold it against a loop:
the CNN's length arithmetic, one GRU step, the "shuffled" variant's permutation of positions,
and the two ways we score a classifier.

Shapes: b batch, t time/position (40 in MNIST-1D), i GRU input width (1: one scalar per
position), h GRU hidden width, g the three GRU gates (r, z, n), k classes.
"""
import torch
import torch.nn.functional as F
from einops import einsum, rearrange


def conv1d_output_length(L: int, k: int, s: int = 1, p: int = 0) -> int:
    """Length of a 1-D convolution's output: ⌊(L + 2p − k) / s⌋ + 1.

    L input length, k kernel size, s stride, p zero padding on each side (dilation 1, as in
    torch.nn.Conv1d's documented formula). Used by model.CNN to size its readout: the three
    convolutions of the official code take 40 → 19 → 10 → 5 positions, so 25 channels × 5
    positions = 125 features reach the linear layer (§4, Table 1).
    """
    L_out = (L + 2 * p - k) // s + 1
    if L_out < 1:
        raise ValueError(f"a kernel of {k} with stride {s} and padding {p} does not fit a length of {L}")
    return L_out


def conv1d_as_matmul(h: torch.Tensor, W: torch.Tensor, bias: torch.Tensor, s: int, p: int) -> torch.Tensor:
    """torch.nn.functional.conv1d on channels-last input, as one matrix product over the patches.

    h: b t c, W: o c k (nn.Conv1d's weight layout), bias: o → b t_out o, with
    out[b, t, o] = bias[o] + Σ_c Σ_j W[o, c, j] · h_pad[b, s·t + j, c]   (h zero-padded by p each side).
    """
    k = W.shape[-1]
    h_pad = F.pad(h, (0, 0, p, p))
    t_out = conv1d_output_length(h.shape[1], k, s, p)
    # the patches as k strided slices side by side, b t_out (k c): their backward is k slice copies,
    # where Tensor.unfold's runs a generic kernel (the 6-run CNN step 10.7 -> 8.9 ms, fwd + bwd)
    patches = torch.cat([h_pad[:, j: j + s * (t_out - 1) + 1: s] for j in range(k)], dim=-1)
    # rows (b t): one matrix product per call, also under vmap (a b t · matmul would batch over b too)
    out = torch.addmm(bias, rearrange(patches, "b t kc -> (b t) kc"), rearrange(W, "o c k -> (k c) o"))
    return rearrange(out, "(b t) o -> b t o", b=h.shape[0])


def _affine(W: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """W v + bias for a batch of vectors.  W: h j, v: b j, bias: h → b h."""
    return einsum(W, v, "h j, b j -> b h") + bias


def gru_cell(
    x_t: torch.Tensor,
    h_prev: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> torch.Tensor:
    """One GRU step (Cho et al. 2014), in the gate layout torch.nn.GRU documents and stores.

        r  = σ(W_ir x_t + b_ir + W_hr h_prev + b_hr)          reset gate
        z  = σ(W_iz x_t + b_iz + W_hz h_prev + b_hz)          update gate
        n  = tanh(W_in x_t + b_in + r ⊙ (W_hn h_prev + b_hn))  candidate state
        h_t = (1 − z) ⊙ n + z ⊙ h_prev

    x_t: b i, h_prev: b h. W_ih: (g h) i and W_hh: (g h) h stack the r, z, n rows in that
    order, as torch's weight_ih_l0 / weight_hh_l0 do; b_ih, b_hh: (g h). Returns h_t: b h.
    model.GRU (the Table 1 "GRU" column, §4) runs torch.nn.GRU, which applies exactly this
    update at every step in each direction; the tests run gru_cell over a sequence, both ways,
    against that module, so this is the recurrence written out.
    """
    # Split the stacked rows into the three gates; g = 3 is r, z, n.
    W_ir, W_iz, W_in = rearrange(W_ih, "(g h) i -> g h i", g=3)
    W_hr, W_hz, W_hn = rearrange(W_hh, "(g h) hp -> g h hp", g=3)
    b_ir, b_iz, b_in = rearrange(b_ih, "(g h) -> g h", g=3)
    b_hr, b_hz, b_hn = rearrange(b_hh, "(g h) -> g h", g=3)

    r = torch.sigmoid(_affine(W_ir, x_t, b_ir) + _affine(W_hr, h_prev, b_hr))
    z = torch.sigmoid(_affine(W_iz, x_t, b_iz) + _affine(W_hz, h_prev, b_hz))
    # r gates the hidden term after the product, r ⊙ (W_hn h + b_hn), as torch (and so the
    # official model) does; Cho et al. gate it before, W_hn (r ⊙ h). The two are not equal.
    n = torch.tanh(_affine(W_in, x_t, b_in) + r * _affine(W_hn, h_prev, b_hn))
    return (1 - z) * n + z * h_prev


def shuffle_positions(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """The "MNIST-1D (shuffled)" row of Table 1: one fixed permutation of the t positions.

    x: b t, perm: t, a permutation of 0..t−1. Output position j holds input position perm[j]
    in every row, the convention of mnist1d's `shuffle_seq` (xs[..., perm]). The same perm is
    applied to every example, train and test alike, so the information in each example is kept
    while spatial neighbourhood is destroyed — the permutation test of Zhang et al. (2017) that
    §4 uses to show CNN/GRU accuracy rests on locality while MLP/logistic accuracy does not.
    """
    t = x.shape[-1]
    if perm.shape != (t,) or not torch.equal(perm.sort().values, torch.arange(t, device=perm.device)):
        raise ValueError(f"perm must be a permutation of 0..{t - 1}; got shape {tuple(perm.shape)}")
    return x[:, perm]


def accuracy_percent(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Test accuracy in %, the unit of every cell in Table 1: 100 · mean(argmax_k logits = y).

    logits: b k, y: b (class indices). Ties go to the lowest class index (torch.argmax).
    A 0-d tensor, not a float: no `.item()` sync per step, and it runs under torch.func.vmap.
    """
    pred = logits.argmax(dim=-1)
    return 100.0 * (pred == y).double().mean()


def confusion_matrix(pred: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """C[i, j] = number of examples of true class i predicted as class j.  pred, y: b → C: k k.

    Not a Table 1 number: logged at evaluation to show *which* digits a model confuses (the
    official repository plots class-wise errors of the CNN and of human experts). Its
    trace / b · 100 is accuracy_percent.
    """
    if len(y) and (min(pred.min(), y.min()) < 0 or max(pred.max(), y.max()) >= n_classes):
        raise ValueError(f"pred and y must lie in 0..{n_classes - 1}")
    # Each (true, predicted) pair gets one flat index i·k + j; counting them fills C row by row.
    counts = torch.bincount(y * n_classes + pred, minlength=n_classes * n_classes)
    return rearrange(counts, "(i j) -> i j", i=n_classes)
