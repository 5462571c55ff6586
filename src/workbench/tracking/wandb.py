"""WandbMirror: a run's metrics and summary mirrored to a W&B run (offline unless asked otherwise).

Like every mirror (tracking/logger.py), a failure warns once and disables it; the run goes on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from workbench.console import stderr
from workbench.run.provenance import redact_arg


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
