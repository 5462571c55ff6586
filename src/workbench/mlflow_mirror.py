"""MlflowMirror: the run's local files mirrored to MLflow; any failure warns once and disables it.

Like WandbMirror (logging.py): the run folder is the record, MLflow a copy that may fail.
The default store is a file store inside the run folder (`file:<run>/mlruns`), so a run needs
no server and its mirror travels with it. MLflow 3 refuses file stores unless
MLFLOW_ALLOW_FILE_STORE=true ("maintenance mode"); we set it for the default store only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rich.markup import escape

from workbench.logging import stderr

ARTIFACTS = ("summary.json", "config.yaml", "overrides.yaml", "provenance.json", "analysis.json")
MAX_PARAM_CHARS = 500  # MLflow rejects longer param values


def default_tracking_uri(folder: Path) -> str:
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (folder / "mlruns").resolve().as_uri()


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"optim": {"lr": 0.01}} -> {"optim.lr": "0.01"}; long values are cut to MLflow's limit."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(value)[:MAX_PARAM_CHARS]
    return out


class MlflowMirror:
    """Params at start, metrics as they are logged, summary metrics and artifacts at the end."""

    def __init__(self, run_dir: Path, options: dict[str, Any], *, name: str, group: str,
                 job_type: str, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.client = None
        self.run_id: str | None = None
        self.failed = False
        try:
            from mlflow.entities import Param, RunTag
            from mlflow.tracking import MlflowClient

            uri = options.get("tracking_uri") or default_tracking_uri(run_dir)
            self.client = MlflowClient(tracking_uri=uri)
            experiment = options.get("experiment") or group
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
            run = self.client.create_run(experiment_id, run_name=name,
                                         tags={"workbench.group": group, "workbench.job_type": job_type,
                                               "workbench.run_dir": str(run_dir)})
            self.run_id = run.info.run_id
            params = [Param(k, v) for k, v in sorted(flat_params(config).items())]
            for start in range(0, len(params), 100):  # log_batch takes at most 100 params
                self.client.log_batch(self.run_id, params=params[start:start + 100], tags=[RunTag("mlflow.source.name", "workbench")])
        except Exception as exc:  # mlflow raises many kinds; none may stop the run
            self._fail(f"could not start ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")

    def _fail(self, why: str) -> None:
        if not self.failed:
            stderr.print(f"[yellow]warning:[/] MLflow mirror disabled: {escape(why)}; the run and its local files go on")
        self.failed = True
        self.run_id = None

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        if self.run_id is None:
            return
        try:
            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            batch = [Metric(f"{split}/{k}", float(v), now, step) for k, v in metrics.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool)]
            self.client.log_batch(self.run_id, metrics=batch)
        except Exception as exc:
            self._fail(f"log failed ({type(exc).__name__})")

    def summary(self, summary: dict[str, Any]) -> None:
        if self.run_id is None:
            return
        try:
            for key in ("wall_time_s", "steps_per_s", "params", "peak_memory_mb"):
                value = summary.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.client.log_metric(self.run_id, f"run/{key}", float(value))
            self.client.set_tag(self.run_id, "workbench.status", str(summary.get("status")))
            for name in ARTIFACTS:
                if (self.run_dir / name).is_file():
                    self.client.log_artifact(self.run_id, str(self.run_dir / name))
        except Exception as exc:
            self._fail(f"summary failed ({type(exc).__name__})")

    def finish(self, exit_code: int) -> None:
        if self.run_id is None:
            return
        try:
            self.client.set_terminated(self.run_id, "FINISHED" if exit_code == 0 else "FAILED")
        except Exception as exc:
            self._fail(f"finish failed ({type(exc).__name__})")
        self.run_id = None


def publish_report_to_mlflow(repro_dir: Path, comparison: dict[str, Any], tracking_uri: str | None = None) -> str:
    """A run "report" in experiment <paper>-report: one metric per claim, the report files as artifacts.

    Returns the tracking URI it wrote to. Raises on failure: the caller reports it, the local
    report is already written.
    """
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or default_tracking_uri(repro_dir / "publish")
    client = MlflowClient(tracking_uri=uri)
    name = f"{comparison['paper']['name']}-report"
    found = client.get_experiment_by_name(name)
    experiment_id = found.experiment_id if found else client.create_experiment(name)
    run = client.create_run(experiment_id, run_name=name, tags={"workbench.job_type": "report"})
    run_id = run.info.run_id
    client.log_param(run_id, "stage", comparison["stage"])
    for claim in comparison["claims"]:
        client.set_tag(run_id, f"claim/{claim['id']}", claim["verdict"])
        if claim["ours"]["mean"] is not None:
            client.log_metric(run_id, f"claim/{claim['id']}", float(claim["ours"]["mean"]))
    client.log_metric(run_id, "claims_reproduced", comparison["summary"]["reproduced"])
    client.log_metric(run_id, "claims_total", comparison["summary"]["total"])
    for file in ("REPORT.md", "report.html", "comparison.json"):
        client.log_artifact(run_id, str(repro_dir / file))
    if (repro_dir / "figures").is_dir():
        client.log_artifacts(run_id, str(repro_dir / "figures"), artifact_path="figures")
    client.set_terminated(run_id, "FINISHED")
    return uri
