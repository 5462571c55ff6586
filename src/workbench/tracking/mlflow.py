"""MLflow: one tracking store per project; a run's local files mirrored to it (MlflowMirror).

The store is logger.mlflow.tracking_uri, else $MLFLOW_TRACKING_URI, else the SQLite database
reproductions/mlflow.db beside the papers' run folders (artifacts in reproductions/mlartifacts/),
so every paper's runs and reports can be compared in one `mlflow ui`. SQLite needs the full MLflow
(`pip install 'workbench[mlflow]'`): mlflow-skinny has no SQL store and no server.
Inside the store: one experiment per paper (logger.mlflow.experiment renames it), one parent run
per stage (`<paper>-<stage>`), and each training run nested under its stage's parent; the report
run (`workbench report --mlflow`, report/publish.py) nests there too.
Like WandbMirror (tracking/wandb.py): the run folder is the record, MLflow a copy that may fail.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterator

from rich.markup import escape

from workbench.console import stderr
from workbench.run import record
from workbench.tracking.mirror import start_failure

MAX_PARAM_CHARS = 500  # MLflow's file store rejects longer param values; SQL stores allow more
STORE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
PARENT_TAG = "workbench.stage_parent"  # marks the one parent run of a stage
FULL_MLFLOW_HINT = ("the SQLite store needs the full MLflow: pip install 'workbench[mlflow]' "
                    "(or point logger.mlflow.tracking_uri at an MLflow server)")


def default_tracking_uri(reproductions: Path) -> str:
    """sqlite:////<abs path>/reproductions/mlflow.db: the project's one store."""
    return f"sqlite:///{(reproductions / STORE_FILE).resolve()}"


def resolve_tracking_uri(configured: str | None, reproductions: Path) -> str:
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(reproductions)


def sqlite_file(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


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


def open_client(uri: str) -> Any:
    """An MlflowClient on the store; a missing SQL driver becomes the install hint."""
    database = sqlite_file(uri)
    if database is not None:
        try:
            import alembic  # noqa: F401  (mlflow-skinny lacks both; MLflow's error would name one)
            import sqlalchemy  # noqa: F401
        except ImportError:
            raise RuntimeError(FULL_MLFLOW_HINT) from None
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # "Creating initial MLflow database tables..."
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Sweep jobs start together: one at a time creates the database, experiment and stage parent."""
    database = sqlite_file(uri)
    if database is None:
        yield
        return
    from filelock import FileLock

    database.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{database}.lock", timeout=300):
        yield


def experiment_id(client: Any, name: str, uri: str) -> str:
    """The experiment's id, created (artifacts beside a SQLite store) or restored from the bin."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    database = sqlite_file(uri)
    location = (database.parent / ARTIFACTS_DIR / name).resolve().as_uri() if database else None
    return client.create_experiment(name, artifact_location=location)


def stage_parent(client: Any, experiment: str, paper: str, stage: str) -> str:
    """The parent run that groups a stage's runs, created the first time (finished: it only groups)."""
    found = client.search_runs([experiment], filter_string=f"tags.`{PARENT_TAG}` = '{stage}'", max_results=1)
    if found:
        return found[0].info.run_id
    run = client.create_run(experiment, run_name=f"{paper}-{stage}",
                            tags={PARENT_TAG: stage, "workbench.paper": paper, "workbench.stage": stage})
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def nested_run_tags(parent: str, paper: str, stage: str) -> dict[str, str]:
    return {"mlflow.parentRunId": parent, "workbench.paper": paper, "workbench.stage": stage}


def open_nested_run(uri: str, *, experiment: str, paper: str, stage: str, name: str,
                    tags: dict[str, str]) -> tuple[Any, str]:
    """(client, run id) of a new run under the stage's parent run.

    The client is made under the lock too: making it creates and migrates a new database."""
    with store_lock(uri):
        client = open_client(uri)
        exp = experiment_id(client, experiment, uri)
        parent = stage_parent(client, exp, paper, stage)
        run = client.create_run(exp, run_name=name, tags={**tags, **nested_run_tags(parent, paper, stage)})
    return client, run.info.run_id


def reproductions_dir(run_dir: Path, config: dict[str, Any]) -> Path:
    """reproductions/ (the parent of paths.repro_dir), where the default store lives."""
    repro_dir = (config.get("paths") or {}).get("repro_dir")
    return Path(repro_dir).parent if repro_dir else run_dir.parent


class MlflowMirror:
    """Params at start, metrics as they are logged, summary metrics and artifacts at the end."""

    def __init__(self, run_dir: Path, options: dict[str, Any], *, name: str, group: str,
                 job_type: str, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.client = None
        self.run_id: str | None = None
        self.failed = False
        paper = str((config.get("paper") or {}).get("name") or group)
        try:
            uri = resolve_tracking_uri(options.get("tracking_uri"), reproductions_dir(run_dir, config))
            self.client, self.run_id = open_nested_run(
                uri, experiment=str(options.get("experiment") or paper), paper=paper, stage=job_type, name=name,
                tags={"workbench.group": group, "workbench.job_type": job_type, "workbench.run_dir": str(run_dir),
                      "mlflow.source.name": "workbench"})
            from mlflow.entities import Param, RunTag

            params = [Param(k, v) for k, v in sorted(flat_params(config).items())]
            choices = [RunTag(f"choice.{k}", str(v)) for k, v in sorted((config.get("choices") or {}).items())]
            self.client.log_batch(self.run_id, tags=choices)
            for start in range(0, len(params), 100):  # log_batch takes at most 100 params
                self.client.log_batch(self.run_id, params=params[start:start + 100])
        except Exception as exc:  # mlflow raises many kinds; none may stop the run
            self._fail(start_failure(exc))

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
