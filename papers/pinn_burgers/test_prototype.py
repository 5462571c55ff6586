"""Stage 2 gate for PINN Burgers: the prototype config (a smaller net, 1,000 collocation points,
300 L-BFGS iterations) trains through the generic trainer and its loss falls; a tiny net fits its
N_u data points (a model that cannot has a bug)."""

from __future__ import annotations

from workbench import load_config, quick_fit, seed_everything

from .experiment import build


def prototype(*overrides: str):
    seed_everything(0)
    cfg = load_config("pinn_burgers", ["stage=prototype", *overrides])
    return cfg, build(cfg)


def test_prototype_config_trains_and_its_loss_falls(tmp_path):
    cfg, experiment = prototype()
    summary = quick_fit(experiment, tmp_path, threads=1, **{k: cfg.trainer[k] for k in ("max_steps", "eval_every", "log_every")})
    assert summary["status"] == "completed"
    assert summary["gate"]["last_train_loss"] < 0.05 * summary["gate"]["first_train_loss"]
    assert summary["metrics"]["test/rel_l2"] < 0.5  # ~1 at initialisation
    assert summary["metrics"]["optim/iterations"] > cfg.trainer.max_steps  # many L-BFGS iterations per step


def test_the_net_overfits_a_few_points(tmp_path):
    _, experiment = prototype("data.n_f=20", "data.n_u=20")
    summary = quick_fit(experiment, tmp_path, max_steps=8, eval_every=8, log_every=1, threads=1)
    assert summary["gate"]["last_train_loss"] < 3e-4, summary["gate"]  # from ~0.7; 5e-5 measured
