"""Shared helpers of the fault suite: a tally the figures come from, a scan for half-written
files, reference runs, and a way to start the real `workbench` with a fault armed inside it.

Every test records what it did with `tally(kind)`; with WORKBENCH_FAULT_TALLY set (by
benchmarks/fault_report.py) each record is appended as one JSON line to that file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from conftest import REPO, copy_project, run_dirs, summary, workbench

INJECT = Path(__file__).with_name("inject.py")
# Hypothesis examples per fuzz test: small in the fast tier; benchmarks/fault_report.py scales them up.
FUZZ_SCALE = float(os.environ.get("WORKBENCH_FUZZ_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, int(n * FUZZ_SCALE))


KINDS = ("faults_injected", "runs_resumed_exactly", "bad_inputs_tried", "crashes", "partial_files", "secrets_leaked",
         "html_injections_tried", "html_injections_escaped", "resumes_refused", "fooled")
# fooled: a gate shown passed that its own run did not pass, or a resume that went ahead on a
# checkpoint or config that is not the run's own. Recorded before the assertion that fails on it.

# A small run with many checkpoints: 400 steps of the MLP, a checkpoint every 50 (about 3 s).
RUN = ("run", "mnist1d", "stage=prototype", "model=mlp", "trainer.max_steps=400", "trainer.eval_every=50",
       "trainer.log_every=10", "trainer.checkpoint_every=50", "trainer.threads=1", "logger=none")


def tally(kind: str, n: int = 1, **detail: object) -> None:
    assert kind in KINDS, kind
    path = os.environ.get("WORKBENCH_FAULT_TALLY")
    if path and n:
        with open(path, "a", encoding="utf-8") as handle:  # one short line per write: appends do not interleave
            handle.write(json.dumps({"kind": kind, "n": n, "test": os.environ.get("PYTEST_CURRENT_TEST", ""),
                                     **{k: str(v) for k, v in detail.items()}}) + "\n")


def expect_one_line(call, what: str, names: str | None = None):
    """call()'s result, or None when it raised one clean UserError (one line, naming `names`);
    anything else is a crash, tallied and raised."""
    from workbench.errors import UserError

    tally("bad_inputs_tried", what=what)
    try:
        return call()
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message.strip(), message
        assert names is None or names in message, (names, message)
        return None
    except Exception as exc:
        tally("crashes", input=what, error=repr(exc)[:300])
        raise


def one_line_error(stderr: str) -> str:
    """The last line of a failed command's stderr, which must be its one `error:` line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), stderr
    return lines[-1]


def crash_check(stderr: str, what: str) -> bool:
    """A traceback or an internal error on stderr is a crash: record it, return True."""
    crashed = "Traceback (most recent call last)" in stderr
    if crashed:
        tally("crashes", input=what, stderr=stderr[-2000:])
    return crashed


# ---------------------------------------------------------------- half-written files


def partial_files(root: Path) -> list[str]:
    """Files whose final name claims a complete file but whose content is cut or damaged.

    Temp files of atomic writes (.name.XXXX.tmp) do not claim anything and are listed by
    `temp_files`. W&B's own folders are W&B's format and are not checked here.
    """
    bad = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if "wandb" in path.relative_to(root).parts or path.name.endswith(".tmp") or "papers" in path.relative_to(root).parts:
            continue
        problem = file_problem(path)
        if problem:
            bad.append(f"{path.relative_to(root)}: {problem}")
    for run in root.glob("reproductions/*/runs/*/*"):
        bad += [f"{run.relative_to(root)}: {p}" for p in run_problems(run)]
    tally("partial_files", len(bad), found="; ".join(bad))
    return bad


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.tmp") if "wandb" not in p.parts)


def file_problem(path: Path) -> str | None:
    data = path.read_bytes()
    try:
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".yaml":
            import yaml
            yaml.safe_load(data)
        elif path.suffix == ".pt":
            from workbench.run.checkpoints import verify_digest
            payload = torch.load(path, map_location="cpu", weights_only=True)
            verify_digest(payload)
        elif path.suffix == ".png":
            if not (data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")):
                return "not a whole PNG"
        elif path.suffix == ".html":
            if not data.rstrip().endswith(b"</html>"):
                return "HTML cut short"
        elif path.suffix == ".jsonl":
            lines = data.decode().split("\n")
            for line in lines[:-1]:  # a torn last line is allowed while a run is not finished (run_problems)
                json.loads(line)
    except Exception as exc:  # any failure to read back is the finding
        return f"{type(exc).__name__}: {str(exc)[:100]}"
    return None


def run_problems(run: Path) -> list[str]:
    """A run whose summary says completed must be whole: metrics end cleanly at its last step."""
    try:
        record = json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        return []  # no summary: the report skips it as incomplete; nothing claims completion
    if record.get("status") != "completed" or record.get("stage") == "component":
        return []
    problems = []
    text = (run / "metrics.jsonl").read_text() if (run / "metrics.jsonl").exists() else ""
    if not text.endswith("\n"):
        problems.append("completed, but metrics.jsonl ends in a torn line")
    steps = [json.loads(line)["step"] for line in text.splitlines() if line.strip()]
    if not steps or steps[-1] != record.get("step"):
        problems.append(f"completed at step {record.get('step')}, but metrics.jsonl ends at {steps[-1:]}")
    if steps != sorted(steps):
        problems.append("metrics.jsonl steps go backwards (a resume duplicated records)")
    return problems


# ---------------------------------------------------------------- processes


def start(root: Path, *args: str, fault: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The real CLI in its own process; `fault` arms inject.py inside it (see that file)."""
    full_env = {**os.environ, "WORKBENCH_ROOT": str(root), "COLUMNS": "200", **(env or {})}
    if fault:
        full_env["WORKBENCH_INJECT"] = fault
        cmd = [sys.executable, str(INJECT), *args]
    else:
        cmd = [sys.executable, "-m", "workbench", *args]
    return subprocess.Popen(cmd, cwd=root, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def wait_for_step(root: Path, step: int, proc: subprocess.Popen, stage: str = "prototype", timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before step {step}: {proc.communicate()}")
        for run in run_dirs(root, stage):
            metrics = run / "metrics.jsonl"
            if metrics.exists() and any(json.loads(line)["step"] >= step
                                        for line in metrics.read_text().splitlines() if line.endswith("}")):
                return run
        time.sleep(0.02)
    raise AssertionError(f"run never reached step {step}")


def sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    tally("faults_injected", what="SIGKILL")


_REFERENCES: dict[tuple[str, ...], dict] = {}


def reference(tmp_root: Path, args: tuple[str, ...] = RUN) -> dict:
    """The same run, never interrupted; made once per test process and shared."""
    if args not in _REFERENCES:
        root = copy_project(tmp_root / f"reference-{len(_REFERENCES)}")
        proc = workbench(root, *args)
        assert proc.returncode == 0, proc.stderr
        [run] = run_dirs(root, "prototype")
        _REFERENCES[args] = {"summary": summary(run), "metrics": (run / "metrics.jsonl").read_text(), "run": run}
    return _REFERENCES[args]


def assert_same_as_reference(run: Path, ref: dict) -> None:
    """Bit for bit: every final metric, every best, every logged line."""
    after = summary(run)
    assert after["status"] == "completed", after
    assert after["metrics"] == ref["summary"]["metrics"]
    assert after["best"] == ref["summary"]["best"]
    assert after["gate"] == ref["summary"]["gate"]
    assert (run / "metrics.jsonl").read_text() == ref["metrics"]
    tally("runs_resumed_exactly")


__all__ = ["REPO", "RUN", "assert_same_as_reference", "copy_project", "crash_check", "examples", "expect_one_line", "finish",
           "one_line_error", "partial_files",
           "reference", "run_dirs", "sigkill", "start", "summary", "tally", "temp_files", "wait_for_step", "workbench"]
