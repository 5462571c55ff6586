"""The W&B mirror, offline: every metric and the config land in the run; failures never stop it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_dirs, summary, workbench


def read_offline_run(run: Path) -> list[dict]:
    [offline] = list((run / "wandb").glob("offline-run-*"))
    wandb_cli = Path(sys.executable).with_name("wandb")
    out = subprocess.run([str(wandb_cli), "leet", "inspect", "--json", str(offline)], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.mark.integration
def test_offline_wandb_run_holds_every_metric_and_the_config(project):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb")
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(project, "prototype")
    records = read_offline_run(run)
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    local = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for record in local:
        step = record["step"]
        row = next(h for h in history if h["_step"] == step)
        for name, value in record.items():
            if name not in ("step", "split"):
                assert row[f"{record['split']}/{name}"] == value
    [run_record] = [r["run"] for r in records if r["type"] == "run"]
    config = run_record["config"]["update"]
    assert config["model"] == {"name": "logistic"}
    assert config["trainer"]["max_steps"] == 20
    assert run_record["run_group"] == "mnist1d-prototype"


@pytest.mark.integration
def test_a_broken_wandb_mode_warns_once_and_the_run_completes(project):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb",
                     "logger.wandb.mode=sideways")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("W&B mirror disabled") == 1
    [run] = run_dirs(project, "prototype")
    assert summary(run)["status"] == "completed"


@pytest.mark.integration
def test_online_without_a_key_falls_back_to_offline(project, tmp_path):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb",
                     "logger.wandb.mode=online", env={"WANDB_API_KEY": "", "WANDB_MODE": "", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "mirroring offline instead" in proc.stderr
    [run] = run_dirs(project, "prototype")
    assert summary(run)["status"] == "completed"
    assert list((run / "wandb").glob("offline-run-*"))
