"""`workbench report --publish`: W&B offline read back, the dry-run spec, W&B unreachable; MLflow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import workbench
from test_report import confusion, write_paper, write_run


@pytest.fixture
def reported(tmp_path, monkeypatch):
    """A tmp project with 3 cnn seeds and 3 mlp seeds, W&B offline and pointed at tmp."""
    write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, acc in enumerate([93.0, 94.0, 95.0]):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=acc, confusion=confusion(8))
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=80.0 + seed)
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        (tmp_path / var.lower()).mkdir()
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc key
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return tmp_path, repro


def inspect_offline(run_dir: Path) -> list[dict]:
    wandb_cli = Path(sys.executable).with_name("wandb")
    out = subprocess.run([str(wandb_cli), "leet", "inspect", "--json", str(run_dir)], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.mark.integration
def test_publish_offline_holds_the_table_images_artifact_and_one_summary_key_per_claim(reported):
    root, repro = reported
    proc = workbench(root, "report", "mnist1d", "--publish")
    assert proc.returncode == 0, proc.stderr
    [run_dir] = list((repro / "publish" / "wandb").glob("offline-run-*"))
    assert f"wandb sync reproductions/mnist1d/publish/wandb/{run_dir.name}" in " ".join(proc.stdout.split())
    records = inspect_offline(run_dir)

    [run] = [r["run"] for r in records if r["type"] == "run"]
    assert run["job_type"] == "report" and run["run_group"] == "mnist1d-reproduction"  # the training runs' group

    summary = {}
    for r in records:
        if r["type"] == "summary":
            summary.update(r["summary"]["update"])
    comparison = json.loads((repro / "comparison.json").read_text())
    for claim in comparison["claims"]:
        assert summary[f"claim/{claim['id']}"] == claim["verdict"]
    assert summary["claims_reproduced"] == comparison["summary"]["reproduced"]

    # the table: its file holds one row per claim, with our means
    assert summary["comparison._type"] == "table-file"
    table = json.loads((run_dir / "files" / summary["comparison.path"]).read_text())
    assert [row[0] for row in table["data"]] == [c["id"] for c in comparison["claims"]]
    assert table["data"][0][table["columns"].index("ours_mean")] == pytest.approx(94.0)

    # one image per figure
    figures = sorted(p.stem for p in (repro / "figures").glob("*.png"))
    images = sorted(k[len("figures/"):-len("._type")] for k, v in summary.items()
                    if k.startswith("figures/") and k.endswith("._type") and v == "image-file")
    assert images == figures and "claims_test_acc" in images

    # the report files as an artifact of type report
    [artifact] = [r["artifact"] for r in records if r["type"] == "artifact" and r["artifact"]["type"] == "report"]
    assert artifact["name"] == "mnist1d-report"
    assert sorted(c["path"] for c in artifact["manifest"]["contents"]) == ["REPORT.md", "comparison.json", "report.html"]


def test_dry_run_writes_the_spec_and_sends_nothing(reported):
    root, repro = reported
    proc = workbench(root, "report", "mnist1d", "--publish", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert not (repro / "publish" / "wandb").exists()
    spec = json.loads((repro / "publish" / "wandb_spec.json").read_text())
    assert spec["run"] == {"name": "mnist1d-report", "group": "mnist1d-reproduction", "job_type": "report"}
    assert [row[0] for row in spec["table"]["rows"]] == ["table1.cnn.standard.test_acc", "table1.mlp.standard.test_acc",
                                                        "table1.cnn.standard.test_loss"]
    assert spec["summary"]["claim/table1.mlp.standard.test_acc"] == "not reproduced"
    assert spec["summary"]["direction/table1.mlp.standard.test_acc"] == "better"
    blocks = spec["wandb_report"]["blocks"]
    assert "| table1.cnn.standard.test_acc |" in blocks[1]["text"]
    assert "| not reproduced (better) |" in blocks[1]["text"]
    assert blocks[2] == {"type": "line_plots", "runset_filter_group": "mnist1d-reproduction",
                         "metrics": ["test/acc", "test/loss"], "groupby": ["data", "model"]}
    # the Report's runset groups by every select key (both are config groups: under config.choices)
    assert spec["runset_groupby"] == ["config.choices.data", "config.choices.model"]
    # one report run per paper and stage, in the training runs' project (the default, as they record none)
    assert spec["id"] == "mnist1d-reproduction-report" and spec["project"] == "workbench" and spec["entity"] is None
    comparison = json.loads((repro / "comparison.json").read_text())
    assert spec["config"]["verdicts"] == comparison["summary"]["by_verdict"]
    assert spec["config"]["claims_reproduced"] == comparison["summary"]["reproduced"]
    assert spec["tags"][:3] == ["mnist1d", "reproduction", "report"]
    assert f"{comparison['summary']['by_verdict']['not reproduced']} not reproduced" in spec["tags"]


@pytest.mark.integration
def test_republishing_updates_one_report_run_in_the_project_and_entity_asked_for(reported):
    root, repro = reported
    for _ in range(2):
        proc = workbench(root, "report", "mnist1d", "--publish", "--project", "papers", "--entity", "me")
        assert proc.returncode == 0, proc.stderr
    assert "workbench sync mnist1d" in " ".join(proc.stdout.split())
    offline = sorted((repro / "publish" / "wandb").glob("offline-run-*"))
    assert len(offline) == 2
    runs = [next(r["run"] for r in inspect_offline(folder) if r["type"] == "run") for folder in offline]
    assert [run["run_id"] for run in runs] == ["mnist1d-reproduction-report"] * 2  # `wandb sync` updates one run
    assert runs[-1]["project"] == "papers" and runs[-1]["entity"] == "me"
    comparison = json.loads((repro / "comparison.json").read_text())
    config = runs[-1]["config"]["update"]
    assert config["paper"] == "mnist1d" and config["stage"] == "reproduction"
    assert config["verdicts"] == comparison["summary"]["by_verdict"]
    assert runs[-1]["tags"] == ["mnist1d", "reproduction", "report",
                                *(f"{n} {v}" for v, n in comparison["summary"]["by_verdict"].items() if n)]


@pytest.mark.integration
def test_online_without_a_key_publishes_offline_and_says_so(reported, monkeypatch):
    root, repro = reported
    monkeypatch.delenv("WANDB_MODE")
    proc = workbench(root, "report", "mnist1d", "--publish", "--online")
    assert proc.returncode == 0, proc.stderr
    assert "--online needs a W&B key" in proc.stderr
    assert list((repro / "publish" / "wandb").glob("offline-run-*"))


@pytest.mark.integration
def test_wandb_unreachable_falls_back_offline_and_the_local_report_is_written(reported, monkeypatch):
    root, repro = reported
    monkeypatch.delenv("WANDB_MODE")
    env = {"WANDB_API_KEY": "x" * 40, "WANDB_BASE_URL": "http://127.0.0.1:9",
           "WANDB_INIT_TIMEOUT": "3"}
    proc = workbench(root, "report", "mnist1d", "--publish", "--online", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "W&B unreachable" in proc.stderr and "publishing offline instead" in proc.stderr
    assert (repro / "REPORT.md").exists() and (repro / "report.html").exists()
    assert list((repro / "publish" / "wandb").glob("offline-run-*"))


# --- MLflow ------------------------------------------------------------------------------------


def mlflow_client(store: Path):
    """A client on the project's one store, reproductions/mlflow.db."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{store.resolve()}")


@pytest.mark.integration
def test_report_mlflow_logs_claims_and_the_report_files(reported, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root, repro = reported
    proc = workbench(root, "report", "mnist1d", "--mlflow")
    assert proc.returncode == 0, proc.stderr
    client = mlflow_client(root / "reproductions" / "mlflow.db")
    [run] = client.search_runs([client.get_experiment_by_name("mnist1d").experiment_id],
                               filter_string="tags.`workbench.job_type` = 'report'")
    assert run.data.metrics["claim/table1.cnn.standard.test_acc"] == pytest.approx(94.0)
    assert run.data.tags["claim/table1.mlp.standard.test_acc"] == "not reproduced"
    assert run.data.tags["direction/table1.mlp.standard.test_acc"] == "better"
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"REPORT.md", "report.html", "comparison.json", "figures"} <= files
    assert "figures/claims_test_acc.png" in {a.path for a in client.list_artifacts(run.info.run_id, "figures")}


@pytest.mark.integration
def test_training_run_mirrors_params_metrics_and_artifacts_to_mlflow(project, monkeypatch):
    from conftest import run_dirs

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic", "logger=mlflow")
    assert proc.returncode == 0, proc.stderr
    assert "MLflow mirror disabled" not in proc.stderr
    [run_dir] = run_dirs(project, "prototype")
    client = mlflow_client(project / "reproductions" / "mlflow.db")
    [run] = client.search_runs([client.get_experiment_by_name("mnist1d").experiment_id],
                               filter_string="tags.`workbench.job_type` = 'prototype'")
    assert run.data.params["model.name"] == "logistic" and run.data.params["trainer.max_steps"] == "20"
    local = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for record in local:
        for name, value in record.items():
            if name in ("step", "split"):
                continue
            history = client.get_metric_history(run.info.run_id, f"{record['split']}/{name}")
            assert any(m.step == record["step"] and m.value == pytest.approx(value) for m in history)
    assert run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"summary.json", "config.yaml", "provenance.json"} <= artifacts


def test_a_broken_mlflow_store_warns_once_and_never_raises(tmp_path, capsys):
    from workbench.tracking.mlflow import MlflowMirror

    (tmp_path / "not-a-dir").write_text("a file where the store should be")
    mirror = MlflowMirror(tmp_path / "run", {"tracking_uri": f"file://{tmp_path / 'not-a-dir'}/store"},
                          name="r", group="g", job_type="prototype", config={"seed": 0})
    mirror.log(1, "train", {"loss": 1.0})
    mirror.summary({"status": "completed"})
    mirror.finish(0)
    assert capsys.readouterr().err.count("MLflow mirror disabled") == 1


def test_the_report_run_goes_where_most_of_its_training_runs_went(tmp_path):
    import yaml

    from conftest import REPO
    from workbench.report.publish import logger_options

    repro = tmp_path / "mnist1d"
    projects = {"runs/reproduction/a": "mine", "runs/reproduction/b": "mine", "evidence/reproduction/c": "other"}
    for name, project in projects.items():
        (repro / name).mkdir(parents=True)
        config = {"logger": {"wandb": {"project": project, "entity": None, "mode": "offline"}}}
        (repro / name / "config.yaml").write_text(yaml.safe_dump(config))
    comparison = {"claims": [{"runs": [{"run": name} for name in projects]}]}
    options = logger_options(REPO / "papers" / "mnist1d", repro, comparison, "wandb")
    assert options["project"] == "mine"  # recorded by most runs, over the config's "workbench"
    assert options["log_model"] is False  # from the paper's composed logger=wandb config
    assert logger_options(tmp_path / "no-paper", repro, {"claims": []}, "wandb") == {}
