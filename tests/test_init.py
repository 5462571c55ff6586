"""`workbench init FOLDER`: a papers repository of your own, outside this one, that fetches, composes
and runs papers with workbench's shared groups and its own configs/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from workbench.errors import UserError
from workbench.init import init_repository
from workbench.run.config import compose_config, job_choices, resolve_user_config

from conftest import REPO, install_wheel
from fake_arxiv import FakeArxiv, source_tarball

HNN = "1906.01563"
EXPECTED = {".github/workflows/workbench.yml", ".gitignore", "README.md", "configs/experiment/ci.yaml",
            "papers/README.md", "pyproject.toml"}


def test_init_writes_a_repository_that_depends_on_workbench(tmp_path):
    made = init_repository(tmp_path / "my papers")
    assert made.name == "my-papers" and set(made.files) == EXPECTED
    assert {str(p.relative_to(made.folder)) for p in made.folder.rglob("*") if p.is_file()} == EXPECTED
    project = tomllib.loads((made.folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == "my-papers" and project["dependencies"][0].startswith("workbench>=")
    assert "reproductions/*/runs/" in (made.folder / ".gitignore").read_text().splitlines()
    steps = yaml.safe_load((made.folder / ".github/workflows/workbench.yml").read_text())["jobs"]["gates"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "stage=component" in commands and "stage=prototype" in commands and "pytest" in commands
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_init_refuses_a_folder_with_files_and_leaves_it_alone(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="is not empty"):
        init_repository(tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    assert init_repository(tmp_path / "empty", name="lab").name == "lab"


def test_the_repositorys_own_configs_are_searched_before_workbenchs(tmp_path, monkeypatch):
    made = init_repository(tmp_path / "lab")
    shutil.copytree(REPO / "papers" / "mnist1d", made.folder / "papers" / "mnist1d",
                    ignore=shutil.ignore_patterns("__pycache__", "paper"))
    monkeypatch.setenv("WORKBENCH_ROOT", str(made.folder))
    conf = made.folder / "papers" / "mnist1d" / "conf"
    cfg = compose_config(conf, ["experiment=ci"])
    config = resolve_user_config(cfg)
    assert config["trainer"]["progress"] is False and config["logger"]["console"] is False
    assert job_choices(cfg.hydra)["logger"] == "none"
    assert resolve_user_config(compose_config(conf, ["experiment=smoke"]))["trainer"]["max_steps"] == 20


@pytest.mark.integration
def test_a_wheel_install_inits_a_repository_and_fetches_a_paper_into_it(tmp_path):
    """Not editable: a wheel built from this repository, installed into a folder of its own, run from
    a folder outside the repository against the fake arXiv."""
    target = install_wheel(tmp_path)
    fake = FakeArxiv().start()
    try:
        fake.add_paper(HNN, 1, source_tarball())
        clean = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_ROOT", "PYTHONPATH")}
        env = {**clean, **fake.env, "PYTHONPATH": str(target), "WORKBENCH_CACHE": str(tmp_path / "cache"),
               "WORKBENCH_ARXIV_BACKOFF": "0.01", "COLUMNS": "200"}

        def workbench(cwd: Path, *args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd, env=env, capture_output=True,
                                  text=True, timeout=300)

        made = workbench(tmp_path, "init", "lab")
        assert made.returncode == 0, made.stderr
        lab = tmp_path / "lab"
        assert (lab / ".github/workflows/workbench.yml").is_file() and (lab / "configs/experiment/ci.yaml").is_file()
        fetched = workbench(lab, "fetch", HNN, "--name", "hnn")
        assert fetched.returncode == 0, fetched.stderr
        assert "starting a workbench project" not in fetched.stderr  # lab/ already is one
        printed = workbench(lab / "papers", "run", "hnn", "experiment=ci", "--cfg", "job")
        assert printed.returncode == 0, printed.stderr
        config = yaml.safe_load(printed.stdout)
        assert config["trainer"]["progress"] is False and config["paper"]["name"] == "hnn"
    finally:
        fake.stop()
    module = subprocess.run([sys.executable, "-c", "import workbench; print(workbench.__file__)"], env=env,
                            capture_output=True, text=True, cwd=tmp_path)
    assert module.stdout.strip().startswith(str(target))
