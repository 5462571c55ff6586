"""ResNet on CIFAR-10, Table 6 of "Deep Residual Learning for Image Recognition" (arXiv 1512.03385).

Recipe (§4.2): SGD, momentum 0.9, weight decay 1e-4, batch 128, lr 0.1 divided by 10 at 32k and
48k iterations, stop at 64k; 45k/5k train/val split; per-pixel mean subtraction; 4-pixel pad,
random 32×32 crop and horizontal flip; single-view test on the 10k test images. One trainer step
is one iteration (one mini-batch). Pixels are scaled to [0, 1] before the mean is subtracted (the
paper does not say; with BN after the first convolution the scale does not change the function).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from workbench import ConfigError, fingerprint, make_optimizer, require_batch_fits, require_positive

from .components import error_percent, pad_crop_flip, per_pixel_mean, step_lr_factor, synthetic_images
from .data import load_cifar10
from .model import CifarResNet

N_CLASSES = 10


def load_data(data_cfg: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test), images uint8 b 3 h w, from `data.source`."""
    if data_cfg.source == "cifar10":
        x, y, x_test, y_test = load_cifar10(data_cfg.root, bool(data_cfg.download))
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(x_test), torch.from_numpy(y_test)
    if data_cfg.source == "synthetic":
        n_train = require_positive("data.n_train", data_cfg.n_train)
        images, labels = synthetic_images(n_train + require_positive("data.n_test", data_cfg.n_test),
                                          require_positive("data.size", data_cfg.size), N_CLASSES, int(data_cfg.seed))
        return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]
    raise ConfigError(f"data.source={data_cfg.source} is not one of cifar10, synthetic")


def split_validation(x: torch.Tensor, y: torch.Tensor, val_size: int, seed: int):
    """§4.2: "a 45k/5k train/val split": a seeded random `val_size` images held out of training."""
    if not 0 <= val_size < len(x):
        raise ConfigError(f"data.val_size={val_size} must be between 0 and {len(x) - 1}")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    val, train = order[:val_size], order[val_size:]
    return x[train], y[train], x[val], y[val]


class CifarClassification:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.batch_size = require_positive("batch_size", cfg.batch_size)
        x, y, self.x_test, self.y_test = load_data(cfg.data)
        self.data_fingerprint = fingerprint(x, y, self.x_test, self.y_test)
        self.x, self.y, self.x_val, self.y_val = split_validation(x, y, int(cfg.data.val_size), int(cfg.data.split_seed))
        require_batch_fits(self.batch_size, len(self.x))
        self.mean = per_pixel_mean(self.x) / 255.0  # training images only
        self.model = CifarResNet(require_positive("model.depth", cfg.model.depth), N_CLASSES)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 -> float in [0, 1], per-pixel mean subtracted (§4.2)."""
        return images.float() / 255.0 - self.mean

    def optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        optimizer = make_optimizer(self.model.parameters(), self.cfg.optim)
        schedule = self.cfg.schedule
        milestones = [int(m) for m in schedule.milestones]
        warmup, factor = int(schedule.warmup_iterations), float(schedule.warmup_factor)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda it: step_lr_factor(it, milestones, warmup, factor))
        return optimizer, scheduler

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Reshuffled every epoch and augmented, both from generators seeded by `seed`, so the
        stream is a pure function of the config (resume replays it)."""
        order_rng = torch.Generator().manual_seed(int(self.cfg.seed))
        augment_rng = torch.Generator().manual_seed(int(self.cfg.seed) + 1)
        n = len(self.x)
        while True:
            order = torch.randperm(n, generator=order_rng)
            for start in range(0, n - self.batch_size + 1, self.batch_size):  # drop the ragged tail
                index = order[start:start + self.batch_size]
                images = self.prepare(self.x[index])
                if self.cfg.data.augment:
                    images = pad_crop_flip(images, augment_rng)
                yield images, self.y[index]

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        images, labels = batch
        logits = self.model(images)
        return {"loss": F.cross_entropy(logits, labels), "err": error_percent(logits.detach(), labels)}

    def _evaluate_split(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
        device = next(self.model.parameters()).device
        eval_batch = require_positive("eval_batch_size", self.cfg.eval_batch_size)
        wrong, loss_sum = 0.0, 0.0
        for start in range(0, len(images), eval_batch):
            x = self.prepare(images[start:start + eval_batch]).to(device)
            y = labels[start:start + eval_batch].to(device)
            logits = self.model(x)
            wrong += float((logits.argmax(-1) != y).sum())
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        return 100.0 * wrong / len(images), loss_sum / len(images)

    def evaluate(self) -> dict[str, float]:
        """Table 6's metric, test error (%), on the single original view; val error when held out."""
        test_err, test_loss = self._evaluate_split(self.x_test, self.y_test)
        metrics = {"test/err": test_err, "test/loss": test_loss}
        if len(self.x_val):
            metrics["val/err"], metrics["val/loss"] = self._evaluate_split(self.x_val, self.y_val)
        return metrics


def build(cfg: Any) -> CifarClassification:
    return CifarClassification(cfg)
