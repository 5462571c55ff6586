"""Launchers as config: launcher=slurm composes for SLURM; submitit_local runs a sweep whose
failing job neither stops the others nor goes missing from the report."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from workbench.run.config import compose_config, set_project_root

from conftest import allow_overrides, workbench

FLAKY = {
    "paper.yaml": "name: flaky\ntitle: A paper whose seed 1 crashes mid-run\n",
    "conf/config.yaml": """\
        defaults:
          - run
          - _self_
          - stage: reproduction
        paper:
          name: flaky
        crash_seed: null   # this seed raises at step 3, after its run folder exists
        """,
    "conf/stage/reproduction.yaml": """\
        # @package _global_
        trainer: {max_steps: 6, eval_every: 3, log_every: 3, checkpoint_every: 3, progress: false}
        """,
    "experiment.py": """\
        import torch
        from torch import nn


        class Flaky:
            def __init__(self, cfg):
                self.cfg, self.calls, self.model = cfg, 0, nn.Linear(2, 1)

            def optimizers(self):
                return torch.optim.SGD(self.model.parameters(), lr=0.1), None

            def train_batches(self):
                while True:
                    yield torch.ones(4, 2), torch.zeros(4, 1)

            def train_step(self, batch):
                self.calls += 1
                if self.cfg.seed == self.cfg.crash_seed and self.calls == 3:
                    raise RuntimeError("a crash in the paper's code")
                return {"loss": ((self.model(batch[0]) - batch[1]) ** 2).mean()}

            def evaluate(self):
                return {"test/loss": float(((self.model(torch.ones(4, 2))) ** 2).mean())}


        def build(cfg):
            return Flaky(cfg)
        """,
    "claims.yaml": """\
        claims:
          - id: flaky.test_loss
            quote: "loss 0"
            source: {arxiv: "0000.00000", table: 1, row: all, column: loss, file: null, line: null}
            metric: test/loss
            value: 0.0
            std: null
            n_seeds: null
            unit: ""
            goal: min
            select: {}
            tolerance: {kind: abs, value: 1.0}
            status: confirmed
        """,
}


def write_flaky(root: Path) -> None:
    for name, text in FLAKY.items():
        path = root / "papers" / "flaky" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_slurm_preset_puts_partition_gpus_time_and_parallelism_on_the_submitit_launcher(project):
    set_project_root(project)
    cfg = compose_config(project / "papers" / "mnist1d" / "conf",
                         ["launcher=slurm", "launcher.partition=gpu", "trainer.devices=4", "launcher.time_min=30"])
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min) == ("gpu", 4, 30)
    assert (launcher.array_parallelism, launcher.tasks_per_node) == (32, 1)


@pytest.mark.integration
def test_a_failing_job_does_not_stop_a_submitit_sweep_and_the_report_counts_it(project):
    write_flaky(project)
    allow_overrides(project, "flaky", "crash_seed")  # the crash is the test's, not the recipe's
    out = workbench(project, "run", "flaky", "-m", "seed=0,1,2", "crash_seed=1", "launcher=submitit_local",
                    "logger=none")
    assert out.returncode == 1  # the sweep reports the failure...
    runs = sorted((project / "reproductions" / "flaky" / "runs" / "reproduction").glob("*/summary.json"))
    statuses = {json.loads(p.read_text())["seed"]: json.loads(p.read_text())["status"] for p in runs}
    assert statuses == {0: "completed", 1: "failed", 2: "completed"}  # ...after the others finished
    report = workbench(project, "report", "flaky")
    assert report.returncode == 0, report.stderr
    comparison = json.loads((project / "reproductions" / "flaky" / "comparison.json").read_text())
    (claim,) = comparison["claims"]
    assert [e["status"] for e in claim["excluded"]] == ["failed"]
    assert claim["ours"]["n"] == 2 and len(claim["runs"]) == 2
