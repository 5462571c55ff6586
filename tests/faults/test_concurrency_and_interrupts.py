"""Two runs of one paper at once with reports built while they write; Ctrl-C at random moments
of a run and of a report. Distinct folders, whole lines, no partial state, the next command works."""

from __future__ import annotations

import json
import random
import signal
import time

import pytest

from faultkit import (RUN, crash_check, finish, partial_files, run_dirs, start, summary, tally, temp_files,
                      wait_for_step, workbench)


@pytest.mark.slow
def test_two_runs_at_once_and_reports_while_they_write(project):
    longer = tuple("trainer.max_steps=1500" if a.startswith("trainer.max_steps") else a for a in RUN)
    procs = [start(project, *longer), start(project, *longer[:-1], "logger=local")]
    for proc in procs:  # both have a run folder and are training
        wait_for_step(project, 20, proc)
    while len([r for r in run_dirs(project, "prototype") if (r / "metrics.jsonl").exists()]) < 2:
        time.sleep(0.05)
    reports, saw_running = 0, False
    while any(p.poll() is None for p in procs):
        proc = workbench(project, "report", "mnist1d", timeout=240)
        assert not crash_check(proc.stderr, "report during runs"), proc.stderr
        assert proc.returncode == 0, proc.stderr
        reports += 1
        text = (project / "reproductions" / "mnist1d" / "REPORT.md").read_text()
        saw_running |= "Skipped as incomplete" in text
        assert not partial_files(project)
    tally("faults_injected", 2 + reports, what="concurrent runs and reports")
    for p in procs:
        code, err = finish(p)
        assert code == 0, err
    runs = run_dirs(project, "prototype")
    assert len(runs) == 2 and runs[0] != runs[1]
    for run in runs:  # every line whole, steps in order: no interleaving between the two writers
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == sorted(r["step"] for r in records)
        assert summary(run)["run_dir"].endswith(run.name)
    assert summary(runs[0])["metrics"] == summary(runs[1])["metrics"]  # same config, same numbers
    assert reports >= 1 and saw_running, "a report built during the runs lists them as incomplete"
    final = workbench(project, "report", "mnist1d")
    assert "Skipped as incomplete" not in (project / "reproductions" / "mnist1d" / "REPORT.md").read_text()
    assert final.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_ctrl_c_at_a_random_moment_of_a_run_then_the_next_command_works(project, seed):
    """SIGINT anywhere: while importing, composing, building data, training or saving."""
    delay = random.Random(seed).uniform(0.5, 8.0)
    proc = start(project, *RUN)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    tally("faults_injected", what=f"SIGINT after {delay:.1f} s of a run")
    assert not crash_check(err, f"SIGINT at {delay:.1f} s"), err
    assert code in (0, 1, 130, -2), err
    assert not partial_files(project)
    for run in run_dirs(project, "prototype"):
        assert summary(run)["status"] in ("interrupted", "completed", "running"), summary(run)
        resumed = workbench(project, "resume", str(run))
        assert resumed.returncode == 0, resumed.stderr
        assert summary(run)["status"] == "completed"
    assert workbench(project, *RUN).returncode == 0  # and a fresh run works too
    assert temp_files(project / "reproductions") == []


@pytest.mark.slow
def test_ctrl_c_during_a_report_leaves_whole_files_and_the_next_report_works(project):
    reference = workbench(project, "report", "mnist1d")
    assert reference.returncode == 0, reference.stderr
    rng = random.Random(0)
    for attempt in range(3):
        proc = start(project, "report", "mnist1d")
        time.sleep(rng.uniform(0.3, 4.0))
        proc.send_signal(signal.SIGINT)
        code, err = finish(proc)
        tally("faults_injected", what="SIGINT during report")
        assert not crash_check(err, "SIGINT during report"), err
        assert temp_files(project / "reproductions") == []
        assert not partial_files(project)
    again = workbench(project, "report", "mnist1d")
    assert again.returncode == 0, again.stderr
    comparison = json.loads((project / "reproductions" / "mnist1d" / "comparison.json").read_text())
    assert comparison["summary"]["total"] > 0
