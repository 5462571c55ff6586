"""W&B: a run's metrics, summary and files mirrored to a W&B run (offline unless asked otherwise),
and `workbench sync <paper>`, which uploads every offline run of a paper in one `wandb sync`.

Each training run goes to logger.wandb.project/entity, in group <paper>-<stage>, tagged with the
paper, the stage, each chosen config option (model=cnn) and `debug` for debug presets; at the end
its summary.json, config.yaml, overrides.yaml, provenance.json and analysis.json go up as a
"run-files" artifact, and with logger.wandb.log_model=true its last checkpoint as a "model"
artifact. Offline runs stay in <run folder>/wandb/, so they travel with the run folder.
Like every mirror (tracking/logger.py), a failure warns once and disables it; the run goes on.
"""

from __future__ import annotations

import difflib
import netrc
import os
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from workbench.console import stderr
from workbench.errors import ConfigError
from workbench.files import shown_path
from workbench.run import record
from workbench.tracking.mirror import start_failure
from workbench.run.provenance import redact_arg

MAX_TAG_CHARS = 64  # W&B refuses longer tags
MODES = ("online", "offline", "disabled")
PLUMBING_GROUPS = ("stage", "logger", "paths", "launcher")  # choices that say nothing about the experiment


def run_tags(config: dict[str, Any], stage: str, extra: list[str]) -> list[str]:
    """paper, stage, group=option for each chosen config option, `debug` for debug presets, then extra."""
    choices = config.get("choices") or {}
    paper = (config.get("paper") or {}).get("name")
    tags = [str(paper)] if paper else []
    tags.append(stage)
    tags += [f"{group}={option}" for group, option in sorted(choices.items()) if group not in PLUMBING_GROUPS]
    if choices.get("debug"):
        tags.append("debug")
    tags += [str(tag) for tag in extra]
    return list(dict.fromkeys(tag[:MAX_TAG_CHARS] for tag in tags))


def check_mode(logger_cfg: Any) -> None:
    """logger.wandb.mode is refused before a run starts, like any other typo in a config value."""
    options = logger_cfg.get("wandb") if isinstance(logger_cfg, dict) else None
    mode = options.get("mode", "offline") if isinstance(options, dict) else "offline"
    if mode not in MODES:
        close = difflib.get_close_matches(str(mode), MODES, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"logger.wandb.mode={mode!r} is not one of {', '.join(MODES)}.{hint}")


class WandbMirror:
    """Mirrors metrics and the summary to a W&B run. Any failure warns once and disables it."""

    def __init__(self, run_dir: Path, options: dict[str, Any], *, name: str, group: str,
                 job_type: str, config: dict[str, Any]) -> None:
        self.run = None
        self.failed = False
        self.run_dir = run_dir
        self.log_model = bool(options.get("log_model", False))
        self.paper = str((config.get("paper") or {}).get("name") or group)
        os.environ.setdefault("WANDB_SILENT", "true")  # W&B's banner would bury the progress bar
        mode = str(options.get("mode", "offline"))
        try:
            self.run = self._init(run_dir, options, mode, name, group, job_type, config)
        except Exception as exc:  # wandb raises many kinds; none may stop the run
            if mode != "online":
                self._fail(start_failure(exc))
                return
            stderr.print(f"[yellow]warning:[/] W&B online failed ({type(exc).__name__}); mirroring offline instead. "
                         f"Run `wandb login`, then `workbench sync {escape(self.paper)}` to upload it.", soft_wrap=True)
            try:
                self.run = self._init(run_dir, options, "offline", name, group, job_type, config)
            except Exception as exc2:
                self._fail(f"could not start offline either ({type(exc2).__name__})")

    @staticmethod
    def _init(run_dir: Path, options: dict[str, Any], mode: str, name: str, group: str,
              job_type: str, config: dict[str, Any]) -> Any:
        import wandb

        check_mode({"wandb": {"mode": mode}})
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
                tags=run_tags(config, job_type, list(options.get("tags") or [])),
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
            self._log_artifacts()
        except Exception as exc:
            self._fail(f"summary failed ({type(exc).__name__})")

    def _log_artifacts(self) -> None:
        import wandb

        files = wandb.Artifact(f"{self.run.id}-files", type="run-files")
        for name in record.MIRRORED_FILES:
            if (self.run_dir / name).is_file():
                files.add_file(str(self.run_dir / name), name=name)
        self.run.log_artifact(files)
        last = self._last_checkpoint()
        if self.log_model and last is not None:
            model = wandb.Artifact(f"{self.run.id}-model", type="model")
            model.add_file(str(last), name=last.name)
            self.run.log_artifact(model, aliases=["latest"])

    def _last_checkpoint(self) -> Path | None:
        from workbench.run.checkpoints import CHECKPOINT_NAMES

        last = record.checkpoint_dir(self.run_dir) / CHECKPOINT_NAMES[0]
        return last if last.is_file() else None

    def finish(self, exit_code: int) -> None:
        if self.run is None:
            return
        offline = self.run.settings.mode == "offline"
        try:
            self.run.finish(exit_code=exit_code)
        except Exception as exc:
            self._fail(f"finish failed ({type(exc).__name__})")
        self.run = None
        if offline and not self.failed:  # WANDB_SILENT hides W&B's own hint
            stderr.print(f"W&B run saved offline in {escape(shown_path(self.run_dir / 'wandb'))}; upload it with "
                         f"`workbench sync {escape(self.paper)}`", soft_wrap=True, highlight=False)


def release_wandb() -> None:
    """Tear W&B down now: its exit hook would otherwise print a traceback when its process is dead."""
    try:
        import wandb

        wandb.teardown()
    except Exception:  # the service is already gone: nothing left to release
        pass


# --- workbench sync ---------------------------------------------------------------------------


def has_wandb_key() -> bool:
    """WANDB_API_KEY, or an api.wandb.ai entry in ~/.netrc (what `wandb login` writes)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def offline_runs(repro_dir: Path) -> list[Path]:
    """A paper's W&B offline runs not uploaded yet (training runs' and the report's), oldest first."""
    wandb_dirs = [folder / "wandb" for folder in record.run_folders(repro_dir / "runs")]
    wandb_dirs.append(repro_dir / "publish" / "wandb")
    found = [run for folder in wandb_dirs for run in folder.glob("offline-run-*") if run.is_dir() and not is_synced(run)]
    return sorted(found, key=lambda run: run.name)  # offline-run-<YYYYMMDD_HHMMSS>-<id>: start order


def is_synced(offline_run: Path) -> bool:
    """`wandb sync` leaves run-<id>.wandb.synced beside the run's log once it is uploaded."""
    return any(offline_run.glob("*.wandb.synced"))


def sync_command(runs: list[Path], *, project: str | None = None, entity: str | None = None,
                 dry_run: bool = False) -> list[str]:
    """One `wandb sync` for every run; a re-published report run (same id) is synced in order."""
    command = [sys.executable, "-m", "wandb", "sync", "--skip-synced"]
    command += ["--project", project] if project else []
    command += ["--entity", entity] if entity else []
    command += ["--dry-run"] if dry_run else []
    return command + [str(run) for run in runs]
