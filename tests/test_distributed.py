"""Data-parallel training: sharding rules, and 2 gloo processes against one process on CPU."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch
import yaml

from workbench.run.distributed import Context, torchrun_command
from workbench.errors import ConfigError
from workbench.files import atomic_write_json, read_json

from conftest import run_dirs, summary, workbench


def test_each_rank_gets_its_equal_slice_of_tensors_tuples_and_dicts():
    x, y = torch.arange(12).reshape(6, 2), torch.arange(6)
    batch = {"pair": (x, y), "label": "kept whole"}
    shards = [Context(rank, 3, rank).shard(batch) for rank in range(3)]
    assert [s["pair"][1].tolist() for s in shards] == [[0, 1], [2, 3], [4, 5]]
    assert torch.equal(torch.cat([s["pair"][0] for s in shards]), x)
    assert all(s["label"] == "kept whole" for s in shards)
    assert Context().shard(batch) is batch  # one process: untouched


def test_a_batch_that_does_not_split_evenly_is_a_config_error():
    with pytest.raises(ConfigError, match="batch of 5 does not split into 2"):
        Context(1, 2, 1).shard(torch.zeros(5, 3))


def final_params(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]


# lr 1e-3: Adam divides by sqrt(v), which magnifies float32 summation-order noise in tiny gradients
RUN = ["run", "mnist1d", "model=mlp", "optim.lr=1e-3", "trainer.eval_every=10", "trainer.log_every=10",
       "trainer.checkpoint_every=10", "logger=none"]


@pytest.mark.integration
def test_two_gloo_ranks_match_one_process_on_the_global_batch_and_resume(project):
    """trainer.devices=2 starts torchrun; 2 ranks x 50 rows take the steps one process takes on 100."""
    single = workbench(project, *RUN, "trainer.max_steps=20")
    assert single.returncode == 0, single.stderr
    (reference,) = run_dirs(project, "prototype")

    ddp = workbench(project, *RUN, "trainer.max_steps=20", "trainer.devices=2")
    assert ddp.returncode == 0, ddp.stderr
    (ddp_dir,) = set(run_dirs(project, "prototype")) - {reference}  # one folder, made by rank 0
    steps = [r["step"] for r in map(yaml.safe_load, (ddp_dir / "metrics.jsonl").read_text().splitlines())
             if r["split"] == "train"]
    assert steps == [10, 20]  # written once, not once a rank

    # Pretend the run was stopped at step 10 of 20: its step-10 checkpoint (prev.pt) is the newest,
    # the config untouched (an edited config.yaml is refused), then resume it under torchrun.
    checkpoints = ddp_dir / "checkpoints"
    (checkpoints / "prev.pt").replace(checkpoints / "last.pt")
    atomic_write_json(ddp_dir / "summary.json", {**read_json(ddp_dir / "summary.json"), "status": "interrupted"})
    resumed = subprocess.run(torchrun_command(2, ["resume", str(ddp_dir)]), cwd=project, capture_output=True,
                             text=True, timeout=300, env={**os.environ, "WORKBENCH_ROOT": str(project)})
    assert resumed.returncode == 0, resumed.stderr

    ours, theirs = summary(ddp_dir), summary(reference)
    assert ours["status"] == "completed" and ours["step"] == 20
    # measured over 2 seeds x 1-2 threads: loss within 7.2e-8, parameters within 1.5e-7
    assert ours["metrics"]["train/loss"] == pytest.approx(theirs["metrics"]["train/loss"], abs=1e-6)
    for name, value in final_params(reference).items():
        torch.testing.assert_close(final_params(ddp_dir)[name], value, atol=1e-6, rtol=0)
