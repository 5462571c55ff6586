"""The generic trainer on a toy regression: determinism, resume, divergence, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from workbench.errors import ConfigError, UserError
from workbench.run.seeding import seed_everything
from workbench.run.experiment import make_optimizer
from workbench.run.trainer import TrainerConfig, quick_fit
from workbench.run.checkpoints import load_checkpoint


class Crash(Exception):
    """Stands in for a machine dying mid-run."""


class Toy:
    """y = x·w; dropout makes the global torch RNG matter, so a resume must restore it."""

    def __init__(self, nan_at: int | None = None, crash_at: int | None = None) -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(256, 4, generator=g)
        self.y = self.x @ torch.randn(4, 1, generator=g)
        self.model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
        self.nan_at, self.crash_at, self.calls = nan_at, crash_at, 0

    def optimizers(self):
        opt = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.9)

    def train_batches(self):
        g = torch.Generator().manual_seed(7)
        while True:
            idx = torch.randint(0, len(self.x), (32,), generator=g)
            yield self.x[idx], self.y[idx]

    def train_step(self, batch):
        self.calls += 1
        if self.crash_at is not None and self.calls == self.crash_at:
            raise Crash
        x, y = batch
        loss = F.mse_loss(self.model(x), y)
        if self.nan_at is not None and self.calls >= self.nan_at:
            loss = loss * float("nan")
        return {"loss": loss, "abs_err": (self.model(x) - y).abs().mean()}

    def evaluate(self):
        return {"test/loss": F.mse_loss(self.model(self.x), self.y).item()}


def fit(folder: Path, experiment: Toy, resume: bool = False, **overrides) -> dict:
    options = {"max_steps": 60, "eval_every": 20, "log_every": 5, "checkpoint_every": 10, "threads": 1, **overrides}
    return quick_fit(experiment, folder, resume, **options)


def fresh_toy(**kwargs) -> Toy:
    seed_everything(0)
    return Toy(**kwargs)


def test_same_seed_gives_the_same_numbers(tmp_path):
    a = fit(tmp_path / "a", fresh_toy())
    b = fit(tmp_path / "b", fresh_toy())
    assert a["status"] == "completed"
    assert a["metrics"] == b["metrics"]
    assert a["metrics"]["test/loss"] < a["gate"]["first_train_loss"]  # ratio measured 0.030-0.047 over 5 seeds x 1-2 threads


def test_resume_after_a_crash_ends_with_identical_metrics(tmp_path):
    reference = fit(tmp_path / "ref", fresh_toy())
    with pytest.raises(Crash):
        fit(tmp_path / "run", fresh_toy(crash_at=35))  # last checkpoint: step 30
    assert load_checkpoint(tmp_path / "run" / "checkpoints")["state"]["step"] == 30
    resumed = fit(tmp_path / "run", fresh_toy(), resume=True)
    assert resumed["status"] == "completed"
    assert resumed["step"] == 60
    assert resumed["metrics"] == reference["metrics"]
    assert resumed["best"] == reference["best"]
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == (tmp_path / "ref" / "metrics.jsonl").read_text()


def test_nan_loss_ends_the_run_as_diverged(tmp_path):
    summary = fit(tmp_path, fresh_toy(nan_at=23))
    assert summary["status"] == "diverged"
    assert summary["step"] == 22
    assert "nan at step 23" in summary["message"]
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "diverged"


def test_corrupt_last_checkpoint_falls_back_to_the_previous_one(tmp_path):
    fit(tmp_path, fresh_toy(), max_steps=30)
    folder = tmp_path / "checkpoints"
    (folder / "last.pt").write_bytes(b"truncated")
    payload = load_checkpoint(folder)
    assert payload["state"]["step"] == 20
    (folder / "prev.pt").write_bytes(b"")
    with pytest.raises(UserError, match="no usable checkpoint"):
        load_checkpoint(folder)


def test_overfit_batch_drives_the_loss_down(tmp_path):
    summary = fit(tmp_path, fresh_toy(), overfit_batch=True, max_steps=300, eval_every=300)
    assert summary["gate"]["loss_fell"]
    # measured 0.036-0.058 over 5 seeds x 1-2 threads (dropout stays on)
    assert summary["gate"]["last_train_loss"] < 0.15 * summary["gate"]["first_train_loss"]


def test_metrics_file_follows_the_contract(tmp_path):
    fit(tmp_path, fresh_toy())
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["split"] == "train"]
    test = [r for r in records if r["split"] == "test"]
    assert [r["step"] for r in train] == list(range(5, 61, 5))
    assert [r["step"] for r in test] == [20, 40, 60]
    assert set(train[0]) == {"step", "split", "loss", "abs_err"}


@pytest.mark.parametrize(("key", "value"), [("max_steps", 0), ("eval_every", -5), ("log_every", 1.5), ("threads", 0)])
def test_bad_trainer_values_are_refused_by_name(key, value):
    with pytest.raises(ConfigError, match=f"trainer.{key}="):
        TrainerConfig(**{key: value})


def test_unknown_trainer_key_is_refused():
    with pytest.raises(ConfigError, match="trainer.max_stepz is not a trainer option"):
        TrainerConfig.from_dict({"max_stepz": 3})


class FullBatchLBFGS(Toy):
    """The same regression, full batch, no dropout, fitted by L-BFGS: the trainer must pass a closure."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def optimizers(self):
        return torch.optim.LBFGS(self.model.parameters(), lr=1, max_iter=5, history_size=10,
                                 line_search_fn="strong_wolfe"), None

    def train_batches(self):
        while True:
            yield self.x, self.y


def fresh_lbfgs(**kwargs) -> FullBatchLBFGS:
    seed_everything(0)
    return FullBatchLBFGS(**kwargs)


def test_lbfgs_gets_a_closure_and_matches_a_hand_written_loop(tmp_path):
    summary = fit(tmp_path, fresh_lbfgs(), max_steps=12, eval_every=12, log_every=1)
    by_hand = fresh_lbfgs()
    optimizer, _ = by_hand.optimizers()
    for _ in range(12):
        def closure():
            optimizer.zero_grad()
            loss = F.mse_loss(by_hand.model(by_hand.x), by_hand.y)
            loss.backward()
            return loss
        optimizer.step(closure)
    assert summary["status"] == "completed"
    assert summary["metrics"]["test/loss"] == by_hand.evaluate()["test/loss"]
    # ratio measured 7.2e-5-3.0e-4 over 5 seeds x 1-2 threads
    assert summary["metrics"]["test/loss"] < 1e-2 * summary["gate"]["first_train_loss"]
    assert by_hand.calls == 0 and optimizer.state[optimizer.param_groups[0]["params"][0]]["n_iter"] > 12


def test_lbfgs_resume_after_a_crash_ends_with_identical_metrics(tmp_path):
    options = {"max_steps": 12, "eval_every": 4, "log_every": 1, "checkpoint_every": 4}
    reference = fit(tmp_path / "ref", fresh_lbfgs(), **options)
    counter = fresh_lbfgs()  # how many loss evaluations the first 6 steps take
    fit(tmp_path / "count", counter, **{**options, "max_steps": 6})
    with pytest.raises(Crash):
        fit(tmp_path / "run", fresh_lbfgs(crash_at=counter.calls + 1), **options)  # dies inside step 7
    assert load_checkpoint(tmp_path / "run" / "checkpoints")["state"]["step"] == 4
    resumed = fit(tmp_path / "run", fresh_lbfgs(), resume=True, **options)
    assert resumed["status"] == "completed" and resumed["step"] == 12
    assert resumed["metrics"] == reference["metrics"]


def test_lbfgs_nan_loss_ends_the_run_as_diverged_without_touching_the_weights(tmp_path):
    experiment = fresh_lbfgs(nan_at=1)
    before = [p.detach().clone() for p in experiment.model.parameters()]
    summary = fit(tmp_path, experiment)
    assert summary["status"] == "diverged" and summary["step"] == 0
    assert all(torch.equal(a, b) for a, b in zip(before, experiment.model.parameters()))


def test_best_is_a_minimum_for_losses_errors_and_distances():
    from workbench.run.trainer import lower_is_better
    for metric in ("test/loss", "test/err", "test/rel_l2", "test/energy_mse", "val/nll"):
        assert lower_is_better(metric), metric
    for metric in ("test/acc", "test/f1", "train/bleu"):
        assert not lower_is_better(metric), metric


# ---------------------------------------------------------------- make_optimizer's kernel


def _fused_cpu_adam_available() -> bool:
    try:
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], fused=True)
    except RuntimeError:
        return False
    return True


@pytest.mark.skipif(not _fused_cpu_adam_available(), reason="this torch fuses Adam on GPUs only (before 2.4)")
@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_make_optimizer_takes_the_fused_kernel_and_keeps_every_weight_of_a_generator(name):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    optimizer = make_optimizer(model.parameters(), {"name": name, "lr": 0.1})
    assert optimizer.param_groups[0]["fused"] is True
    assert [id(p) for p in optimizer.param_groups[0]["params"]] == [id(p) for p in model.parameters()]


@pytest.mark.skipif(not _fused_cpu_adam_available(), reason="this torch fuses Adam on GPUs only (before 2.4)")
def test_a_fused_adam_step_is_the_loop_step_to_a_few_ulps_and_a_chosen_kernel_is_kept():
    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    copies = [torch.nn.Parameter(w.detach().clone()) for w in weights]
    before = [w.detach().clone() for w in weights]
    fused = make_optimizer(weights, {"name": "adam", "lr": 0.01})
    loop = make_optimizer(copies, {"name": "adam", "lr": 0.01, "foreach": False})
    assert not loop.param_groups[0]["fused"] and loop.param_groups[0]["foreach"] is False
    for _ in range(20):
        for params, optimizer in ((weights, fused), (copies, loop)):
            optimizer.zero_grad()
            sum((p.sin() ** 2).sum() for p in params).backward()
            optimizer.step()
    for ours, ref, start in zip(weights, copies, before):
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)
        assert (ours - start).abs().max() > 0.01  # 20 steps of lr 0.01 moved them


def test_make_optimizer_still_names_a_bad_option():
    with pytest.raises(ConfigError, match="optim.betas"):
        make_optimizer(torch.nn.Linear(2, 2).parameters(), {"name": "adam", "lr": 0.1, "betas": [2.0, 0.9]})


def test_configure_torch_is_deterministic_without_filling_new_tensors():
    """trainer.deterministic keeps torch's deterministic kernels, but not its NaN-filling of every
    new tensor (a debugging aid, 12% of MNIST-1D's vectorised GRU step): correct code never reads
    a tensor before writing it, so the numbers are the same."""
    from workbench.run.trainer import configure_torch

    before = torch.are_deterministic_algorithms_enabled(), torch.utils.deterministic.fill_uninitialized_memory
    try:
        torch.utils.deterministic.fill_uninitialized_memory = True
        configure_torch(TrainerConfig(deterministic=True))
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.utils.deterministic.fill_uninitialized_memory
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=True)
        torch.utils.deterministic.fill_uninitialized_memory = before[1]
