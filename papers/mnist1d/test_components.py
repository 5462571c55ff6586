"""Stage 1 gate for MNIST-1D (arXiv 2011.14439, Table 1): components and models against naive references.

Each numeric test compares against the plainest reference we could write (loops, torch's own
layers with copied weights, counts done by hand), never against the code under test. Numerics
run in float64 so a mismatch means a bug, not rounding.
"""
import itertools

import pytest
import torch
from einops import rearrange
from torch import nn

from .components import (
    accuracy_percent,
    confusion_matrix,
    conv1d_as_matmul,
    conv1d_output_length,
    gru_cell,
    shuffle_positions,
)
from .fast_gru import gru_recurrence
from .model import CNN, GRU, MLP, Logistic, build_model
from workbench import UserError

NAMES = ["logistic", "mlp", "cnn", "gru"]


def _models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {name: build_model(name) for name in NAMES}


# ---------------------------------------------------------------- GRU recurrence


def test_gru_cell_matches_torch_grucell():
    torch.manual_seed(0)
    b, i, h = 4, 3, 5
    ref = nn.GRUCell(i, h).double()
    x_t, h_prev = torch.randn(b, i, dtype=torch.float64), torch.randn(b, h, dtype=torch.float64)
    ours = gru_cell(x_t, h_prev, ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    torch.testing.assert_close(ours, ref(x_t, h_prev))


def test_gru_cell_matches_scalar_loop():
    """The GRU equations written out one unit at a time, with no matrix products at all."""
    torch.manual_seed(1)
    b, i, h = 2, 2, 3
    W_ih, W_hh = torch.randn(3 * h, i, dtype=torch.float64), torch.randn(3 * h, h, dtype=torch.float64)
    b_ih, b_hh = torch.randn(3 * h, dtype=torch.float64), torch.randn(3 * h, dtype=torch.float64)
    x_t, h_prev = torch.randn(b, i, dtype=torch.float64), torch.randn(b, h, dtype=torch.float64)

    def pre(gate, n, row):  # W_i· x + b_i· and W_h· h + b_h· for unit `row` of gate 0=r, 1=z, 2=n
        k = gate * h + row
        a = sum(W_ih[k, j] * x_t[n, j] for j in range(i)) + b_ih[k]
        c = sum(W_hh[k, j] * h_prev[n, j] for j in range(h)) + b_hh[k]
        return a, c

    ref = torch.empty(b, h, dtype=torch.float64)
    for n, u in itertools.product(range(b), range(h)):
        r = torch.sigmoid(sum(pre(0, n, u)))
        z = torch.sigmoid(sum(pre(1, n, u)))
        a, c = pre(2, n, u)
        cand = torch.tanh(a + r * c)
        ref[n, u] = (1 - z) * cand + z * h_prev[n, u]
    torch.testing.assert_close(gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh), ref)


def test_gru_model_recurrence_matches_cell_loop():
    """model.GRU's nn.GRU, both directions over all 40 steps, against gru_cell in a Python loop."""
    torch.manual_seed(2)
    model = GRU().double()
    g = model.gru
    b, t, h = 3, 40, model.hidden
    x = torch.randn(b, t, dtype=torch.float64)

    fwd, bwd = [None] * t, [None] * t
    state = torch.zeros(b, h, dtype=torch.float64)  # zero initial state, as GRUBase
    for s in range(t):
        state = gru_cell(x[:, s : s + 1], state, g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0)
        fwd[s] = state
    state = torch.zeros(b, h, dtype=torch.float64)
    for s in reversed(range(t)):
        state = gru_cell(
            x[:, s : s + 1],
            state,
            g.weight_ih_l0_reverse,
            g.weight_hh_l0_reverse,
            g.bias_ih_l0_reverse,
            g.bias_hh_l0_reverse,
        )
        bwd[s] = state

    o_ref = torch.stack([torch.cat([fwd[s], bwd[s]], dim=1) for s in range(t)], dim=1)  # b t 2h
    o, _ = g(x.unsqueeze(-1))
    torch.testing.assert_close(o, o_ref)

    # The readout sees every step's [forward; backward] output, time-major: 480 features.
    flat = torch.cat([o_ref[:, s, :] for s in range(t)], dim=1)
    torch.testing.assert_close(model(x), flat @ model.readout.weight.T + model.readout.bias)


def _output_and_grads(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad()
    y = model(x)
    (y.sin().sum()).backward()  # a loss whose gradient differs at every logit
    return [y.detach(), *(p.grad.clone() for p in model.parameters())]


def test_gru_fast_path_matches_the_readable_recurrence_values_and_gradients():
    """fast_gru's hand-written backward against autograd through the readable loop, float64."""
    torch.manual_seed(3)
    model = GRU(hidden=4).double()
    x = torch.randn(5, 40, dtype=torch.float64)
    model.fast = False
    readable = _output_and_grads(model, x)
    model.fast = True
    fast = _output_and_grads(model, x)
    for ours, ref in zip(fast, readable):
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


def test_conv1d_as_matmul_is_conv1d_over_strides_paddings_and_kernels():
    torch.manual_seed(5)
    for k, stride, pad in ((5, 2, 1), (3, 2, 1), (3, 1, 0), (1, 3, 2)):
        x = torch.randn(4, 3, 17, dtype=torch.float64)  # b c t
        W, bias = torch.randn(6, 3, k, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
        ours = conv1d_as_matmul(rearrange(x, "b c t -> b t c"), W, bias, stride, pad)
        torch.testing.assert_close(rearrange(ours, "b t o -> b o t"),
                                   torch.nn.functional.conv1d(x, W, bias, stride=stride, padding=pad), rtol=0, atol=1e-12)


def test_cnn_fast_path_matches_the_readable_one_values_and_gradients():
    torch.manual_seed(6)
    model = CNN().double()
    x = torch.randn(5, 40, dtype=torch.float64)
    model.fast = False
    readable = _output_and_grads(model, x)
    model.fast = True
    fast = _output_and_grads(model, x)
    for ours, ref in zip(fast, readable):
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


def test_gru_fast_recurrence_passes_gradcheck():
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)  # g t b
    W_ih, b_ih, b_hh = (torch.randn(2, 9, dtype=torch.float64, requires_grad=True) for _ in range(3))  # g 3h
    W_hh = torch.randn(2, 9, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gru_recurrence, (x, W_ih, b_ih, W_hh, b_hh))


def test_gru_fast_path_under_vmap_is_each_seed_alone():
    """Several seeds' GRUs under torch.func.vmap (trainer.vectorize_seeds), shared and per-seed inputs."""
    torch.manual_seed(4)
    models = [GRU(hidden=3).double() for _ in range(3)]
    params, _ = torch.func.stack_module_state(models)
    x = torch.randn(3, 4, 40, dtype=torch.float64)

    def one(p: dict, inputs: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(models[0], p, (inputs,))

    for x_dim, inputs in ((None, x[0]), (0, x)):
        y = torch.func.vmap(one, in_dims=(0, x_dim))(params, inputs)
        y.sin().sum().backward()
        for i, model in enumerate(models):
            ref = _output_and_grads(model, inputs if x_dim is None else inputs[i])
            torch.testing.assert_close(y[i].detach(), ref[0], rtol=0, atol=1e-12)
            for (name, _), grad in zip(model.named_parameters(), ref[1:]):
                torch.testing.assert_close(params[name].grad[i], grad, rtol=0, atol=1e-12)
        for p in params.values():
            p.grad = None


# ---------------------------------------------------------------- CNN


def test_conv1d_output_length_matches_counting_windows():
    """Count where a window of k fits in the zero-padded input, stepping by s."""
    for L, k, s, p in itertools.product([1, 5, 19, 40], [1, 3, 5], [1, 2, 3], [0, 1, 2]):
        if L + 2 * p < k:
            with pytest.raises(ValueError):
                conv1d_output_length(L, k, s, p)
            continue
        n_windows = len([start for start in range(0, L + 2 * p) if start % s == 0 and start + k <= L + 2 * p])
        assert conv1d_output_length(L, k, s, p) == n_windows, (L, k, s, p)


def test_cnn_lengths_are_40_19_10_5():
    model = CNN().double()
    h = torch.randn(2, 1, 40, dtype=torch.float64)
    lengths = [40]
    for conv in (model.conv1, model.conv2, model.conv3):
        h = conv(h)
        lengths.append(h.shape[-1])
    assert lengths == [40, 19, 10, 5]
    assert conv1d_output_length(40, 5, 2, 1) == 19
    assert conv1d_output_length(19, 3, 2, 1) == 10
    assert conv1d_output_length(10, 3, 2, 1) == 5
    assert model.readout.in_features == 25 * 5 == 125


def test_conv1d_layer_matches_dot_product_loop():
    """CNN.conv1 (k=5, s=2, p=1) and conv2 against an explicit loop of dot products."""
    torch.manual_seed(3)
    model = CNN().double()
    for conv, c_in, L in [(model.conv1, 1, 40), (model.conv2, 25, 19)]:
        x = torch.randn(2, c_in, L, dtype=torch.float64)
        k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
        zeros = torch.zeros(2, c_in, p, dtype=torch.float64)
        xp = torch.cat([zeros, x, zeros], dim=2)  # zero padding p on each side
        L_out = (L + 2 * p - k) // s + 1
        ref = torch.empty(2, conv.out_channels, L_out, dtype=torch.float64)
        for n, o, j in itertools.product(range(2), range(conv.out_channels), range(L_out)):
            acc = conv.bias[o]
            for c, m in itertools.product(range(c_in), range(k)):
                acc = acc + conv.weight[o, c, m] * xp[n, c, j * s + m]
            ref[n, o, j] = acc
        torch.testing.assert_close(conv(x), ref)


def test_cnn_forward_matches_layer_by_layer():
    """ReLU after each conv, then a channel-major flatten (c then t) into the readout."""
    torch.manual_seed(4)
    model = CNN().double()
    x = torch.randn(3, 40, dtype=torch.float64)
    h = x.reshape(3, 1, 40)
    for conv in (model.conv1, model.conv2, model.conv3):
        h = conv(h).clamp(min=0)
    flat = torch.stack([torch.stack([h[n, c, j] for c in range(25) for j in range(5)]) for n in range(3)])
    torch.testing.assert_close(model(x), flat @ model.readout.weight.T + model.readout.bias)


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("b", [1, 7])
def test_model_output_shape_and_dtype(name, b):
    model = _models()[name]
    out = model(torch.randn(b, 40))
    assert out.shape == (b, 10)
    assert out.dtype == torch.float32


def test_mlp_residual_structure():
    torch.manual_seed(5)
    model = MLP().double()
    x = torch.randn(4, 40, dtype=torch.float64)

    def affine(layer, v):  # W v + b, as a loop over output units
        return torch.stack([v @ layer.weight[u] + layer.bias[u] for u in range(layer.out_features)], dim=-1)

    h1 = affine(model.W1, x).clamp(min=0)
    h2 = h1 + affine(model.W2, h1).clamp(min=0)
    torch.testing.assert_close(model(x), affine(model.W3, h2))

    # With W2 zeroed the skip path alone remains: W3 relu(W1 x) — the residual is really there.
    with torch.no_grad():
        model.W2.weight.zero_()
        model.W2.bias.zero_()
    torch.testing.assert_close(model(x), affine(model.W3, affine(model.W1, x).clamp(min=0)))


def test_logistic_is_one_affine_map():
    torch.manual_seed(6)
    model = Logistic().double()
    x = torch.randn(3, 40, dtype=torch.float64)
    ref = torch.empty(3, 10, dtype=torch.float64)
    for n, u in itertools.product(range(3), range(10)):
        ref[n, u] = sum(x[n, j] * model.W.weight[u, j] for j in range(40)) + model.W.bias[u]
    torch.testing.assert_close(model(x), ref)


def test_parameter_counts():
    """Counted by hand from the layer sizes; the totals match the official notebook's printouts."""
    t, k = 40, 10
    linear = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731  weights + biases
    conv = lambda c_in, c_out, ks: c_in * c_out * ks + c_out  # noqa: E731
    h_gru = 6
    gru_direction = 3 * h_gru * 1 + 3 * h_gru * h_gru + 3 * h_gru + 3 * h_gru  # W_ih, W_hh, b_ih, b_hh

    expected = {
        "logistic": linear(t, k),
        "mlp": linear(t, 100) + linear(100, 100) + linear(100, k),
        "cnn": conv(1, 25, 5) + conv(25, 25, 3) + conv(25, 25, 3) + linear(25 * 5, k),
        "gru": 2 * gru_direction + linear(t * 2 * h_gru, k),
    }
    assert expected == {"logistic": 410, "mlp": 15210, "cnn": 5210, "gru": 5134}
    for name, model in _models().items():
        assert sum(p.numel() for p in model.parameters()) == expected[name], name


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name):
    model = _models()[name].double()
    torch.manual_seed(7)
    x, y = torch.randn(16, 40, dtype=torch.float64), torch.randint(0, 10, (16,))
    nn.functional.cross_entropy(model(x), y).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}.{pname} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{name}.{pname} gets an all-zero gradient"


def test_build_model_options_and_errors():
    assert isinstance(build_model("mlp", hidden=7), MLP)
    assert build_model("mlp", hidden=7).W1.out_features == 7
    assert build_model("cnn", channels=4).readout.in_features == 4 * 5
    assert build_model("gru", hidden=2).readout.in_features == 40 * 2 * 2
    assert build_model("logistic", hidden=None).W.in_features == 40  # None keeps defaults
    assert build_model(**{"name": "gru", "hidden": 6}).hidden == 6  # a conf/model/*.yaml as kwargs
    with pytest.raises(UserError, match="logistic, mlp, cnn, gru"):
        build_model("resnet")
    with pytest.raises(UserError, match="channels"):
        build_model("mlp", channels=3)


# ---------------------------------------------------------------- shuffled variant


def test_shuffle_positions_is_one_bijection_for_every_row():
    g = torch.Generator().manual_seed(42)
    perm = torch.randperm(40, generator=g)
    # Row n holds the values 100·n + position, so every output value names where it came from.
    x = torch.arange(40).repeat(5, 1) + 100 * torch.arange(5).unsqueeze(1)
    out = shuffle_positions(x, perm)

    assert sorted(perm.tolist()) == list(range(40))  # a bijection of the 40 positions
    for n in range(5):
        source = [int(v) - 100 * n for v in out[n]]
        assert source == perm.tolist()  # the same map for every row
        assert sorted(out[n].tolist()) == sorted(x[n].tolist())  # nothing lost or duplicated
        for j in range(40):
            assert out[n, j] == x[n, perm[j]]

    # Train and test rows go through the same function with the same perm, hence the same map.
    x_test = torch.randn(3, 40)
    out_test = shuffle_positions(x_test, perm)
    for n, j in itertools.product(range(3), range(40)):
        assert out_test[n, j] == x_test[n, perm[j]]


def test_shuffle_positions_rejects_non_permutations():
    x = torch.randn(2, 4)
    with pytest.raises(ValueError):
        shuffle_positions(x, torch.tensor([0, 1, 1, 3]))
    with pytest.raises(ValueError):
        shuffle_positions(x, torch.tensor([0, 1, 2]))


# ---------------------------------------------------------------- scoring


def test_accuracy_percent_matches_loop():
    torch.manual_seed(8)
    logits, y = torch.randn(50, 10, dtype=torch.float64), torch.randint(0, 10, (50,))
    hits = 0
    for n in range(50):
        best = max(range(10), key=lambda c: logits[n, c].item())
        hits += int(best == y[n].item())
    assert float(accuracy_percent(logits, y)) == pytest.approx(100.0 * hits / 50)


def test_confusion_matrix_matches_loop():
    torch.manual_seed(9)
    pred, y = torch.randint(0, 10, (200,)), torch.randint(0, 10, (200,))
    ref = torch.zeros(10, 10, dtype=torch.long)
    for p, t in zip(pred.tolist(), y.tolist()):
        ref[t, p] += 1
    C = confusion_matrix(pred, y, 10)
    assert torch.equal(C, ref)
    assert C.sum() == 200
    logits = nn.functional.one_hot(pred, 10).double()
    assert 100.0 * C.trace().item() / 200 == pytest.approx(float(accuracy_percent(logits, y)))
    with pytest.raises(ValueError):
        confusion_matrix(torch.tensor([10]), torch.tensor([0]), 10)
