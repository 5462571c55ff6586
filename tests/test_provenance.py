"""Provenance records where a run came from, and never a secret."""

from __future__ import annotations

import json

import pytest

from workbench.run.provenance import recorded_environment, redact_command

from conftest import run_dirs, workbench

SECRETS = {
    "MY_SERVICE_API_KEY": "sk-planted-key-0001",
    "HF_TOKEN": "hf_planted_token_0002",
    "DB_PASSWORD": "planted-password-0003",
    "WANDB_API_KEY": "planted0wandb0key0000000000000000000000004",
    "CLIENT_SECRET": "planted-secret-0005",
}


def test_secret_looking_environment_names_are_never_recorded():
    env = {**SECRETS, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "2", "SLURM_JOB_ID": "7", "HOME": "/root"}
    recorded = recorded_environment(env)
    assert recorded == {"OMP_NUM_THREADS": "2", "SLURM_JOB_ID": "7", "WANDB_MODE": "offline"}


def test_secret_looking_overrides_are_redacted_in_the_command():
    command = redact_command(["workbench", "run", "x", "logger.wandb.api_key=abc123", "optim.lr=0.1"])
    assert "abc123" not in command
    assert "optim.lr=0.1" in command and "api_key=<redacted>" in command


@pytest.mark.integration
def test_planted_secrets_appear_in_no_file_a_run_writes(project, tmp_path):
    netrc = tmp_path / "home" / ".netrc"
    netrc.parent.mkdir()
    netrc.write_text("machine api.wandb.ai\n  login user\n  password planted-netrc-0006\n")
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=wandb",
                     env={**SECRETS, "HOME": str(netrc.parent)})
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(project, "prototype")
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["env"]["WANDB_MODE"] == "offline"  # the environment is recorded, minus secrets
    planted = [*SECRETS.values(), "planted-netrc-0006"]
    written = [p for p in project.rglob("*") if p.is_file() and "papers" not in p.parts]
    assert len(written) > 5
    leaks = {str(p): s for p in written for s in planted if s.encode() in p.read_bytes()}
    assert leaks == {}
