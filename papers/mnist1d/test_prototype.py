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


def test_gru_fast_path_trains_as_the_readable_loop(tmp_path):
    """model.GRU's default (fast_gru.py) against its readable recurrence over 100 Adam steps in
    float32: the same maths, rounded differently, so equal to rounding; the fast path run twice
    is bit for bit the same."""
    summaries = []
    for i, fast in enumerate((True, False, True)):
        _, experiment = prototype("gru")
        experiment.model.fast = fast
        summaries.append(quick_fit(experiment, tmp_path / str(i), max_steps=100, eval_every=100, log_every=50, threads=1))
    fast, readable, again = summaries
    assert fast["metrics"] == again["metrics"] and fast["gate"] == again["gate"]
    # measured |diff| <= 3e-8 after 200 steps, 2 seeds
    for key in ("test/loss", "test/acc", "train/loss"):
        assert abs(fast["metrics"][key] - readable["metrics"][key]) < 1e-3 * max(1.0, abs(readable["metrics"][key])), key
