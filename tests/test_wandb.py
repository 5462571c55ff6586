"""The W&B mirror, offline: every metric and the config land in the run, tagged, with its files and
checkpoint as artifacts; failures never stop it; `workbench sync <paper>` finds every offline run."""

from __future__ import annotations

import base64
import hashlib
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
def test_a_wrong_wandb_mode_is_refused_like_any_typo_before_a_run_folder(project):
    """Issue 16: `logger.wandb.mode=onlin` was accepted with a warning; it is a typo like any other."""
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb",
                     "logger.wandb.mode=onlin")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "logger.wandb.mode" in errors[0] and "online" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert run_dirs(project, "prototype") == []


@pytest.mark.integration
def test_online_without_a_key_falls_back_to_offline(project, tmp_path):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb",
                     "logger.wandb.mode=online", env={"WANDB_API_KEY": "", "WANDB_MODE": "", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "mirroring offline instead" in proc.stderr
    [run] = run_dirs(project, "prototype")
    assert summary(run)["status"] == "completed"
    assert list((run / "wandb").glob("offline-run-*"))


def md5_b64(path: Path) -> str:
    """The digest W&B's artifact manifests give a file."""
    return base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()


@pytest.mark.integration
def test_offline_run_is_tagged_carries_its_files_and_checkpoint_and_syncs_by_paper(project, tmp_path):
    no_key = {"HOME": str(tmp_path), "WANDB_API_KEY": ""}
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb",
                     "logger.wandb.project=myproj", "logger.wandb.log_model=true", "logger.wandb.tags=[mine]", env=no_key)
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(project, "prototype")
    # W&B's own hint is silenced (WANDB_SILENT), ours is one unbroken line
    assert any(line.startswith("W&B run saved offline in ") and line.endswith("upload it with `workbench sync mnist1d`")
               for line in proc.stderr.splitlines()), proc.stderr
    records = read_offline_run(run)
    [run_record] = [r["run"] for r in records if r["type"] == "run"]
    assert run_record["project"] == "myproj"
    assert run_record["tags"] == ["mnist1d", "prototype", "data=standard", "debug=fast", "model=logistic",
                                  "trainer=default", "debug", "mine"]

    artifacts = {r["artifact"]["type"]: r["artifact"] for r in records if r["type"] == "artifact"}
    files = {c["path"]: c["digest"] for c in artifacts["run-files"]["manifest"]["contents"]}
    assert sorted(files) == ["analysis.json", "config.yaml", "overrides.yaml", "provenance.json", "summary.json"]
    assert files["summary.json"] == md5_b64(run / "summary.json")  # the final summary, not the "running" one
    [checkpoint] = artifacts["model"]["manifest"]["contents"]
    assert checkpoint["path"] == "last.pt" and checkpoint["digest"] == md5_b64(run / "checkpoints" / "last.pt")

    [offline] = list((run / "wandb").glob("offline-run-*"))
    listed = workbench(project, "sync", "mnist1d", "--dry-run", env=no_key)
    assert listed.returncode == 0, listed.stderr
    assert offline.name in listed.stdout and "Would sync 1 run(s)" in listed.stdout + listed.stderr
    refused = workbench(project, "sync", "mnist1d", env=no_key)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("error:") and "no W&B key" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_sync_finds_each_offline_run_not_uploaded_yet_oldest_first(tmp_path):
    from workbench.tracking.wandb import offline_runs, sync_command

    repro = tmp_path / "reproductions" / "mnist1d"
    newer = repro / "runs" / "prototype" / "20261124-100000-aaaaaa" / "wandb" / "offline-run-20261124_100001-x"
    older = repro / "runs" / "reproduction" / "20261123-100000-bbbbbb" / "wandb" / "offline-run-20261123_100001-y"
    synced = repro / "runs" / "reproduction" / "20261122-100000-cccccc" / "wandb" / "offline-run-20261122_100001-z"
    report = repro / "publish" / "wandb" / "offline-run-20261125_100001-mnist1d-reproduction-report"
    for folder in (newer, older, synced, report):
        folder.mkdir(parents=True)
    (synced / "run-z.wandb.synced").write_text("")
    assert offline_runs(repro) == [older, newer, report]
    command = sync_command([older], project="p", dry_run=True)
    assert command[1:] == ["-m", "wandb", "sync", "--skip-synced", "--project", "p", "--dry-run", str(older)]


def test_training_run_tags_name_paper_stage_options_and_debug():
    from workbench.tracking.wandb import run_tags

    config = {"paper": {"name": "mnist1d"}, "choices": {"stage": "reproduction", "model": "cnn", "data": "shuffled",
                                                       "logger": "wandb", "paths": "default", "debug": "fast"}}
    assert run_tags(config, "reproduction", ["x" * 80]) == ["mnist1d", "reproduction", "data=shuffled", "debug=fast",
                                                            "model=cnn", "debug", "x" * 64]
    assert run_tags({"choices": {"model": "cnn"}}, "prototype", []) == ["prototype", "model=cnn"]


def test_without_wandb_installed_the_mirror_names_the_extra_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    from workbench.tracking.wandb import WandbMirror

    monkeypatch.setitem(sys.modules, "wandb", None)  # as in a base install: import wandb fails
    mirror = WandbMirror(tmp_path, {"mode": "offline"}, name="r", group="g", job_type="prototype", config={})
    mirror.log(1, "train", {"loss": 1.0})
    mirror.summary({"status": "completed"})
    mirror.finish(0)
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("W&B mirror disabled") == 1 and "pip install 'workbench[wandb]'" in err
