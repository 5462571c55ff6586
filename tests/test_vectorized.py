"""Vectorised seeds: N seeds in one process give each seed the run it would get alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from workbench.tracking.logger import RunLogger
from workbench.run.seeding import rng_state, seed_everything
from workbench.run.trainer import Trainer, TrainerConfig
from workbench.run.checkpoints import load_checkpoint
from workbench.run.launch import Member, seed_job
from workbench.run.vectorized import SeedRun, VectorizedFit, stack_batches, why_not_vectorised

from conftest import run_dirs, summary, workbench


class Toy:
    """Regression with a seed-dependent data order, AdamW + weight decay + a step schedule."""

    def __init__(self, seed: int, model: nn.Module | None = None, optimizer: str = "adamw") -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(256, 4, generator=g)
        self.y = self.x @ torch.randn(4, 1, generator=g)
        self.seed, self.kind = seed, optimizer
        self.model = model or nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def optimizers(self):
        if self.kind == "lbfgs":
            return torch.optim.LBFGS(self.model.parameters()), None
        opt = torch.optim.AdamW(self.model.parameters(), lr=3e-2, weight_decay=0.1)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.7)

    def train_batches(self):
        g = torch.Generator().manual_seed(1000 + self.seed)  # each seed its own order
        while True:
            idx = torch.randint(0, len(self.x), (32,), generator=g)
            yield self.x[idx], self.y[idx]

    def train_step(self, batch):
        x, y = batch
        pred = self.model(x)
        return {"loss": F.mse_loss(pred, y), "abs_err": (pred - y).abs().mean()}

    def evaluate(self):
        return {"test/loss": F.mse_loss(self.model(self.x), self.y).item()}


CFG = dict(max_steps=40, eval_every=20, log_every=5, checkpoint_every=20, grad_clip=0.5, progress=False)


def logger(folder):
    return RunLogger(folder, {"console": False, "wandb": None}, name="t", group="t", job_type="test", config={})


def alone(tmp_path, seed):
    seed_everything(seed)
    toy = Toy(seed)
    log = logger(tmp_path / f"alone{seed}")
    result = Trainer(TrainerConfig(**CFG), log, tmp_path / f"alone{seed}" / "checkpoints").fit(toy)
    log.close(result.summary())
    return result, toy


def seed_runs(tmp_path, seeds, **toy_options):
    runs = []
    for seed in seeds:
        seed_everything(seed)
        toy = Toy(seed, **toy_options)
        runs.append(SeedRun(seed, {}, [], toy, toy.optimizers()[0], rng_state()))
    return runs


def test_vectorised_seeds_match_separate_runs_with_clipping_weight_decay_and_schedule(tmp_path):
    cfg = TrainerConfig(**CFG)
    runs = seed_runs(tmp_path, [0, 1, 2])
    assert why_not_vectorised(runs, cfg) is None
    for run in runs:
        run.logger = logger(tmp_path / f"vec{run.seed}")
        run.trainer = Trainer(cfg, run.logger, tmp_path / f"vec{run.seed}" / "checkpoints")
    results = VectorizedFit(cfg, runs).fit()
    for run, result in zip(runs, results):
        reference, toy = alone(tmp_path, run.seed)
        assert result.status == "completed" and result.state.step == 40
        # vmap vs separate runs, 8 seeds x 1-2 threads: losses within 2.1e-8, parameters 1.6e-7, optimizer state 3e-8
        assert abs(result.state.last_train["loss"] - reference.state.last_train["loss"]) < 1e-5
        assert abs(result.state.last_eval["test/loss"] - reference.state.last_eval["test/loss"]) < 1e-5
        for ours, theirs in zip(run.experiment.model.parameters(), toy.model.parameters()):
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
        # The checkpoint is the one the ordinary trainer writes, so `workbench resume` continues it.
        mine = load_checkpoint(tmp_path / f"vec{run.seed}" / "checkpoints")
        ordinary = load_checkpoint(tmp_path / f"alone{run.seed}" / "checkpoints")
        assert mine["state"]["step"] == ordinary["state"]["step"] == 40
        assert mine["scheduler"] == ordinary["scheduler"]
        assert mine["optimizer"]["param_groups"] == ordinary["optimizer"]["param_groups"]
        for i, state in ordinary["optimizer"]["state"].items():
            for key, value in state.items():
                torch.testing.assert_close(mine["optimizer"]["state"][i][key], value, atol=1e-5, rtol=0)
        torch.testing.assert_close(mine["rng"]["torch"], ordinary["rng"]["torch"])


def test_a_killed_vectorised_seed_resumes_with_the_ordinary_trainer_to_rounding(tmp_path):
    """The real bound of resuming a vectorised run (README): after its last checkpoint the seed
    continues with the ordinary one-seed trainer, so the rest of the run rounds as the seed's
    plain run does, not as the batched kernels did: equal to rounding, not bit for bit."""
    cfg = TrainerConfig(**CFG)
    whole = seed_runs(tmp_path, [0, 1])
    killed = seed_runs(tmp_path, [0, 1])
    for name, runs, steps in (("whole", whole, 40), ("killed", killed, 20)):
        for run in runs:
            run.logger = logger(tmp_path / f"{name}{run.seed}")
            run.trainer = Trainer(TrainerConfig(**{**CFG, "max_steps": steps}), run.logger,
                                  tmp_path / f"{name}{run.seed}" / "checkpoints")
        VectorizedFit(TrainerConfig(**{**CFG, "max_steps": steps}), runs).fit()
    for uninterrupted, run in zip(whole, killed):
        seed_everything(run.seed)  # what `workbench resume` does: build the experiment afresh, load last.pt
        toy = Toy(run.seed)
        resumed = Trainer(cfg, logger(tmp_path / f"killed{run.seed}"), tmp_path / f"killed{run.seed}" / "checkpoints").fit(
            toy, resume=True)
        assert resumed.status == "completed" and resumed.state.step == 40
        assert resumed.state.first_train_loss == uninterrupted.state.first_train_loss  # the vectorised half, kept
        assert abs(resumed.state.last_train["loss"] - uninterrupted.state.last_train["loss"]) < 1e-5
        assert abs(resumed.state.last_eval["test/loss"] - uninterrupted.state.last_eval["test/loss"]) < 1e-5
        for ours, theirs in zip(toy.model.parameters(), uninterrupted.experiment.model.parameters()):
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_models_that_cannot_be_vectorised_say_why():
    cfg = TrainerConfig(**CFG)
    gru = nn.Sequential(nn.GRU(4, 3))
    assert "0 calls nn.GRU, a fused RNN kernel" in why_not_vectorised(seed_runs(None, [0, 1], model=gru), cfg)
    bn = nn.Sequential(nn.Linear(4, 1), nn.BatchNorm1d(1))
    assert "BatchNorm" in why_not_vectorised(seed_runs(None, [0, 1], model=bn), cfg)
    dropout = nn.Sequential(nn.Linear(4, 1), nn.Dropout(0.5))
    assert "vmap" in why_not_vectorised(seed_runs(None, [0, 1], model=dropout), cfg)
    assert "LBFGS" in why_not_vectorised(seed_runs(None, [0, 1], optimizer="lbfgs"), cfg)


def test_shared_tensors_are_passed_once_and_different_ones_stacked():
    x = torch.arange(6.0).reshape(3, 2)
    batch, dims = stack_batches([(x[0:2], x[1:3]), (x[0:2], x[0:2])])
    assert dims == (None, 0)
    assert batch[0].shape == (2, 2) and batch[1].shape == (2, 2, 2)


def test_seed_job_is_the_ordinary_run_of_that_seed():
    job = seed_job(Member({"seed": 0, "seeds": 3, "x": 1}, {"model": "mlp"}, ["seeds=3", "model=mlp", "seed=0"]), 2)
    assert job.config == {"seed": 2, "seeds": 1, "x": 1}
    assert job.overrides == ["model=mlp", "seed=2"] and job.choices == {"model": "mlp"}


RUN = ["run", "mnist1d", "model=mlp", "trainer.max_steps=60", "trainer.eval_every=30", "trainer.log_every=10",
       "trainer.checkpoint_every=30", "logger=none", "trainer.threads=1"]


@pytest.mark.integration
def test_cli_vectorised_seeds_write_ordinary_run_folders_equal_to_separate_runs(project):
    vec = workbench(project, *RUN, "seeds=2", "trainer.vectorize_seeds=true")
    assert vec.returncode == 0, vec.stderr
    assert "one after another" not in vec.stderr and "tip:" not in vec.stderr
    vectorised = {summary(d)["seed"]: d for d in run_dirs(project, "prototype")}
    assert sorted(vectorised) == [0, 1]
    for seed in (0, 1):
        before = set(run_dirs(project, "prototype"))
        alone = workbench(project, *RUN, f"seed={seed}")
        assert alone.returncode == 0, alone.stderr
        (reference,) = set(run_dirs(project, "prototype")) - before
        ours, theirs = summary(vectorised[seed]), summary(reference)
        assert ours["status"] == "completed" and ours["vectorized_with_seeds"] == [0, 1]
        for key, value in theirs["metrics"].items():
            assert abs(ours["metrics"][key] - value) < 1e-5, key  # measured <= 6e-8 over 4 seeds x 1-2 threads
        files = {p.relative_to(vectorised[seed]) for p in vectorised[seed].rglob("*")}
        assert files == {p.relative_to(reference) for p in reference.rglob("*")}
        assert (vectorised[seed] / "overrides.yaml").read_text() == (reference / "overrides.yaml").read_text().replace(
            "- trainer.threads=1\n- seed=", "- trainer.threads=1\n- trainer.vectorize_seeds=true\n- seed=")


@pytest.mark.integration
def test_seeds_one_after_another_suggest_vectorising_them(project):
    proc = workbench(project, *RUN, "trainer.max_steps=4", "seeds=2")
    assert proc.returncode == 0, proc.stderr
    assert "tip: trainer.vectorize_seeds=true trains these 2 seeds together" in proc.stderr
    assert sorted(summary(d)["seed"] for d in run_dirs(project, "prototype")) == [0, 1]


@pytest.mark.integration
def test_a_sweep_over_data_trains_in_one_batch_and_each_run_is_its_own(project):
    """trainer.vectorize_over=[data]: the data options' runs train in one job, each as its vectorised seeds alone."""
    sweep = workbench(project, *RUN, "-m", "data=standard,shuffled", "seeds=2", "trainer.vectorize_seeds=true",
                      "trainer.vectorize_over=[data]")
    assert sweep.returncode == 0, sweep.stderr
    assert "[1/1]" not in sweep.stderr and "with " in sweep.stderr  # one job, naming what it trains with
    batched = {(summary(d)["choices"]["data"], summary(d)["seed"]): d for d in run_dirs(project, "prototype")}
    assert sorted(batched) == [("shuffled", 0), ("shuffled", 1), ("standard", 0), ("standard", 1)]
    finished = [line for line in sweep.stderr.splitlines() if " completed in " in line]
    for data, seed in batched:  # each run's line names its own data option and seed, not the job's first
        assert sum(f"data={data} " in line and f"seed={seed} completed" in line for line in finished) == 1, sweep.stderr
    before = set(run_dirs(project, "prototype"))
    alone = workbench(project, *RUN, "data=shuffled", "seeds=2", "trainer.vectorize_seeds=true")
    assert alone.returncode == 0, alone.stderr
    for reference in set(run_dirs(project, "prototype")) - before:
        ours, theirs = summary(batched[("shuffled", summary(reference)["seed"])]), summary(reference)
        assert len(ours["vectorized_with_seeds"]) == 4
        for key, value in theirs["metrics"].items():
            assert abs(ours["metrics"][key] - value) < 1e-5, key


def test_data_options_that_change_more_than_the_data_are_not_batched():
    from omegaconf import OmegaConf

    from workbench.run.launch import batch_swept_groups
    from workbench.run.sweep import SweepPlan

    def job(data, lr):
        return OmegaConf.create({"seed": 0, "data": {"name": data}, "optim": {"lr": lr},
                                 "trainer": {"vectorize_seeds": True, "vectorize_over": ["data"], "devices": 1},
                                 "hydra": {"overrides": {"task": [f"data={data}"]}}})

    overrides = ["data=a,b"]
    same = batch_swept_groups(overrides, SweepPlan([job("a", 0.1), job("b", 0.1)], 2))
    assert same[0] == ["data=a"] and [len(jobs) for jobs in same[1].jobs.values()] == [2]
    assert batch_swept_groups(overrides, SweepPlan([job("a", 0.1), job("b", 0.2)], 2)) == (overrides, None)
