"""The run folder: the only code that creates, writes and reads one (docs/run-folder.md).

reproductions/<paper>/runs/<stage>/<YYYYmmdd-HHMMSS>-<6 hex>/ holds

    config.yaml       the resolved config (secrets redacted), with the chosen option of each group
    overrides.yaml    the overrides as typed
    provenance.json   git, packages, device, seed, command, data hash; resumes appended
    metrics.jsonl     one JSON object a logging step: {"step", "split", name: value, ...}
    summary.json      status (running | completed | failed | diverged | interrupted) and final metrics
    analysis.json     error analysis the experiment offers (optional)
    pytest.log        a component-stage run's test output
    checkpoints/      last.pt and prev.pt (their format: run/checkpoints.py)

Every file but metrics.jsonl is written atomically. metrics.jsonl is appended a whole line at a
time and flushed, so a killed run leaves at most one torn last line; readers here skip it.

reproductions/<paper>/evidence/<stage>/<run>/ is the committed copy of a run a report uses: the
same files without checkpoints, metrics.jsonl gzipped to metrics.jsonl.gz when large. It reads
as a run folder; where a run is in both, runs/ wins.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import yaml

from workbench.errors import UserError
from workbench.files import atomic_write_json, atomic_write_text, atomic_write_yaml, json_safe, shown_path

CONFIG = "config.yaml"
OVERRIDES = "overrides.yaml"
PROVENANCE = "provenance.json"
METRICS = "metrics.jsonl"
METRICS_GZ = "metrics.jsonl.gz"
SUMMARY = "summary.json"
ANALYSIS = "analysis.json"
PYTEST_LOG = "pytest.log"
CHECKPOINTS = "checkpoints"
MIRRORED_FILES = (SUMMARY, CONFIG, OVERRIDES, PROVENANCE, ANALYSIS)  # what a tracker copies at the end
FINISHED = ("completed", "failed", "diverged", "interrupted")
EVIDENCE = "evidence"
EVIDENCE_FILES = (CONFIG, OVERRIDES, PROVENANCE, SUMMARY, ANALYSIS)  # and metrics.jsonl(.gz); never checkpoints
GZIP_METRICS_OVER = 1_000_000  # bytes: a larger metrics.jsonl is committed gzipped


@dataclass
class RunOutcome:
    """What became of one run: its status, its folder (None when it never started) and its summary."""

    status: str
    run_dir: Path | None
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == "completed"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- creating and writing


def new_run_dir(runs_dir: Path, stage: str) -> Path:
    """A fresh folder; the random suffix keeps runs started in the same second apart."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    while True:
        path = runs_dir / stage / f"{stamp}-{secrets.token_hex(3)}"
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:  # read-only, full, or not ours: no run can start here
            raise UserError(f"cannot create a run folder in {short_text(runs_dir / stage)} ({exc.strerror or exc}); "
                            f"make it writable, or choose another with paths.runs_dir=<folder>") from None


def create_run(runs_dir: Path, stage: str, config: dict[str, Any], overrides: list[str]) -> Path:
    """A new run folder holding the resolved config and the overrides, both already redacted;
    when they cannot be written (a full disk), no folder is left behind."""
    run_dir = new_run_dir(runs_dir, stage)
    try:
        atomic_write_yaml(run_dir / CONFIG, config)
        atomic_write_yaml(run_dir / OVERRIDES, overrides)
    except BaseException:
        discard_run(run_dir)
        raise
    return run_dir


def discard_run(run_dir: Path) -> None:
    """Remove a run folder that never started training: a half folder is worse than none."""
    shutil.rmtree(run_dir, ignore_errors=True)


def short_text(path: Path | str, limit: int = 160) -> str:
    """A path for a message: control characters escaped, its middle cut when it is absurdly long."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))  # a newline in a name stays visible
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]}"


def checkpoint_dir(run_dir: Path) -> Path:
    return run_dir / CHECKPOINTS


def config_hash(config: Any) -> str:
    """sha256 of a config's content (key order and YAML layout do not count)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def run_identity(run_dir: Path) -> dict[str, Any]:
    """What a checkpoint records about the run it belongs to: the folder's name and the hash of
    its config.yaml (None in a folder without one, e.g. a quick_fit folder)."""
    config = read_yaml_quietly(run_dir / CONFIG)
    return {"id": run_dir.name, "config_sha256": config_hash(config) if config is not None else None}


def write_provenance(run_dir: Path, provenance: dict[str, Any]) -> None:
    atomic_write_json(run_dir / PROVENANCE, provenance)


def append_resume(run_dir: Path, entry: dict[str, Any]) -> None:
    """provenance.json keeps a list of every resume: when, by which command, at which commit."""
    provenance = read_provenance(run_dir)
    provenance.setdefault("resumed", []).append(entry)
    write_provenance(run_dir, provenance)


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    atomic_write_json(run_dir / SUMMARY, summary)


def write_analysis(run_dir: Path, analysis: Any) -> None:
    atomic_write_json(run_dir / ANALYSIS, analysis)


def write_pytest_log(run_dir: Path, text: str) -> None:
    atomic_write_text(run_dir / PYTEST_LOG, text)


class MetricsFile:
    """metrics.jsonl, appended one flushed line a record."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / METRICS
        self._handle: IO[str] = self.path.open("a", encoding="utf-8")

    def append(self, step: int, split: str, metrics: dict[str, float]) -> None:
        record = {"step": step, "split": split, **json_safe(metrics)}
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def rewind(self, step: int) -> None:
        """On resume: keep the records up to the checkpoint's step, then append after them."""
        self._handle.close()
        truncate_metrics(self.path, step)
        self._handle = self.path.open("a", encoding="utf-8")

    def sync(self) -> None:
        """Make the records so far durable; called with every checkpoint."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


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


# ---------------------------------------------------------------- reading


def read_json_quietly(path: Path) -> Any:
    """The parsed file, or None when it is missing or not readable JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def safe_load_fast(text: str) -> Any:
    """yaml.safe_load, with libyaml's safe loader where PyYAML was built with it: the same
    documents, several times faster, which a report reading hundreds of run folders notices."""
    if hasattr(yaml, "CSafeLoader"):
        return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)


def read_yaml_quietly(path: Path) -> Any:
    """The parsed file, or None when it is missing or not readable YAML."""
    try:
        return safe_load_fast(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError):
        return None


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    data = read_json_quietly(run_dir / SUMMARY)
    return data if isinstance(data, dict) else None


def read_provenance(run_dir: Path) -> dict[str, Any]:
    data = read_json_quietly(run_dir / PROVENANCE)
    return data if isinstance(data, dict) else {}


def read_analysis(run_dir: Path) -> Any:
    return read_json_quietly(run_dir / ANALYSIS)


def read_overrides(run_dir: Path) -> list[str]:
    data = read_yaml_quietly(run_dir / OVERRIDES)
    return [item for item in data if isinstance(item, str)] if isinstance(data, list) else []


def read_config_for_resume(run_dir: Path) -> dict[str, Any]:
    """config.yaml of a run to continue; a folder that is not a run is one clear error."""
    path = run_dir / CONFIG
    try:
        present = path.is_file()
    except OSError as exc:  # a name too long for the file system, a folder we may not enter
        raise UserError(f"cannot read {short_text(run_dir)} ({exc.strerror or exc}); "
                        f"pass a run folder under reproductions/<paper>/runs/") from None
    if not present:
        raise UserError(f"{short_text(run_dir)} is not a run folder (no {CONFIG}); "
                        f"pass a folder under reproductions/<paper>/runs/")
    config = read_yaml_quietly(path)
    if not isinstance(config, dict):
        raise UserError(f"{shown_path(path)} is not a readable config (a mapping of keys); the run cannot be resumed")
    return config


def read_metrics(run: Path | dict[str, Any], warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a run's metrics.jsonl (or metrics.jsonl.gz), `{"step", "split", name: value}`, in file order.

    `run` is a run folder or a run as the report hands it to a paper's figures() (a dict with
    "path"). A torn last line (a run killed mid-write) and any other unreadable line are skipped;
    with a `warnings` list, each skipped line is named there as file:line.
    """
    folder = Path(run["path"] if isinstance(run, dict) else run)
    path = folder / METRICS
    if not path.exists() and (folder / METRICS_GZ).exists():
        path = folder / METRICS_GZ
    try:
        lines = metrics_text(path).splitlines()
    except FileNotFoundError:
        return []
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # OSError includes gzip's BadGzipFile
        if warnings is not None:
            warnings.append(f"{shown_path(path)}: not readable ({type(exc).__name__}); its learning curve is left out")
        return []
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if isinstance(row, dict) and isinstance(row.get("step"), (int, float)):
            rows.append(row)
        elif line.strip() and warnings is not None:
            warnings.append(f"{shown_path(path)}:{number}: not a JSON metrics row; skipped that line")
    return rows


def metrics_text(path: Path) -> str:
    """metrics.jsonl, or the gzipped copy an evidence folder may hold."""
    if path.name == METRICS_GZ:
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text(encoding="utf-8")


def run_folders(runs_dir: Path) -> list[Path]:
    """runs/<stage>/<run>, sorted, without hidden folders (Hydra's scratch runs/.hydra)."""
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.glob("*/*")
                  if p.is_dir() and not p.name.startswith(".") and not p.parent.name.startswith("."))


RUN_NAME = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # new_run_dir's names: their order is their start order


def stage_summaries(runs_dir: Path, stage: str) -> list[tuple[Path, dict[str, Any]]]:
    """(folder, summary) of a stage's runs, oldest first. Unreadable summaries and folders not
    named as new_run_dir names them (a copy, a backup, junk) are skipped: neither is "the latest run"."""
    summaries = []
    for folder in sorted((runs_dir / stage).glob("*")):
        if not RUN_NAME.fullmatch(folder.name) or not folder.is_dir():
            continue
        summary = read_summary(folder)
        if summary is not None:
            summaries.append((folder, summary))
    return summaries


STALE_AFTER_S = 6 * 3600  # no file of a run touched for this long: it is most likely not running


def stopped_while_running(folder: Path, summary: dict[str, Any]) -> str | None:
    """Why a run whose summary says "running" is in fact stopped (killed, host rebooted), or None
    while it may still run. Its summary names the process (pid on host) that wrote it."""
    pid, host = summary.get("pid"), summary.get("host")
    if isinstance(pid, int) and not isinstance(pid, bool) and host == socket.gethostname():
        return None if process_alive(pid) else f"its process ({pid}) is gone"
    newest = max((p.stat().st_mtime for p in (folder / SUMMARY, folder / METRICS) if p.exists()), default=None)
    if newest is not None and time.time() - newest > STALE_AFTER_S:
        return f"no file of it has changed for {(time.time() - newest) / 3600:.0f} h"
    return None


def process_alive(pid: int) -> bool:
    """A live process with this pid that is a workbench (a reused pid of another program is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return not cmdline.exists() or b"workbench" in cmdline.read_bytes()
    except OSError:
        return True


@dataclass
class RunRecord:
    """One finished run folder, as the report and status read it."""

    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    stage: str
    status: str
    seed: int | None

    def metric(self, key: str) -> float | None:
        """summary.json metrics[key] as a float, or None when absent or not a number."""
        value = (self.summary.get("metrics") or {}).get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    def logged_metrics(self) -> list[str]:
        return sorted((self.summary.get("metrics") or {}).keys())

    def overrides(self) -> list[str]:
        return read_overrides(self.path)

    def provenance(self) -> dict[str, Any]:
        return read_provenance(self.path)

    def analysis(self) -> Any:
        return read_analysis(self.path)

    def metric_rows(self, warnings: list[str] | None = None) -> list[dict[str, Any]]:
        return read_metrics(self.path, warnings)


def load_runs(runs_dir: Path, evidence_dir: Path | None = None) -> tuple[list[RunRecord], list[Path]]:
    """Finished runs under runs_dir/<stage>/<run>/ (and evidence_dir/<stage>/<run>/, where a run
    that is in both is read from runs_dir), and the folders skipped as incomplete.

    A run is incomplete while its summary.json is missing, unreadable or says "running", or its
    config.yaml cannot be read; such folders are returned, never raised on. Both lists are sorted
    by stage and run name.
    """
    folders = {run_name(p): p for p in run_folders(Path(evidence_dir))} if evidence_dir is not None else {}
    folders.update({run_name(p): p for p in run_folders(Path(runs_dir))})
    runs, skipped = [], []
    for folder in (folders[name] for name in sorted(folders)):
        record = read_run(folder)
        if record is None:
            skipped.append(folder)
        else:
            runs.append(record)
    return runs, skipped


def read_run(folder: Path) -> RunRecord | None:
    """A finished run, or None while it runs or when its files cannot be read (see skip_reason)."""
    summary = read_summary(folder)
    if summary is None or summary.get("status") not in FINISHED:
        return None
    config = read_yaml_quietly(folder / CONFIG)
    if not isinstance(config, dict) or not isinstance(config.get("choices"), dict):
        return None
    if not isinstance(summary.get("metrics"), dict):  # a failed run may write null
        summary["metrics"] = {}
    stage = summary.get("stage") if isinstance(summary.get("stage"), str) else folder.parent.name
    seed = summary.get("seed", config.get("seed"))
    seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
    return RunRecord(folder, config, summary, stage, summary["status"], seed)


def skip_reason(folder: Path) -> str:
    """Why load_runs skipped a run folder, in words a user can act on."""
    summary = read_json_quietly(folder / SUMMARY)
    if not (folder / SUMMARY).exists():
        return "no summary.json (it crashed before starting, or is starting now)"
    if summary is None:
        return "summary.json is not readable JSON (a run killed while writing it?)"
    if not isinstance(summary, dict):
        return f"summary.json holds a JSON {type(summary).__name__}, not an object of fields; it was not written by workbench"
    if summary.get("status") == "running":
        stopped = stopped_while_running(folder, summary)
        return f"stopped before finishing ({stopped}); `workbench resume {folder}` continues it" if stopped else "still running"
    if "status" not in summary:
        return "older summary schema: summary.json has no 'status'; re-run it with this workbench"
    if summary.get("status") not in FINISHED:
        return f"summary.json has an unknown status {summary.get('status')!r}"
    config = read_yaml_quietly(folder / CONFIG)
    if config is None:
        return "config.yaml is missing or not readable YAML"
    if not isinstance(config, dict):
        return f"config.yaml holds a YAML {type(config).__name__}, not a mapping of keys; it was not written by workbench"
    return ("older config schema: config.yaml has no 'choices' (the config groups it ran with), so no claim "
            "can select it; re-run it with this workbench")


# ---------------------------------------------------------------- evidence


def run_name(folder: Path) -> str:
    """"<stage>/<run>": a run's name, the same in runs/ and evidence/."""
    return f"{folder.parent.name}/{folder.name}"


def evidence_folder(repro_dir: Path, run: Path) -> Path:
    return repro_dir / EVIDENCE / run.parent.name / run.name


def evidence_changes(run: Path, dest: Path) -> tuple[dict[Path, bytes], list[Path]]:
    """What copying the files of `run` a report rests on into `dest` changes: the files to write
    (new or changed; files.atomic_write_many writes them) and the files of `dest` that `run` lacks,
    to remove. Nothing for a run read from `dest` itself."""
    if dest.exists() and dest.resolve() == run.resolve():
        return {}, []
    wanted = {name: (run / name).read_bytes() for name in EVIDENCE_FILES if (run / name).is_file()}
    if (run / METRICS).is_file():
        metrics = (run / METRICS).read_bytes()
        if len(metrics) > GZIP_METRICS_OVER:
            wanted[METRICS_GZ] = gzip.compress(metrics, mtime=0)  # mtime 0: the same bytes every time
        else:
            wanted[METRICS] = metrics
    elif (run / METRICS_GZ).is_file():
        wanted[METRICS_GZ] = (run / METRICS_GZ).read_bytes()
    writes, stale = {}, []
    for name in (*EVIDENCE_FILES, METRICS, METRICS_GZ):
        target = dest / name
        if name not in wanted:
            if target.exists():
                stale.append(target)
        elif not target.is_file() or target.read_bytes() != wanted[name]:
            writes[target] = wanted[name]
    return writes, stale


def remove_evidence_except(evidence_dir: Path, keep: set[Path]) -> None:
    """Delete the evidence folders of runs no report uses any more, then empty stage folders."""
    kept = {p.resolve() for p in keep}
    for folder in run_folders(evidence_dir):
        if folder.resolve() not in kept:
            shutil.rmtree(folder)
    for stage in sorted(evidence_dir.glob("*")):
        if stage.is_dir() and not any(stage.iterdir()):
            stage.rmdir()
