"""Stage 2 gate for HNN: the prototype config trains and its loss falls for both models; on
noise-free data both fit the vector field almost exactly (a model that cannot has a bug)."""

from __future__ import annotations

import pytest

from workbench import load_config, quick_fit, seed_everything

from .experiment import build


def prototype(model: str, *overrides: str):
    seed_everything(0)
    cfg = load_config("hnn", ["stage=prototype", f"model={model}", *overrides])
    return cfg, build(cfg)


@pytest.mark.parametrize("model", ["baseline", "hnn"])
def test_prototype_config_trains_and_its_loss_falls(tmp_path, model):
    cfg, experiment = prototype(model)
    summary = quick_fit(experiment, tmp_path, threads=1, **{k: cfg.trainer[k] for k in ("max_steps", "eval_every", "log_every")})
    assert summary["status"] == "completed"
    # measured 0.049-0.118 over 5 seeds x 1-2 threads
    assert summary["gate"]["last_train_loss"] < 0.25 * summary["gate"]["first_train_loss"]
    # measured 0.036-0.041 over 5 seeds x 1-2 threads
    assert summary["metrics"]["test/loss"] < 0.1  # from ~0.8 at initialisation; the noise floor is ~0.036


@pytest.mark.parametrize("model", ["baseline", "hnn"])
def test_each_model_overfits_noise_free_data(tmp_path, model):
    _, experiment = prototype(model, "data.noise_std=0.0", "data.samples=4")
    summary = quick_fit(experiment, tmp_path, max_steps=300, eval_every=300, log_every=10, threads=1)
    # measured 2.9e-6-3.5e-4 over 5 seeds x 1-2 threads
    assert summary["metrics"]["trainset/loss"] < 2e-3, summary["metrics"]
