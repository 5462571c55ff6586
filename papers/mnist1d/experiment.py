"""MNIST-1D Table 1 (arXiv 2011.14439, §4): train one classifier on one data variant.

Data: mnist1d.make_dataset with the Table 2 defaults (4000 train / 1000 test, length 40).
Recipe: the official code's (notebooks/train.py), since §4 only says "Adam ... and early
stopping": Adam lr 1e-2, batch 100, batches taken in order through the training set.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import torch
import torch.nn.functional as F

from workbench import ConfigError, cached_arrays, fingerprint, make_optimizer, preserve_rng, require_batch_fits, require_positive

from .components import accuracy_percent, confusion_matrix
from .model import build_model

N_CLASSES = 10


@lru_cache(maxsize=4)
def load_mnist1d(shuffle_seq: bool, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, x_test, y_test), made once per machine by make_dataset and then read from workbench's
    data cache: making it takes seconds, and importing mnist1d (which imports pyplot) another few,
    in every process. The package version fixes the other arguments (get_dataset_args' defaults).
    make_dataset reseeds numpy's global RNG, so it runs isolated."""

    def build() -> dict:
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        args.shuffle_seq = shuffle_seq
        args.seed = seed
        with preserve_rng():
            made = make_dataset(args)
        return {k: made[k] for k in ("x", "y", "x_test", "y_test")}

    key = {"mnist1d": version("mnist1d"), "shuffle_seq": shuffle_seq, "seed": seed}
    data = cached_arrays("mnist1d", key, build)
    return (
        torch.tensor(data["x"], dtype=torch.float32),
        torch.tensor(data["y"], dtype=torch.long),
        torch.tensor(data["x_test"], dtype=torch.float32),
        torch.tensor(data["y_test"], dtype=torch.long),
    )


class MNIST1DClassification:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.batch_size = require_positive("batch_size", cfg.batch_size)
        if not isinstance(cfg.data.shuffle_seq, bool):
            raise ConfigError(f"data.shuffle_seq={cfg.data.shuffle_seq} must be true or false")
        data_seed = cfg.data.seed
        if not isinstance(data_seed, int) or isinstance(data_seed, bool) or not 0 <= data_seed < 2**32:
            raise ConfigError(f"data.seed={data_seed} must be an integer in [0, 2**32)")  # numpy's seed range
        self.x, self.y, self.x_test, self.y_test = load_mnist1d(cfg.data.shuffle_seq, data_seed)
        self.data_fingerprint = fingerprint(self.x, self.y, self.x_test, self.y_test)
        require_batch_fits(self.batch_size, len(self.x))
        model_options = {k: v for k, v in cfg.model.items() if k != "name"}
        self.model = build_model(cfg.model.name, seq_len=self.x.shape[1], n_classes=N_CLASSES, **model_options)

    def optimizers(self) -> tuple[torch.optim.Optimizer, None]:
        return make_optimizer(self.model.parameters(), self.cfg.optim), None

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Official code: batch i is rows [i·B, (i+1)·B) modulo the training set, no shuffling."""
        n, step = len(self.x), 0
        while True:
            start = (step * self.batch_size) % n
            yield self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
            step += 1

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self.model(x)
        return {"loss": F.cross_entropy(logits, y), "acc": accuracy_percent(logits.detach(), y)}

    def evaluate(self) -> dict[str, float]:
        """Test loss and accuracy (Table 1's metric), and accuracy on the whole training set."""
        test_logits = self.model(self.x_test)
        train_logits = self.model(self.x)
        return {
            "test/acc": float(accuracy_percent(test_logits, self.y_test)),
            "test/loss": float(F.cross_entropy(test_logits, self.y_test)),
            "trainset/acc": float(accuracy_percent(train_logits, self.y)),
        }

    def analysis(self) -> dict[str, Any]:
        """Error analysis for the report: the test-set confusion matrix (rows: true class)."""
        with torch.no_grad():
            self.model.eval()
            pred = self.model(self.x_test).argmax(-1)
        matrix = confusion_matrix(pred, self.y_test, N_CLASSES)
        return {"split": "test", "class_names": [str(c) for c in range(N_CLASSES)],
                "confusion_matrix": matrix.tolist()}


def build(cfg: Any) -> MNIST1DClassification:
    return MNIST1DClassification(cfg)
