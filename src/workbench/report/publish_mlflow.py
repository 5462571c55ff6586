"""`workbench report <paper> --mlflow`: the written report as one MLflow run in the project's store.

The store is --tracking-uri, else the training runs' logger.mlflow.tracking_uri (as recorded, else
as the paper's logger=mlflow config composes), else $MLFLOW_TRACKING_URI, else the project's
SQLite store reproductions/mlflow.db (tracking/mlflow.py). The run `<paper>-<stage>-report` sits
in the paper's experiment, nested under the stage's parent run beside the training runs it
reports on; publishing again replaces it (the old one goes to MLflow's deleted runs). It holds one
metric (our mean) and one tag (the verdict) per claim, and REPORT.md, report.html,
comparison.json and figures/ as artifacts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.report.publish import logger_options
from workbench.tracking import mlflow as store

REPORT_FILES = ("REPORT.md", "report.html", "comparison.json")


def publish_report_to_mlflow(repro_dir: Path, comparison: dict[str, Any], tracking_uri: str | None = None,
                             paper_dir: Path | None = None) -> str:
    """Log the report run; returns the tracking URI it wrote to. Raises on failure: the caller
    reports it, the local report is already written."""
    options = logger_options(paper_dir, repro_dir, comparison, "mlflow") if paper_dir else {}
    uri = store.resolve_tracking_uri(tracking_uri or options.get("tracking_uri"), repro_dir.parent)
    paper, stage = comparison["paper"]["name"], comparison["stage"]
    with store.store_lock(uri):
        client = store.open_client(uri)
        experiment = store.experiment_id(client, str(options.get("experiment") or paper), uri)
        parent = store.stage_parent(client, experiment, paper, stage)
        delete_report_runs(client, experiment, stage)
        run_id = client.create_run(experiment, run_name=f"{paper}-{stage}-report", tags={
            "workbench.job_type": "report", "mlflow.source.name": "workbench",
            **store.nested_run_tags(parent, paper, stage)}).info.run_id
    log_report(client, run_id, repro_dir, comparison)
    client.set_terminated(run_id, "FINISHED")
    return uri


def delete_report_runs(client: Any, experiment: str, stage: str) -> None:
    """The stage's earlier report runs go to MLflow's deleted runs: one report run per paper and stage."""
    earlier = client.search_runs([experiment], filter_string=(
        f"tags.`workbench.job_type` = 'report' AND tags.`workbench.stage` = '{stage}'"))
    for run in earlier:
        client.delete_run(run.info.run_id)


def log_report(client: Any, run_id: str, repro_dir: Path, comparison: dict[str, Any]) -> None:
    client.log_param(run_id, "stage", comparison["stage"])
    client.log_param(run_id, "commit", str(comparison.get("commit")))
    for claim in comparison["claims"]:
        client.set_tag(run_id, f"claim/{claim['id']}", claim["verdict"])
        if claim.get("direction") and claim["verdict"] == "not reproduced":
            client.set_tag(run_id, f"direction/{claim['id']}", claim["direction"])
        if claim["ours"]["mean"] is not None:
            client.log_metric(run_id, f"claim/{claim['id']}", float(claim["ours"]["mean"]))
    client.log_metric(run_id, "claims_reproduced", comparison["summary"]["reproduced"])
    client.log_metric(run_id, "claims_total", comparison["summary"]["total"])
    for file in REPORT_FILES:
        client.log_artifact(run_id, str(repro_dir / file))
    if (repro_dir / "figures").is_dir():
        client.log_artifacts(run_id, str(repro_dir / "figures"), artifact_path="figures")
