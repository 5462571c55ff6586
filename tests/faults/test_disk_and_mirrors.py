"""A disk that fills up during a run and a report; W&B mirrors that die or cannot write.
Real processes; the full disk is a small tmpfs (we run as root), skipped where none can be mounted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faultkit import (RUN, assert_same_as_reference, crash_check, finish, partial_files, reference, run_dirs, start,
                      summary, tally, temp_files, wait_for_step, workbench)


@pytest.fixture
def small_disk(project, tmp_path):
    """reproductions/ on a 1 MiB tmpfs; yields a function that leaves `free` bytes of it free."""
    mount = project / "reproductions"
    mount.mkdir(exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.strip()}); needs root")
    filler = mount / "filler"

    def leave_free(free: int) -> None:
        filler.unlink(missing_ok=True)
        stat = os.statvfs(mount)
        filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - free))

    yield leave_free
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_disk_full_during_a_run_is_one_line_and_the_run_resumes_exactly(project, small_disk, tmp_path_factory):
    ref = reference(tmp_path_factory.mktemp("ref"))
    small_disk(330_000)  # room for config, metrics and one checkpoint (~200 kB), not for two
    proc = start(project, *RUN)
    code, err = finish(proc)
    tally("faults_injected", what="disk full during run")
    assert not crash_check(err, "disk full during run")
    assert code == 1
    assert "no space left on the disk" in err and "workbench resume" in err
    [run] = run_dirs(project, "prototype")
    assert summary(run)["status"] != "completed"
    assert temp_files(project / "reproductions") == []  # the failed write took its temp file with it
    assert not partial_files(project)
    small_disk(10_000_000)  # the user frees space
    resumed = workbench(project, "resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(run, ref)


@pytest.mark.slow
def test_disk_full_during_a_report_leaves_the_old_report_whole(project, small_disk):
    (project / "reproductions" / "mnist1d").mkdir()
    small_disk(4_000)
    proc = workbench(project, "report", "mnist1d")
    tally("faults_injected", what="disk full during report")
    assert not crash_check(proc.stderr, "disk full during report")
    assert proc.returncode == 1 and "no space left on the disk" in proc.stderr, proc.stderr
    assert temp_files(project / "reproductions") == []
    assert not partial_files(project)
    small_disk(900_000)
    assert workbench(project, "report", "mnist1d").returncode == 0


def wandb_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    family, found = {pid}, []
    for _ in range(4):  # children, grandchildren...
        for child, parent, args in rows:
            if int(parent) in family and int(child) not in family:
                family.add(int(child))
                if "wandb" in args:
                    found.append(int(child))
    return found


@pytest.mark.slow
def test_wandb_process_killed_mid_run_the_run_and_its_record_complete(project, tmp_path_factory):
    ref = reference(tmp_path_factory.mktemp("ref"))
    args = tuple(a if a != "logger=none" else "logger=wandb" for a in RUN)
    proc = start(project, *args)
    run = wait_for_step(project, 100, proc)
    deadline = time.monotonic() + 30
    while not (killed := wandb_children(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert killed, "found no W&B process to kill"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    tally("faults_injected", what="W&B process SIGKILL")
    code, err = finish(proc, timeout=240)  # bounded: a hung mirror would fail here
    assert not crash_check(err, "wandb killed")
    assert code == 0, err
    assert summary(run)["metrics"] == ref["summary"]["metrics"]  # the mirror never changes the numbers
    assert (run / "metrics.jsonl").read_text() == ref["metrics"]
    assert not partial_files(project)


def test_wandb_folder_that_cannot_be_written_leaves_the_run_whole(tmp_path, monkeypatch, capsys):
    """run_dir/wandb is a file, so W&B cannot make its folder: a warning, and the run goes on."""
    from test_trainer import Toy

    from workbench.tracking.logger import RunLogger
    from workbench.run.trainer import Trainer, TrainerConfig

    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "wandb").write_text("in the way")
    logger = RunLogger(run_dir, {"console": False, "wandb": {"mode": "offline"}}, name="t", group="g",
                       job_type="test", config={})
    result = Trainer(TrainerConfig(max_steps=20, eval_every=10, log_every=5, checkpoint_every=10, progress=False),
                     logger, run_dir / "checkpoints").fit(Toy())
    logger.close(result.summary())
    tally("faults_injected", what="W&B folder unwritable")
    assert result.status == "completed"
    assert "W&B mirror disabled" in capsys.readouterr().err
    assert (run_dir / "summary.json").exists() and len((run_dir / "metrics.jsonl").read_text().splitlines()) == 6
