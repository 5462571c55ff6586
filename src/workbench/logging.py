"""RunLogger: the run folder's local files are the record; W&B and MLflow are mirrors that may fail.

metrics.jsonl gets one JSON object per logging step, `{"step", "split", name: value, ...}`, each
written with a single `write` and flushed, so a killed run leaves at most one torn last line,
which `truncate_metrics` drops on resume.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from workbench.files import atomic_write_json, atomic_write_text, json_safe
from workbench.provenance import redact_arg

stderr = Console(stderr=True, soft_wrap=True)


class WandbMirror:
    """Mirrors metrics and the summary to a W&B run. Any failure warns once and disables it."""

    def __init__(self, run_dir: Path, options: dict[str, Any], *, name: str, group: str,
                 job_type: str, config: dict[str, Any]) -> None:
        self.run = None
        self.failed = False
        os.environ.setdefault("WANDB_SILENT", "true")
        mode = str(options.get("mode", "offline"))
        try:
            self.run = self._init(run_dir, options, mode, name, group, job_type, config)
        except Exception as exc:  # wandb raises many kinds; none may stop the run
            if mode != "online":
                self._fail(f"could not start ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
                return
            stderr.print(f"[yellow]warning:[/] W&B online failed ({type(exc).__name__}); mirroring offline instead. "
                         f"Run `wandb login` and `wandb sync {run_dir / 'wandb'}` to upload later.")
            try:
                self.run = self._init(run_dir, options, "offline", name, group, job_type, config)
            except Exception as exc2:
                self._fail(f"could not start offline either ({type(exc2).__name__})")

    @staticmethod
    def _init(run_dir: Path, options: dict[str, Any], mode: str, name: str, group: str,
              job_type: str, config: dict[str, Any]) -> Any:
        import wandb

        if mode not in ("online", "offline", "disabled"):
            raise ValueError(f"logger.wandb.mode={mode} is not online, offline or disabled")
        argv = sys.argv
        sys.argv = [redact_arg(arg) for arg in argv]  # W&B records the command line: no api_key=... in it
        try:
            return wandb.init(
                project=options.get("project") or "workbench",
                entity=options.get("entity"),
                group=options.get("group") or group,
                job_type=job_type,
                name=name,
                id=name.replace("/", "-"),
                resume="allow",
                tags=list(options.get("tags") or []),
                dir=str(run_dir),
                mode=mode,
                config=config,
                settings=wandb.Settings(init_timeout=30),
            )
        finally:
            sys.argv = argv

    def _fail(self, why: str) -> None:
        if not self.failed:
            stderr.print(f"[yellow]warning:[/] W&B mirror disabled: {escape(why)}; the run and its local files go on")
        self.failed = True
        if self.run is not None:
            release_wandb()
        self.run = None

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        if self.run is None:
            return
        try:
            self.run.log({f"{split}/{k}": v for k, v in metrics.items()}, step=step)
        except Exception as exc:
            self._fail(f"log failed ({type(exc).__name__})")

    def summary(self, summary: dict[str, Any]) -> None:
        if self.run is None:
            return
        try:
            for key, value in summary.get("metrics", {}).items():
                self.run.summary[key] = value
            for key in ("status", "wall_time_s", "steps_per_s", "params", "step"):
                self.run.summary[key] = summary.get(key)
        except Exception as exc:
            self._fail(f"summary failed ({type(exc).__name__})")

    def finish(self, exit_code: int) -> None:
        if self.run is None:
            return
        try:
            self.run.finish(exit_code=exit_code)
        except Exception as exc:
            self._fail(f"finish failed ({type(exc).__name__})")
        self.run = None


def release_wandb() -> None:
    """Tear W&B down now: its exit hook would otherwise print a traceback when its process is dead."""
    try:
        import wandb

        wandb.teardown()
    except Exception:  # the service is already gone: nothing left to release
        pass


class RunLogger:
    """Writes metrics.jsonl and summary.json in a run folder and feeds the mirrors."""

    def __init__(self, run_dir: Path, logger_cfg: dict[str, Any], *, name: str, group: str,
                 job_type: str, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.console = bool(logger_cfg.get("console", True))
        self.metrics_path = run_dir / "metrics.jsonl"
        run_dir.mkdir(parents=True, exist_ok=True)
        self._metrics = self.metrics_path.open("a", encoding="utf-8")
        self.mirrors: list[Any] = []  # WandbMirror, MlflowMirror: log, summary, finish
        if logger_cfg.get("wandb"):
            self.mirrors.append(WandbMirror(run_dir, dict(logger_cfg["wandb"]), name=name, group=group,
                                            job_type=job_type, config=config))
        if logger_cfg.get("mlflow"):
            from workbench.mlflow_mirror import MlflowMirror  # mlflow loads only when asked for

            self.mirrors.append(MlflowMirror(run_dir, dict(logger_cfg["mlflow"]), name=name, group=group,
                                             job_type=job_type, config=config))

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        record = {"step": step, "split": split, **json_safe(metrics)}
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()
        for mirror in self.mirrors:
            mirror.log(step, split, metrics)

    def rewind(self, step: int) -> None:
        """On resume: keep the records up to the checkpoint's step, then append after them."""
        self._metrics.close()
        truncate_metrics(self.metrics_path, step)
        self._metrics = self.metrics_path.open("a", encoding="utf-8")

    def sync(self) -> None:
        """Make metrics so far durable; called with every checkpoint."""
        self._metrics.flush()
        os.fsync(self._metrics.fileno())

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.run_dir / "summary.json", summary)

    def close(self, summary: dict[str, Any]) -> None:
        self.write_summary(summary)
        self._metrics.close()
        exit_code = 0 if summary.get("status") == "completed" else 1
        for mirror in self.mirrors:
            mirror.summary(summary)
            mirror.finish(exit_code)


def truncate_metrics(path: Path, last_step: int) -> None:
    """Keep the records up to a checkpoint's step; drop later ones and a torn last line."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("step", 0) <= last_step:
            kept.append(line)
    atomic_write_text(path, "".join(f"{line}\n" for line in kept))

