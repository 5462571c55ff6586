"""RunLogger: the run folder's local files are the record; W&B and MLflow are mirrors that may fail.

metrics.jsonl and summary.json are written through run/record.py, which owns the folder's files;
a mirror's failure warns once and never stops the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.run import record


class RunLogger:
    """Writes metrics.jsonl and summary.json in a run folder and feeds the mirrors."""

    def __init__(self, run_dir: Path, logger_cfg: dict[str, Any], *, name: str, group: str,
                 job_type: str, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.console = bool(logger_cfg.get("console", True))
        self._metrics = record.MetricsFile(run_dir)
        self.mirrors: list[Any] = []  # WandbMirror, MlflowMirror: log, summary, finish
        if logger_cfg.get("wandb"):
            from workbench.tracking.wandb import WandbMirror

            self.mirrors.append(WandbMirror(run_dir, dict(logger_cfg["wandb"]), name=name, group=group,
                                            job_type=job_type, config=config))
        if logger_cfg.get("mlflow"):
            from workbench.tracking.mlflow import MlflowMirror  # mlflow loads only when asked for

            self.mirrors.append(MlflowMirror(run_dir, dict(logger_cfg["mlflow"]), name=name, group=group,
                                             job_type=job_type, config=config))

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        self._metrics.append(step, split, metrics)
        for mirror in self.mirrors:
            mirror.log(step, split, metrics)

    def rewind(self, step: int) -> None:
        """On resume: keep the records up to the checkpoint's step, then append after them."""
        self._metrics.rewind(step)

    def sync(self) -> None:
        """Make metrics so far durable; called with every checkpoint."""
        self._metrics.sync()

    def write_summary(self, summary: dict[str, Any]) -> None:
        record.write_summary(self.run_dir, summary)

    def close(self, summary: dict[str, Any]) -> None:
        self.write_summary(summary)
        self._metrics.close()
        exit_code = 0 if summary.get("status") == "completed" else 1
        for mirror in self.mirrors:
            mirror.summary(summary)
            mirror.finish(exit_code)
