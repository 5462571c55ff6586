"""`workbench fetch`, `claims` and `status` end to end, as a user runs them, against a fake arXiv."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workbench.claims.schema import load_claims
from workbench.run.config import compose_config, resolve_user_config
from workbench.project import find_paper

from conftest import workbench
from fake_arxiv import FIXTURES, FakeArxiv, Reply, source_tarball

HNN = "1906.01563"


@pytest.fixture
def project(project: Path) -> Path:
    """These tests fetch HNN as a new user would; the repo's own papers/hnn would make it a re-fetch."""
    shutil.rmtree(project / "papers" / "hnn")
    return project


@pytest.fixture
def fake():
    server = FakeArxiv().start()
    yield server
    server.stop()


@pytest.fixture
def env(fake, tmp_path) -> dict[str, str]:
    return {**fake.env, "WORKBENCH_CACHE": str(tmp_path / "cache"), "WORKBENCH_ARXIV_BACKOFF": "0.01"}


def fetch(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return workbench(project, "fetch", *args, env=env, timeout=120)


def test_fetch_claims_confirm_status_list(project, fake, env):
    fake.add_paper(HNN, 3, source_tarball())
    done = fetch(project, env, f"https://arxiv.org/abs/{HNN}", "--name", "hnn")
    assert done.returncode == 0, done.stderr
    assert "created papers/hnn · arXiv 1906.01563v3 · Hamiltonian Neural Networks" in done.stdout
    assert "6 sections, 1 tables, 17 claim candidates, 0 cells not read as numbers" in done.stdout
    paper = project / "papers" / "hnn"

    meta = yaml.safe_load((paper / "paper.yaml").read_text())
    assert (meta["name"], meta["arxiv_id"], meta["version"], meta["year"]) == ("hnn", HNN, 3, 2019)
    assert meta["authors"] == ["Sam Greydanus", "Misko Dzamba", "Jason Yosinski"]
    assert meta["bibtex"].startswith("@misc{greydanus2019hamiltonian,")
    for rel, digest in meta["files"].items():
        assert hashlib.sha256((paper / rel).read_bytes()).hexdigest() == digest
    assert set(meta["files"]) >= {"paper/paper.pdf", "paper/source.tar.gz", "paper/paper.bib"}
    assert (paper / "paper" / "source" / "sections" / "experiments.tex").is_file()

    checklist = (paper / "CHECKLIST.md").read_text()
    for question in ("The problem", "The algorithm", "The data", "Why the results matter", "Concepts to learn first",
                     "Architecture sketch"):
        assert f"**{question}" in checklist
    assert "- [ ] **3 Experiments.** (sections/experiments.tex:1)" in checklist
    assert "  - [ ] **2.1 Hamiltonian mechanics.** (main.tex:14)" in checklist

    claims = load_claims(paper / "claims.yaml")
    assert len(claims) == 17 and {c.status for c in claims} == {"candidate"}
    assert claims[0].source.arxiv == "1906.01563v3"

    listed = workbench(project, "claims", "hnn")
    assert listed.returncode == 0, listed.stderr
    assert "table1.ideal_mass_spring.test_loss_hnn" in listed.stdout
    assert "sections/experiments.tex:13" in listed.stdout
    assert "0 confirmed, 17 candidates, 0 cells not read" in listed.stdout

    status = workbench(project, "status", "hnn")
    assert "claims: 0 confirmed, 17 candidates to review" in status.stdout
    assert status.stdout.count("not started") == 3  # all three gates

    confirmed = workbench(project, "claims", "hnn", "--confirm", "table1.ideal_pendulum.test_loss_hnn",
                          "table1.real_pendulum.test_loss_hnn")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "confirmed 2 claim(s)" in confirmed.stdout and "select is empty" in confirmed.stdout
    statuses = {c.id: c.status for c in load_claims(paper / "claims.yaml")}
    assert [k for k, v in statuses.items() if v == "confirmed"] == ["table1.ideal_pendulum.test_loss_hnn",
                                                                     "table1.real_pendulum.test_loss_hnn"]
    assert (paper / "claims.yaml").read_text().startswith("# Claims of \"Hamiltonian Neural Networks\"")  # comments kept

    status = workbench(project, "status", "hnn")
    assert "claims: 2 confirmed, 15 candidates to review" in status.stdout
    assert "table1.ideal_pendulum.test_loss_hnn" in status.stdout and "missing" in status.stdout

    report = workbench(project, "report", "hnn")  # candidates are listed, never compared
    assert report.returncode == 0, report.stderr
    text = (project / "reproductions" / "hnn" / "REPORT.md").read_text()
    assert "[arXiv:1906.01563v3](" in text and "**0 of 2 claims reproduced**" in text
    assert "15 candidate claim(s), not compared" in text

    wrong = workbench(project, "claims", "hnn", "--confirm", "table1.ideal_pendulum.test_los_hnn")
    assert wrong.returncode == 1
    assert "has no claim 'table1.ideal_pendulum.test_los_hnn'. Did you mean 'table1.ideal_pendulum.test_loss_hnn'?" in wrong.stderr

    listing = workbench(project, "list")
    assert "hnn" in listing.stdout and HNN in listing.stdout and "mnist1d" in listing.stdout


@pytest.mark.integration
def test_a_scaffolded_paper_composes_every_stage_and_its_gate_is_honest(project, fake, env, monkeypatch):
    fake.add_paper(HNN, 1, source_tarball())
    assert fetch(project, env, HNN, "--name", "hnn").returncode == 0
    paper = find_paper(project, "hnn")
    for stage in ("component", "prototype", "reproduction"):
        config = resolve_user_config(compose_config(paper.conf_dir, [f"stage={stage}"]))
        assert config["paper"]["name"] == "hnn"
        assert config["trainer"]["max_steps"] > 0
        assert Path(config["paths"]["runs_dir"]) == project / "reproductions" / "hnn" / "runs"
    gate = workbench(project, "run", "hnn", "stage=component")
    assert gate.returncode == 1  # skipped tests never pass the gate
    run = next((project / "reproductions/hnn/runs/component").glob("*/summary.json")).parent
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["gate"]["tests"] == {"skipped": 1}
    assert "1 skipped" in (run / "pytest.log").read_text()
    proto = workbench(project, "run", "hnn", "stage=prototype")
    assert proto.returncode == 1 and "experiment.py: build(cfg) is not written yet" in proto.stderr


def test_refetch_keeps_edited_files_and_force_backs_them_up(project, fake, env):
    fake.add_paper(HNN, 1, source_tarball())
    assert fetch(project, env, HNN, "--name", "hnn").returncode == 0
    paper = project / "papers" / "hnn"
    checklist = paper / "CHECKLIST.md"
    edited = checklist.read_text().replace("- [ ] **The problem.**", "- [x] **The problem.** Learning conserved quantities.")
    checklist.write_text(edited)
    meta = yaml.safe_load((paper / "paper.yaml").read_text())
    meta["code_url"] = "https://github.com/greydanus/hamiltonian-nn"
    (paper / "paper.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))

    fake.add_paper(HNN, 2, source_tarball())
    again = fetch(project, env, f"{HNN}v2")
    assert again.returncode == 0, again.stderr
    assert "updated papers/hnn · arXiv 1906.01563v2" in again.stdout
    assert "kept your CHECKLIST.md" in again.stdout
    assert checklist.read_text() == edited
    meta = yaml.safe_load((paper / "paper.yaml").read_text())
    assert meta["version"] == 2 and meta["code_url"] == "https://github.com/greydanus/hamiltonian-nn"
    assert "1906.01563v2" in (paper / "claims.yaml").read_text()  # unchanged by the user: regenerated
    assert "checklist: 1/" in workbench(project, "status", "hnn").stdout

    forced = fetch(project, env, f"{HNN}v2", "--force")
    assert forced.returncode == 0, forced.stderr
    backups = list((paper / ".workbench-backup").glob("*/CHECKLIST.md"))
    assert len(backups) == 1 and backups[0].read_text() == edited
    assert "- [ ] **The problem.**" in checklist.read_text()


def test_offline_from_local_files(project, tmp_path, env):
    archive = tmp_path / "paper-src.tar.gz"
    archive.write_bytes(source_tarball())
    done = workbench(project, "fetch", "--from", str(archive), "--id", HNN, env={"WORKBENCH_ARXIV_URL": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    assert "created papers/hamiltonian_neural_networks" in done.stdout  # name from the LaTeX \title
    meta = yaml.safe_load((project / "papers/hamiltonian_neural_networks/paper.yaml").read_text())
    assert meta["arxiv_id"] == HNN and meta["title"] == "Hamiltonian Neural Networks"

    tex = tmp_path / "main.tex.gz"
    tex.write_bytes(gzip.compress((FIXTURES / "source" / "main.tex").read_bytes()))
    done = workbench(project, "fetch", "--from", str(tex), "--id", "2101.00001", "--name", "gz_paper")
    assert done.returncode == 0, done.stderr
    assert "source: tex.gz; 5 sections" in done.stdout  # \input{sections/experiments} is not in a single file

    pdf = tmp_path / "paper.pdf"
    shutil.copyfile(FIXTURES / "paper.pdf", pdf)
    done = workbench(project, "fetch", "--from", str(pdf), "--id", "2101.00002", "--name", "pdf_paper")
    assert done.returncode == 0, done.stderr
    assert "source: none; 0 sections, 0 tables, 0 claim candidates" in done.stdout
    assert (project / "papers/pdf_paper/paper/paper.pdf").is_file()
    assert "no LaTeX source was read" in (project / "papers/pdf_paper/CHECKLIST.md").read_text()


def test_pdf_only_paper_from_arxiv(project, fake, env):
    fake.add_paper("2101.00003", 1, (FIXTURES / "paper.pdf").read_bytes())
    done = fetch(project, env, "2101.00003", "--name", "pdf_only")
    assert done.returncode == 0, done.stderr
    assert "source: pdf; 0 sections" in done.stdout
    assert not (project / "papers/pdf_only/paper/source").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["2011.1443"], "'2011.1443' is not an arXiv id; use a form like"),
    ([HNN, "--name", "Bad-Name"], "--name 'Bad-Name' is not a valid paper folder name"),
    ([HNN, "--name", "class"], "--name 'class' is not a valid paper folder name"),
    ([HNN, "--name", "mnist1d"], "already holds another paper (arXiv 2011.14439); choose another --name"),
    (["2011.14439", "--name", "other"], "arXiv 2011.14439 is already papers/mnist1d"),
    (["2401.99999"], "arXiv has no paper '2401.99999'"),
    (["--from", "missing.tar.gz", "--id", HNN], "--from missing.tar.gz: no such file"),
    (["--from", "x.tar.gz"], "needs the paper's arXiv id: add --id <id>"),
    ([], "give an arXiv id"),
])
def test_bad_input_is_one_line_and_leaves_nothing(project, fake, env, args, message):
    fake.add_paper(HNN, 1, source_tarball())
    before = sorted(p.name for p in (project / "papers").iterdir())
    done = fetch(project, env, *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [done.stderr.splitlines()[-1]]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (project / "papers").iterdir()) == before
    if args and args[0] != "2011.1443":
        return
    assert fake.requests == []  # a malformed id is rejected before any request


def test_a_file_where_the_folder_should_go(project, fake, env):
    fake.add_paper(HNN, 1, source_tarball())
    (project / "papers" / "hnn").write_text("not a folder")
    done = fetch(project, env, HNN, "--name", "hnn")
    assert done.returncode == 1 and "papers/hnn is a file, not a folder" in done.stderr


def test_no_network_and_a_persistent_503_leave_no_cache_and_no_folder(project, fake, env, tmp_path):
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/pdf/1906.01563v1", *[Reply(503, headers={"Retry-After": "0"})] * 5)
    before = sorted(p.name for p in (project / "papers").iterdir())
    done = fetch(project, env, HNN)
    assert done.returncode == 1 and "failed: HTTP 503; try again later" in done.stderr
    assert not any((tmp_path / "cache" / "arxiv").iterdir())
    assert sorted(p.name for p in (project / "papers").iterdir()) == before
    fake.stop()
    offline = fetch(project, {**env, "WORKBENCH_ARXIV_API_URL": "http://127.0.0.1:9/api/query"}, HNN)
    assert offline.returncode == 1 and "cannot reach 127.0.0.1:9" in offline.stderr


def test_cached_fetch_works_with_the_server_gone(project, fake, env):
    fake.add_paper(HNN, 1, source_tarball())
    assert fetch(project, env, HNN, "--name", "hnn").returncode == 0
    shutil.rmtree(project / "papers" / "hnn")
    fake.stop()
    done = fetch(project, env, HNN, "--name", "hnn")
    assert done.returncode == 0, done.stderr
    assert "using the cached copy of 1906.01563v1" in done.stderr
    assert (project / "papers/hnn/paper/paper.pdf").is_file()


@pytest.mark.network
def test_real_arxiv_fetch(project, tmp_path):
    done = workbench(project, "fetch", "1906.01563", "--name", "hnn", env={"WORKBENCH_CACHE": str(tmp_path / "cache")},
                     timeout=600)
    assert done.returncode == 0, done.stderr
    meta = yaml.safe_load((project / "papers/hnn/paper.yaml").read_text())
    assert meta["title"] == "Hamiltonian Neural Networks" and meta["version"] >= 1
    assert (project / "papers/hnn/paper/paper.pdf").read_bytes().startswith(b"%PDF")
    assert os.path.getsize(project / "papers/hnn/claims.yaml") > 0


def test_fetch_outside_any_project_starts_one_in_the_working_folder(tmp_path, fake, env):
    fake.add_paper(HNN, 1, source_tarball())
    here = tmp_path / "new-project"
    here.mkdir()
    clean = {k: v for k, v in os.environ.items() if k != "WORKBENCH_ROOT"}
    done = subprocess.run([sys.executable, "-m", "workbench", "fetch", HNN, "--name", "hnn"], cwd=here,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "starting a workbench project here" in done.stderr
    assert (here / "papers" / "hnn" / "paper.yaml").is_file()
