"""The four classifiers of Table 1 of "Scaling Down Deep Learning with MNIST-1D" (arXiv 2011.14439, §4).

Each takes x: b t (t = 40 positions, float32) and returns logits: b k (k = 10 digits).

Shapes: b batch, t time/position, c channels, h hidden units, d GRU directions (2), k classes.

The paper names the models (logistic regression, MLP, CNN, GRU) but not their sizes; those come
from the official code, github.com/greydanus/mnist1d, notebooks/models.py (LinearBase, MLPBase,
ConvBase, GRUBase), whose parameter counts — 410, 15 210, 5 210, 5 134 — ours match exactly.
Where that code departs from what the paper text says (the MLP's residual connection) it is
listed in deviations.yaml.
"""
import inspect

import torch
from einops import rearrange
from torch import nn

from .components import conv1d_as_matmul, conv1d_output_length
from .fast_gru import gru_recurrence
from workbench import ConfigError, require_positive


class Logistic(nn.Module):
    """Table 1, "Logistic regression": logits = W x + b, one affine map 40 → 10.

    Softmax and the log-likelihood live in the cross-entropy loss, so the model stops at logits.
    """

    def __init__(self, seq_len: int = 40, n_classes: int = 10):
        super().__init__()
        self.W = nn.Linear(seq_len, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: b t → b k
        return self.W(x)


class MLP(nn.Module):
    """Table 1, "MLP": two hidden layers of h = 100 ReLU units (official code, MLPBase).

        h1 = relu(W1 x)
        h2 = h1 + relu(W2 h1)     the official code's residual connection; the paper text does
                                  not mention it (deviations.yaml)
        logits = W3 h2
    """

    def __init__(self, seq_len: int = 40, n_classes: int = 10, hidden: int = 100):
        super().__init__()
        self.W1 = nn.Linear(seq_len, hidden)
        self.W2 = nn.Linear(hidden, hidden)
        self.W3 = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: b t → b k
        h1 = torch.relu(self.W1(x))  # b h
        h2 = h1 + torch.relu(self.W2(h1))  # b h
        return self.W3(h2)


class CNN(nn.Module):
    """Table 1, "CNN": three strided 1-D convolutions with ReLU, then a linear readout (ConvBase).

    conv1 1 → c channels, kernel 5, stride 2, padding 1:  t 40 → 19
    conv2 c → c,          kernel 3, stride 2, padding 1:  t 19 → 10
    conv3 c → c,          kernel 3, stride 2, padding 1:  t 10 → 5
    readout: the c × 5 = 125 features (c = 25) → 10 logits.

    Weight sharing across positions is the spatial inductive bias §4 credits for 94% (vs the
    MLP's 68%), and which the shuffled row of Table 1 takes away (56%).

    `readable_forward` calls the nn.Conv1d layers. By default (`fast = True`) the same convolutions
    run channels-last, each as one matrix product over its (channels × kernel) patches: under
    torch.func.vmap (several seeds at once) that is a batched matmul, where the convolutions become
    grouped convolutions that oneDNN runs several times below its matmul speed on CPU (the 6-run
    step 11.2 -> 8.9 ms). Same weights and parameter names; test_components
    checks the two agree.
    """

    def __init__(self, seq_len: int = 40, n_classes: int = 10, channels: int = 25):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, kernel_size=5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        # Sized from the arithmetic rather than hard-coded 125, so seq_len and channels can vary.
        t_out = seq_len
        for conv in (self.conv1, self.conv2, self.conv3):
            t_out = conv1d_output_length(t_out, conv.kernel_size[0], conv.stride[0], conv.padding[0])
        self.readout = nn.Linear(channels * t_out, n_classes)
        self.fast = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: b t → b k
        if not self.fast:
            return self.readable_forward(x)
        h = rearrange(x, "b t -> b t 1")  # channels-last: b t c
        for conv in (self.conv1, self.conv2, self.conv3):
            h = torch.relu(conv1d_as_matmul(h, conv.weight, conv.bias, conv.stride[0], conv.padding[0]))
        return self.readout(rearrange(h, "b t c -> b (c t)"))

    def readable_forward(self, x: torch.Tensor) -> torch.Tensor:  # x: b t → b k
        h = rearrange(x, "b t -> b 1 t")  # one input channel
        h = torch.relu(self.conv1(h))  # b c 19
        h = torch.relu(self.conv2(h))  # b c 10
        h = torch.relu(self.conv3(h))  # b c 5
        # Channel-major flatten, the order of the official code's h3.view(b, -1).
        return self.readout(rearrange(h, "b c t -> b (c t)"))


class GRU(nn.Module):
    """Table 1, "GRU": a bidirectional GRU with h = 6 per direction reads the 40 positions as a
    sequence of scalars, and a linear readout sees every step's output (GRUBase).

        o_t = [h_t^→ ; h_t^←]   (b t (d h), d = 2), from zero initial states
        logits = W vec(o_1 … o_t)   (40 × 12 = 480 features → 10)

    The recurrence is components.gru_cell at each step, in each direction. The weights live in an
    nn.GRU (its layout, names and initialisation, so checkpoints and parameter counts are the
    official code's), but forward writes the recurrence out, both directions at once as a batch
    of d = 2, instead of calling nn.GRU's fused kernel, so that it runs under torch.func.vmap and
    several seeds train in one process (trainer.vectorize_seeds). The input half of every gate,
    W_i· x_t + b_i·, is computed for all steps at once; only the hidden-state product is in the
    loop. `readable_forward` writes that loop (`readable_recurrence`) in plain tensor ops; by
    default (`fast = True`) the same equations run as one autograd node with a hand-written
    backward (fast_gru.py), several times faster on CPU, and the readout's columns are reordered
    to the recurrence's layout instead of the hidden states to the readout's. test_components
    checks both against gru_cell in float64.
    """

    def __init__(self, seq_len: int = 40, n_classes: int = 10, hidden: int = 6):
        super().__init__()
        self.hidden = hidden
        self.gru = nn.GRU(input_size=1, hidden_size=hidden, batch_first=True, bidirectional=True)
        self.readout = nn.Linear(seq_len * 2 * hidden, n_classes)
        self.fast = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: b t → b k
        if not self.fast:
            return self.readable_forward(x)
        W_ih, W_hh, b_ih, b_hh = self.direction_weights()
        # d t b: each direction's input sequence, the backward direction's reversed
        seq = rearrange(torch.stack([x, x.flip(1)]), "d b t -> d t b")
        hs = gru_recurrence(seq, W_ih.squeeze(-1), b_ih, W_hh, b_hh)  # t d h b, the backward direction in reversed time
        # The readout's columns put in the recurrence's order (the backward direction's in reversed
        # time), rather than the 40 x 12 hidden states of every example in the readout's order.
        W = rearrange(self.readout.weight, "k (t d h) -> d k t h", d=2, h=self.hidden)
        W = rearrange(torch.stack([W[0], W[1].flip(1)]), "d k t h -> k (t d h)")
        # logits^T = W hs: k b. MKL multiplies a transposed b x 480 operand several times slower (the
        # 5-seed vectorised step 14.7 -> 12.9 ms, benchmarks/seeds.py), so the product is taken this way round.
        return torch.addmm(self.readout.bias[:, None], W, rearrange(hs, "t d h b -> (t d h) b")).T

    def readable_forward(self, x: torch.Tensor) -> torch.Tensor:  # x: b t → b k
        W_ih, W_hh, b_ih, b_hh = self.direction_weights()
        # d 1 (t b): time-major, batch innermost; the backward direction reads x reversed
        seq = rearrange(torch.stack([x, x.flip(1)]), "d b t -> d 1 (t b)")
        # W_i· x_t + b_i· for every step at once (components.gru_cell's input half), one batched
        # outer product: d (g h) t b
        gates_x = torch.baddbmm(b_ih.unsqueeze(-1), W_ih, seq).view(*W_ih.shape[:2], *x.T.shape)
        o = self.readable_recurrence(gates_x, W_hh, b_hh)  # d h t b, the backward direction still in reversed time
        o = torch.stack([o[0], o[1].flip(1)])  # [h_t^→ ; h_t^←] at each t
        return self.readout(rearrange(o, "d h t b -> b (t d h)"))

    def direction_weights(self) -> tuple[torch.Tensor, ...]:
        """W_ih: d (g h) 1, W_hh: d (g h) h, b_ih, b_hh: d (g h); d = 2 directions, g = 3 gates
        (r, z, n, nn.GRU's row order), input size 1."""
        g = self.gru
        return (torch.stack([g.weight_ih_l0, g.weight_ih_l0_reverse]), torch.stack([g.weight_hh_l0, g.weight_hh_l0_reverse]),
                torch.stack([g.bias_ih_l0, g.bias_ih_l0_reverse]), torch.stack([g.bias_hh_l0, g.bias_hh_l0_reverse]))

    @staticmethod
    def readable_recurrence(gates_x: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
        """The hidden states d h t b from zero initial states, one step at a time (gru_cell's hidden half)."""
        d, _, steps, b = gates_x.shape
        h = gates_x.new_zeros(d, W_hh.shape[-1], b)  # d h b: zero initial states, as GRUBase
        outputs = []
        for t in range(steps):
            gates_h = torch.baddbmm(b_hh[..., None], W_hh, h)  # W_h· h_prev + b_h·: d (g h) b
            x_r, x_z, x_n = gates_x[:, :, t].chunk(3, dim=1)
            h_r, h_z, h_n = gates_h.chunk(3, dim=1)
            r = torch.sigmoid(x_r + h_r)  # reset gate
            z = torch.sigmoid(x_z + h_z)  # update gate
            n = torch.tanh(x_n + r * h_n)  # candidate state
            h = (1 - z) * n + z * h
            outputs.append(h)
        return torch.stack(outputs, dim=2)


MODELS: dict[str, type[nn.Module]] = {"logistic": Logistic, "mlp": MLP, "cnn": CNN, "gru": GRU}


def build_model(name: str, **kwargs) -> nn.Module:
    """The Table 1 model called `name` ("logistic", "mlp", "cnn", "gru").

    kwargs are the model's constructor options: seq_len (40) and n_classes (10) for all; hidden
    for mlp (100) and gru (6, per direction); channels for cnn (25) — the keys of conf/model/*.yaml,
    so build_model(**cfg.model) works. A kwarg set to None keeps the default, so one config schema
    can serve all four; an option the model does not have is an error, not silently ignored.
    """
    if name not in MODELS:
        raise ConfigError(f"model.name={name} is not a model here; choose one of {', '.join(MODELS)}, e.g. model=mlp")
    cls = MODELS[name]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(f"model {name!r} has no option {', '.join(f'model.{k}' for k in unknown)}; "
                          f"remove it (it takes {', '.join(accepted)})")
    for key in ("hidden", "channels"):
        if key in kwargs:
            require_positive(f"model.{key}", kwargs[key])
    return cls(**kwargs)
