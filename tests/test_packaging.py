"""The shared Hydra groups live in the top-level configs/ and install as workbench.configs: an
installed copy finds them from any folder, and they say exactly what the code reads."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest
import yaml

from workbench.run.config import available_options, compose_config, resolve_user_config, shared_configs
from workbench.run.trainer import TrainerConfig

from conftest import REPO, install_wheel


def test_shared_configs_are_the_top_level_configs_folder():
    assert shared_configs().resolve() == (REPO / "configs").resolve()
    assert Path(str(resources.files("workbench.configs"))).resolve() == (REPO / "configs").resolve()


def test_trainer_default_yaml_has_exactly_the_trainer_config_fields():
    keys = set(yaml.safe_load((REPO / "configs" / "trainer" / "default.yaml").read_text()))
    assert keys == {f.name for f in dataclasses.fields(TrainerConfig)}


def test_trainer_defaults_in_yaml_are_the_dataclass_defaults():
    values = yaml.safe_load((REPO / "configs" / "trainer" / "default.yaml").read_text())
    assert TrainerConfig.from_dict(values) == TrainerConfig()


SHARED_GROUPS = ("logger", "debug", "launcher")


def shared_options():
    for group in SHARED_GROUPS:
        for option in available_options(REPO / "papers" / "mnist1d" / "conf", group):
            yield pytest.param(group, option, id=f"{group}={option}")


@pytest.mark.parametrize(("group", "option"), list(shared_options()))
def test_every_shared_group_option_composes_with_a_paper(group, option, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    config = resolve_user_config(compose_config(REPO / "papers" / "mnist1d" / "conf", [f"{group}={option}"]))
    assert config["trainer"]["max_steps"] > 0 and config["paper"]["name"] == "mnist1d"


PAPER_CONFIG = """\
defaults:
  - run
  - _self_
  - stage: prototype
paper:
  name: demo
"""


def write_outside_project(root: Path) -> None:
    paper = root / "papers" / "demo"
    (paper / "conf" / "stage").mkdir(parents=True)
    (paper / "paper.yaml").write_text("name: demo\narxiv_id: '2011.14439'\ntitle: Demo\n")
    (paper / "conf" / "config.yaml").write_text(PAPER_CONFIG)
    (paper / "conf" / "stage" / "prototype.yaml").write_text("# @package _global_\ntrainer:\n  max_steps: 7\n")


@pytest.mark.integration
def test_a_regular_install_composes_a_paper_config_outside_the_repository(tmp_path):
    """Not editable: a wheel built from the repository, installed into a folder of its own."""
    target, project = install_wheel(tmp_path), tmp_path / "project"
    write_outside_project(project)
    code = textwrap.dedent("""
        import json, workbench
        from workbench.run.config import shared_configs
        cfg = workbench.load_config("demo", ["logger=none"])
        print(json.dumps({"module": workbench.__file__, "configs": str(shared_configs()),
                          "max_steps": cfg.trainer.max_steps, "runs_dir": cfg.paths.runs_dir}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_ROOT"}
    out = subprocess.run([sys.executable, "-c", code], cwd=project, env={**env, "PYTHONPATH": str(target)},
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["module"].startswith(str(target)) and seen["configs"].startswith(str(target))
    assert seen["max_steps"] == 7
    assert Path(seen["runs_dir"]).resolve() == (project / "reproductions" / "demo" / "runs").resolve()
