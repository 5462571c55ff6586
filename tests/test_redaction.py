"""Secrets are redacted by name and by shape, in configs, overrides, commands and recorded environment."""

from __future__ import annotations

import pytest

from workbench.run.provenance import REDACTED, recorded_environment, redact_arg, redact_command, redact_config

SECRET = "hunter2-s3cret"


@pytest.mark.parametrize("arg", [
    f"+db.url=postgres://me:{SECRET}@db.local/runs",
    f"+src=https://example.org/data.tgz?api_key={SECRET}&mirror=1",
    f"+db2={{password: {SECRET}, user: me}}",
    f"+db3={{'token': '{SECRET}'}}",
    f"api_key={SECRET}",
    "+hf=hf_abcdefghijklmnopqrstuvwxyz0123",
    "+gh=ghp_abcdefghijklmnopqrstuvwxyz0123",
    "+w=0123456789abcdef0123456789abcdef01234567",  # a W&B API key is 40 hex digits
])
def test_a_secret_in_an_override_value_is_redacted(arg):
    shown = redact_arg(arg)
    assert REDACTED in shown
    assert SECRET not in shown and "abcdefghijklmnopqrstuvwxyz0123" not in shown and "0123456789abcdef01" not in shown
    assert SECRET not in redact_command(["workbench", "run", "mnist1d", arg])


def test_plain_overrides_are_left_alone():
    for arg in ("optim.lr=0.01", "model=cnn", "paths.root=/home/me/work", "seed=3", "+note=https://example.org/a?b=1"):
        assert redact_arg(arg) == arg


def test_configs_are_redacted_by_value_too():
    config = {"db": {"url": f"https://me:{SECRET}@host/x"}, "notes": [f"token: {SECRET}"], "lr": 0.1, "api_key": "x"}
    shown = redact_config(config)
    assert SECRET not in repr(shown) and shown["lr"] == 0.1 and shown["api_key"] == REDACTED
    assert shown["db"]["url"] == f"https://me:{REDACTED}@host/x"


def test_recorded_environment_redacts_urls_with_passwords():
    env = {"WANDB_BASE_URL": f"https://me:{SECRET}@wandb.local", "WORKBENCH_ARXIV_URL": "http://127.0.0.1:8000",
           "WANDB_API_KEY": SECRET, "HOME": "/root"}
    recorded = recorded_environment(env)
    assert recorded == {"WANDB_BASE_URL": f"https://me:{REDACTED}@wandb.local", "WORKBENCH_ARXIV_URL": "http://127.0.0.1:8000"}
