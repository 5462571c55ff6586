"""Stage 2 gate for ResNet on CIFAR-10: on a CPU, ResNet-20 fits 256 generated images (the loop, the
model and the optimizer can learn); the experiment runs end to end on small files in the CIFAR-10
format. The full Table 6 runs are GPU tier (`-m gpu`, needs CIFAR10_ROOT)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from workbench import load_config, quick_fit, seed_everything

from .data import FOLDER
from .experiment import build
from .test_components import write_cifar_folder


def test_resnet20_fits_a_few_hundred_generated_images(tmp_path):
    seed_everything(0)
    cfg = load_config("resnet_cifar10", ["stage=prototype", "trainer.threads=1"])
    assert cfg.data.source == "synthetic" and cfg.model.depth == 20
    experiment = build(cfg)
    summary = quick_fit(experiment, tmp_path, **{k: cfg.trainer[k] for k in ("max_steps", "eval_every", "log_every", "threads")})
    assert summary["status"] == "completed"
    gate = summary["gate"]
    # measured 7.5e-5-4.0e-4 over 5 seeds x 1-2 threads
    assert gate["last_train_loss"] < 0.1 * gate["first_train_loss"], gate
    assert summary["metrics"]["train/err"] < 2.0  # % of training images wrong, last 10 steps; measured 0.0


def test_experiment_on_cifar_format_files_splits_augments_and_evaluates(tmp_path):
    write_cifar_folder(tmp_path / FOLDER, n=40)
    seed_everything(0)
    cfg = load_config("resnet_cifar10", ["stage=reproduction", f"data.root={tmp_path}", "data.val_size=20",
                                         "batch_size=16", "eval_batch_size=16"])
    experiment = build(cfg)
    assert len(experiment.x) == 180 and len(experiment.x_val) == 20 and len(experiment.x_test) == 40
    images, labels = next(iter(experiment.train_batches()))
    assert images.shape == (16, 3, 32, 32) and labels.shape == (16,)
    assert images.dtype == torch.float32
    # mean-subtracted training images average to ~0 per pixel (augmentation moves pixels, so loose)
    assert abs(float(experiment.prepare(experiment.x).mean())) < 1e-5
    optimizer, scheduler = experiment.optimizers()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    assert optimizer.param_groups[0]["momentum"] == 0.9 and optimizer.param_groups[0]["weight_decay"] == 1e-4
    experiment.model.eval()
    with torch.no_grad():
        metrics = experiment.evaluate()
    assert set(metrics) == {"test/err", "test/loss", "val/err", "val/loss"}
    assert 0 <= metrics["test/err"] <= 100


def test_same_seed_same_batches(tmp_path):
    write_cifar_folder(tmp_path / FOLDER, n=40)
    cfg = load_config("resnet_cifar10", ["stage=reproduction", f"data.root={tmp_path}", "data.val_size=20", "batch_size=16"])
    first = [next(iter(build(cfg).train_batches())) for _ in range(2)]
    torch.testing.assert_close(first[0][0], first[1][0])
    torch.testing.assert_close(first[0][1], first[1][1])


@pytest.mark.gpu
@pytest.mark.parametrize("model", ["resnet20"])
def test_table6_reproduction_on_gpu(model, tmp_path):
    """The paper's recipe end to end through the CLI (64k iterations; about an hour for ResNet-20
    on one modern GPU). The run lands in reproductions/resnet_cifar10/runs/ for `workbench report`."""
    root = os.environ.get("CIFAR10_ROOT")
    if not root or not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU and CIFAR10_ROOT=/path/to/cifar-10-batches-py")
    repo = Path(__file__).resolve().parents[2]
    runs = repo / "reproductions" / "resnet_cifar10" / "runs" / "reproduction"
    before = set(runs.glob("*")) if runs.is_dir() else set()
    subprocess.run([sys.executable, "-m", "workbench", "run", "resnet_cifar10", "stage=reproduction",
                    f"model={model}", f"data.root={root}"], cwd=repo, check=True)
    (run_dir,) = set(runs.glob("*")) - before
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["metrics"]["test/err"] < 10.0  # Table 6: 8.75 for ResNet-20
