"""Grokking modular addition (arXiv 2301.05217, §3): one-layer transformer on (a + b) mod p.

One training step is one epoch: full-batch AdamW over all training pairs (§3, "full batch
gradient descent"). Evaluation on every held-out pair runs every `trainer.eval_every` epochs and
logs the progress markers the claims compare: the epoch the training set is memorised, the epoch
test accuracy jumps (grokking), and the number of key frequencies in the embedding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from workbench import ConfigError, attention_payload, fingerprint, make_optimizer, require_positive

from .components import (
    accuracy,
    cross_entropy_float64,
    embedding_frequency_norms,
    first_epoch_reaching,
    key_frequencies,
    modular_addition_split,
    tokens_and_labels,
)
from .model import OneLayerTransformer

TOKEN_NAMES = ["a", "b", "="]


class ModularAddition:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.p = require_positive("data.p", cfg.data.p)
        if self.p % 2 == 0 or self.p < 3:  # the Fourier analysis (§4) needs an odd modulus
            raise ConfigError(f"data.p={self.p} must be an odd number >= 3, e.g. the paper's data.p=113")
        frac = cfg.data.frac_train
        if not isinstance(frac, (int, float)) or isinstance(frac, bool) or not 0 < frac < 1:
            raise ConfigError(f"data.frac_train={frac} must be between 0 and 1, e.g. data.frac_train=0.3")
        train, test = modular_addition_split(self.p, float(cfg.data.frac_train), int(cfg.data.seed))
        self.x, self.y = tokens_and_labels(train, self.p)
        self.x_test, self.y_test = tokens_and_labels(test, self.p)
        self.data_fingerprint = fingerprint(self.x, self.y, self.x_test, self.y_test)
        self.model = OneLayerTransformer(self.p, require_positive("model.d_model", cfg.model.d_model),
                                         require_positive("model.n_heads", cfg.model.n_heads),
                                         require_positive("model.d_mlp", cfg.model.d_mlp))
        self.warmup = require_positive("warmup_steps", cfg.warmup_steps)
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        # (epoch, value) at every evaluation; they hold since the start of this process, so after
        # `workbench resume` the first-reach epochs count from the resumed evaluations only.
        self.train_acc_history: list[tuple[int, float]] = []
        self.test_acc_history: list[tuple[int, float]] = []

    def optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        """§3: AdamW; official code: linear warmup lr·min(step/10, 1) (the paper gives none)."""
        optimizer = make_optimizer(self.model.parameters(), self.cfg.optim)
        warmup = self.warmup
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(step / warmup, 1.0))
        return optimizer, self.scheduler

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Full batch: every step sees the whole training set, in one tensor."""
        while True:
            yield self.x, self.y

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self.model(x)
        return {"loss": cross_entropy_float64(logits, y), "acc": accuracy(logits.detach(), y)}

    @property
    def epoch(self) -> int:
        """Steps taken so far (the scheduler counts them, and is restored on resume)."""
        return self.scheduler.last_epoch if self.scheduler is not None else 0

    def evaluate(self) -> dict[str, float]:
        """Test and training loss/accuracy, and the progress markers derived from them."""
        test_logits, train_logits = self.model(self.x_test), self.model(self.x)
        test_acc, train_acc = float(accuracy(test_logits, self.y_test)), float(accuracy(train_logits, self.y))
        self.test_acc_history.append((self.epoch, test_acc))
        self.train_acc_history.append((self.epoch, train_acc))
        markers = self.cfg.markers
        return {
            "test/loss": float(cross_entropy_float64(test_logits, self.y_test)),
            "test/acc": test_acc,
            "test/grok_epoch": first_epoch_reaching(self.test_acc_history, markers.grok_test_acc),
            "trainset/loss": float(cross_entropy_float64(train_logits, self.y)),
            "trainset/acc": train_acc,
            "trainset/memorise_epoch": first_epoch_reaching(self.train_acc_history, markers.memorise_train_acc),
            "fourier/n_key_freqs": float(len(self.key_frequencies())),
        }

    def embedding_norms(self) -> torch.Tensor:
        return embedding_frequency_norms(self.model.W_E.detach()[: self.p])

    def key_frequencies(self) -> list[int]:
        return key_frequencies(self.embedding_norms(), float(self.cfg.markers.key_freq_share))

    def analysis(self) -> dict[str, Any]:
        """For the report: mean attention pattern over all p² inputs (heads × query × key), and the
        embedding's norm per Fourier frequency with the key frequencies (§4.1, Fig. 3)."""
        with torch.no_grad():
            self.model.eval()
            everything = torch.cat([self.x, self.x_test])
            maps = self.model.attention_patterns(everything).mean(dim=0)
        title = f"mean attention pattern over all {len(everything)} inputs (rows: query position, columns: key position)"
        return {
            "attention": attention_payload(title, TOKEN_NAMES, maps),
            "fourier": {"frequencies": list(range(1, len(self.embedding_norms()) + 1)),
                        "embedding_norms": self.embedding_norms().tolist(),
                        "key_frequencies": self.key_frequencies(),
                        "share": float(self.cfg.markers.key_freq_share)},
        }


def build(cfg: Any) -> ModularAddition:
    return ModularAddition(cfg)
