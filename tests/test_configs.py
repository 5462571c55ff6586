"""Every paper × stage × model × data config composes, with the values the paper's recipe needs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from workbench.run.config import available_options, compose_config, job_choices, resolve_user_config
from workbench.project import list_papers

from conftest import REPO

PAPERS = list_papers(REPO)


def combinations():
    for paper in PAPERS:
        groups = {g: available_options(paper.conf_dir, g) for g in ("stage", "model", "data")
                  if (paper.conf_dir / g).is_dir()}
        names = sorted(groups)
        for values in itertools.product(*(groups[g] for g in names)):
            yield pytest.param(paper, [f"{g}={v}" for g, v in zip(names, values)], id=f"{paper.name}:{'-'.join(values)}")


@pytest.mark.parametrize(("paper", "overrides"), list(combinations()))
def test_every_config_composes(paper, overrides, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    cfg = compose_config(paper.conf_dir, overrides)
    config = resolve_user_config(cfg)
    choices = job_choices(cfg.hydra)
    for override in overrides:
        group, value = override.split("=")
        assert choices[group] == value
    assert config["trainer"]["max_steps"] > 0
    assert config["paper"]["name"] == paper.name
    assert Path(config["paths"]["runs_dir"]) == REPO / "reproductions" / paper.name / "runs"


def test_there_is_at_least_mnist1d():
    assert "mnist1d" in {p.name for p in PAPERS}


def test_mnist1d_reproduction_is_the_official_recipe(monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    paper = next(p for p in PAPERS if p.name == "mnist1d")
    config = resolve_user_config(compose_config(paper.conf_dir, ["stage=reproduction"]))
    assert config["trainer"]["max_steps"] == 6000
    assert config["trainer"]["eval_every"] == 250
    assert config["optim"] == {"name": "adam", "lr": 0.01, "weight_decay": 0.0}
    assert config["batch_size"] == 100


def test_debug_fast_wins_over_the_stage(monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    paper = next(p for p in PAPERS if p.name == "mnist1d")
    config = resolve_user_config(compose_config(paper.conf_dir, ["stage=reproduction", "debug=fast"]))
    assert config["trainer"]["max_steps"] == 20
