"""Stage 2 gate for MNIST-1D: the prototype config trains and its loss falls; every model can
overfit one batch (a model that cannot memorise 100 examples has a bug, not a generalisation gap).
"""

from __future__ import annotations

import pytest

from workbench import load_config, quick_fit, seed_everything

from .experiment import build


def prototype(model: str, *overrides: str):
    seed_everything(0)
    cfg = load_config("mnist1d", ["stage=prototype", f"model={model}", *overrides])
    return cfg, build(cfg)


def test_prototype_config_trains_the_cnn_and_its_loss_falls(tmp_path):
    cfg, experiment = prototype("cnn")
    summary = quick_fit(experiment, tmp_path, threads=1, **{k: cfg.trainer[k] for k in ("max_steps", "eval_every", "log_every")})
    assert summary["status"] == "completed"
    assert summary["gate"]["loss_fell"]
    # measured 0.108-0.148 over 5 seeds x 1-2 threads
    assert summary["gate"]["last_train_loss"] < 0.5 * summary["gate"]["first_train_loss"]
    assert summary["metrics"]["test/acc"] > 60  # far above chance (10%) after 500 steps; measured 80.2-87.9


@pytest.mark.parametrize("model", ["mlp", "cnn", "gru"])
def test_each_model_overfits_one_batch(tmp_path, model):
    _, experiment = prototype(model)
    summary = quick_fit(experiment, tmp_path, max_steps=300, eval_every=300, log_every=10, overfit_batch=True, threads=1)
    # measured 3.7e-6-8.6e-4 over 3 models x 5 seeds x 1-2 threads
    assert summary["gate"]["last_train_loss"] < 0.05, summary["gate"]
    assert summary["metrics"]["train/acc"] == 100.0
