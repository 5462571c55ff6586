"""MLflow: one store per project, runs nested by paper and stage, the report beside them, all read
back over the REST API of an `mlflow server` started on 127.0.0.1 as configs/logger/mlflow.yaml says."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import workbench
from test_publish import reported  # noqa: F401  (the fixture: a tmp project with a written report's runs)

MLFLOW_CLI = Path(sys.executable).with_name("mlflow")


def test_the_default_store_is_one_sqlite_database_under_reproductions(tmp_path, monkeypatch):
    from workbench.tracking.mlflow import resolve_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path / "reproductions") == f"sqlite:///{tmp_path}/reproductions/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://127.0.0.1:5000"
    assert resolve_tracking_uri("sqlite:///elsewhere.db", tmp_path) == "sqlite:///elsewhere.db"


def test_without_the_full_mlflow_the_mirror_says_which_extra_to_install(tmp_path, monkeypatch, capsys):
    from workbench.tracking.mlflow import MlflowMirror

    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as under mlflow-skinny alone: import fails
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mirror = MlflowMirror(tmp_path / "run", {}, name="r", group="g", job_type="prototype", config={"seed": 0})
    mirror.log(1, "train", {"loss": 1.0})
    mirror.finish(0)
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("MLflow mirror disabled") == 1
    assert "pip install 'workbench[mlflow]'" in err


def training_run(repro: Path, name: str, stage: str, model: str, loss: float) -> None:
    """What `workbench run ... logger=mlflow` does with a run, in process: start, log, summary, finish.
    Its folder sits outside runs/, so the report does not read it as one of its runs."""
    from workbench.tracking.mlflow import MlflowMirror

    run_dir = repro.parent.parent / "mirrored" / name
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(json.dumps({"status": "completed"}))
    config = {"paper": {"name": "mnist1d"}, "paths": {"repro_dir": str(repro)}, "seed": 0,
              "choices": {"stage": stage, "model": model}, "optim": {"lr": 0.01}}
    mirror = MlflowMirror(run_dir, {"tracking_uri": None, "experiment": None}, name=f"mnist1d-{stage}-{name}",
                          group=f"mnist1d-{stage}", job_type=stage, config=config)
    mirror.log(10, "train", {"loss": loss})
    mirror.summary({"status": "completed", "wall_time_s": 1.5})
    mirror.finish(0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 240  # the server imports all of MLflow: tens of seconds on a busy machine
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"mlflow server did not answer within 240 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def start_mlflow_server(reported):  # noqa: F811
    """Starts `mlflow server` on the project's store from the project folder, as mlflow.yaml says;
    returns its base URL once it answers. Called after the store is written: the server migrates
    a database it opens, which must not race the runs creating it."""
    if not MLFLOW_CLI.exists():
        pytest.skip("no mlflow command in this environment: pip install 'workbench[mlflow]'")
    try:
        import flask  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        pytest.skip("mlflow server needs the full MLflow (Flask, SQLAlchemy): pip install 'workbench[mlflow]'")
    root, _ = reported
    servers: list[subprocess.Popen] = []

    def start() -> str:
        port, log = free_port(), root / "mlflow-server.log"
        with log.open("w") as out:
            servers.append(subprocess.Popen(
                [str(MLFLOW_CLI), "server", "--backend-store-uri", "sqlite:///reproductions/mlflow.db",
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))  # its workers share the session: stopped together
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, servers[0], log)
        return base

    yield start
    for server in servers:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.integration
def test_training_runs_and_the_report_share_one_store_read_back_over_rest(reported, start_mlflow_server, monkeypatch):  # noqa: F811
    root, repro = reported
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    training_run(repro, "20261123-130000-aaaaa0", "reproduction", "cnn", 0.5)
    training_run(repro, "20261123-140000-bbbbb0", "reproduction", "mlp", 0.7)
    training_run(repro, "20261123-100000-ccccc0", "prototype", "cnn", 0.9)
    for _ in range(2):  # publishing again replaces the stage's report run
        proc = workbench(root, "report", "mnist1d", "--mlflow")
        assert proc.returncode == 0, proc.stderr
        assert "MLflow publish failed" not in proc.stderr
    assert (root / "reproductions" / "mlflow.db").is_file() and not (repro / "publish" / "mlruns").exists()

    base = start_mlflow_server()
    api = f"{base}/api/2.0/mlflow"
    experiment = get(f"{api}/experiments/get-by-name?experiment_name=mnist1d")["experiment"]
    runs = post(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 100})["runs"]
    tags = {run["info"]["run_name"]: {t["key"]: t["value"] for t in run["data"].get("tags", [])} for run in runs}
    by_name = {run["info"]["run_name"]: run for run in runs}
    assert sorted(tags) == ["mnist1d-prototype", "mnist1d-prototype-20261123-100000-ccccc0", "mnist1d-reproduction",
                            "mnist1d-reproduction-20261123-130000-aaaaa0", "mnist1d-reproduction-20261123-140000-bbbbb0",
                            "mnist1d-reproduction-report"]  # one report run, though published twice

    # each run nests under its stage's parent run; the report beside the training runs it reports on
    parents = {stage: by_name[f"mnist1d-{stage}"]["info"]["run_id"] for stage in ("prototype", "reproduction")}
    for name, run_tags in tags.items():
        if name not in ("mnist1d-prototype", "mnist1d-reproduction"):
            assert run_tags["mlflow.parentRunId"] == parents[run_tags["workbench.stage"]], name
    assert tags["mnist1d-reproduction-20261123-140000-bbbbb0"]["choice.model"] == "mlp"
    trained = by_name["mnist1d-reproduction-20261123-130000-aaaaa0"]
    assert trained["info"]["status"] == "FINISHED"
    assert {m["key"]: m["value"] for m in trained["data"]["metrics"]}["train/loss"] == pytest.approx(0.5)
    assert {p["key"]: p["value"] for p in trained["data"]["params"]}["optim.lr"] == "0.01"

    report = by_name["mnist1d-reproduction-report"]
    comparison = json.loads((repro / "comparison.json").read_text())
    for claim in comparison["claims"]:
        assert tags["mnist1d-reproduction-report"][f"claim/{claim['id']}"] == claim["verdict"]
    metrics = {m["key"]: m["value"] for m in report["data"]["metrics"]}
    assert metrics["claims_total"] == comparison["summary"]["total"]

    # artifacts are served too: the report files beside the store
    query = urllib.parse.urlencode({"run_id": report["info"]["run_id"]})
    files = {f["path"] for f in get(f"{api}/artifacts/list?{query}")["files"]}
    assert {"REPORT.md", "report.html", "comparison.json", "figures"} <= files
    with urllib.request.urlopen(f"{base}/", timeout=30) as page:  # the UI the yaml's command promises
        assert b"<html" in page.read().lower()


SWEEP_JOB = """
import sys, time
from pathlib import Path
import mlflow.tracking  # imported before the start signal, so the jobs reach the store together
from workbench.tracking.mlflow import MlflowMirror
repro, name = Path(sys.argv[1]), sys.argv[2]
while not (repro / "go").exists():
    time.sleep(0.05)
config = {"paper": {"name": "mnist1d"}, "paths": {"repro_dir": str(repro)}, "choices": {"stage": "reproduction"}}
mirror = MlflowMirror(repro / name, {}, name=name, group="mnist1d-reproduction", job_type="reproduction", config=config)
mirror.finish(0)
"""


@pytest.mark.integration
def test_sweep_jobs_starting_together_share_one_new_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    repro = tmp_path / "reproductions" / "mnist1d"
    repro.mkdir(parents=True)
    jobs = [subprocess.Popen([sys.executable, "-c", SWEEP_JOB, str(repro), f"job{i}"], stderr=subprocess.PIPE, text=True)
            for i in range(3)]
    time.sleep(1)
    (repro / "go").touch()
    errors = [job.communicate(timeout=300)[1] for job in jobs]
    assert not any("MLflow mirror disabled" in err for err in errors), errors

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'reproductions' / 'mlflow.db'}")
    [experiment] = [e for e in client.search_experiments() if e.name != "Default"]
    runs = client.search_runs([experiment.experiment_id])
    [parent] = [r for r in runs if r.info.run_name == "mnist1d-reproduction"]
    children = sorted(r.info.run_name for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id)
    assert children == ["job0", "job1", "job2"] and len(runs) == 4
