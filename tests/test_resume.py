"""Real processes: a run killed with SIGKILL, or stopped with Ctrl-C, resumes to the same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import copy_project, run_dirs, summary, workbench

RUN = ("run", "mnist1d", "stage=prototype", "model=mlp", "trainer.max_steps=800", "trainer.eval_every=100",
       "trainer.log_every=20", "trainer.checkpoint_every=100", "logger=none")


def start(root: Path) -> subprocess.Popen:
    env = {**os.environ, "WORKBENCH_ROOT": str(root)}
    return subprocess.Popen([sys.executable, "-m", "workbench", *RUN], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_step(root: Path, step: int, proc: subprocess.Popen, timeout: float = 120) -> Path:
    """Poll metrics.jsonl until the run has logged `step` (and so has a checkpoint before it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for run in run_dirs(root, "prototype"):
            metrics = run / "metrics.jsonl"
            if metrics.exists() and any(json.loads(line)["step"] >= step
                                        for line in metrics.read_text().splitlines() if line.endswith("}")):
                return run
        time.sleep(0.05)
    raise AssertionError(f"run never reached step {step}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The same run, never interrupted (its own project folder, shared by this module's tests)."""
    root = copy_project(tmp_path_factory.mktemp("reference"))
    proc = workbench(root, *RUN)
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(root, "prototype")
    return {"summary": summary(run), "run": run}


@pytest.mark.integration
def test_sigkill_then_resume_gives_the_uninterrupted_metrics(project, reference):
    proc = start(project)
    run = wait_for_step(project, 350, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert summary(run)["status"] == "running"  # what a killed run leaves behind
    resumed = workbench(project, "resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    after = summary(run)
    assert after["status"] == "completed" and after["step"] == 800
    provenance = json.loads((run / "provenance.json").read_text())
    assert len(provenance["resumed"]) == 1
    assert after["metrics"] == reference["summary"]["metrics"]
    assert after["best"] == reference["summary"]["best"]
    # no duplicated or torn records: the file equals the uninterrupted run's, line for line
    assert (run / "metrics.jsonl").read_text() == (reference["run"] / "metrics.jsonl").read_text()


@pytest.mark.integration
def test_ctrl_c_marks_the_run_interrupted_and_keeps_a_checkpoint(project, reference):
    proc = start(project)
    run = wait_for_step(project, 300, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in stderr
    stopped = summary(run)
    assert stopped["status"] == "interrupted"
    assert (run / "checkpoints" / "last.pt").exists()
    resumed = workbench(project, "resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    assert summary(run)["metrics"] == reference["summary"]["metrics"]


@pytest.mark.integration
def test_resuming_a_completed_run_changes_nothing(reference):
    run = reference["run"]
    before = (run / "summary.json").read_text()
    proc = workbench(run.parents[4], "resume", str(run))
    assert proc.returncode == 0
    assert (run / "summary.json").read_text() == before
    assert reference["summary"]["status"] == "completed"


def test_resume_of_a_folder_that_is_not_a_run_is_one_line(project, tmp_path):
    proc = workbench(project, "resume", str(tmp_path))
    assert proc.returncode == 1
    assert "is not a run folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.integration
def test_sigterm_stops_a_whole_sweep_not_just_the_current_run(project):
    env = {**os.environ, "WORKBENCH_ROOT": str(project)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *RUN[:3], "-m", "model=mlp,cnn", *RUN[4:]],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = wait_for_step(project, 200, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "sweep stopped after 1 of 2 runs" in stderr
    assert run_dirs(project, "prototype") == [run]
    assert summary(run)["status"] == "interrupted"
