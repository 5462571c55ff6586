"""MlflowMirror: the run's local files mirrored to MLflow; any failure warns once and disables it.

Like WandbMirror (tracking/wandb.py): the run folder is the record, MLflow a copy that may fail.
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

from workbench.console import stderr
from workbench.run import record

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
            for name in record.MIRRORED_FILES:
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
