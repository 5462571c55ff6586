"""SIGKILL a training run at exact moments (inside a checkpoint write, between the rotation and
the new last.pt, at random steps, before the first checkpoint), resume it, and require the final
numbers and every logged line to equal an uninterrupted run's, bit for bit (CPU)."""

from __future__ import annotations

import random

import pytest

from faultkit import (RUN, assert_same_as_reference, finish, partial_files, reference, run_dirs, sigkill, start,
                      summary, tally, temp_files, wait_for_step, workbench)


def killed_run(project, fault: str):
    proc = start(project, *RUN, fault=fault)
    code, err = finish(proc)
    assert code == -9, err  # the fault fired: SIGKILL
    tally("faults_injected", what=fault)
    [run] = run_dirs(project, "prototype")
    assert summary(run)["status"] == "running"  # a killed run never claims to be finished
    return run


def resume(project, run):
    proc = workbench(project, "resume", str(run))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.mark.integration
def test_kill_inside_a_checkpoint_write_resumes_exactly(project, tmp_path_factory):
    ref = reference(tmp_path_factory.mktemp("ref"))
    run = killed_run(project, "kill_in_checkpoint_write=3")
    checkpoints = run / "checkpoints"
    [tmp] = temp_files(checkpoints)  # the window was hit: the new checkpoint sits under its temp name
    assert tmp.name.startswith(".last.pt.")
    assert not partial_files(project)  # last.pt and prev.pt still load, checksums match
    resume(project, run)
    assert temp_files(checkpoints) == []  # resume clears what the killed write left
    assert_same_as_reference(run, ref)
    assert not partial_files(project)


@pytest.mark.slow
def test_kill_between_rotation_and_new_checkpoint_resumes_exactly(project, tmp_path_factory):
    ref = reference(tmp_path_factory.mktemp("ref"))
    run = killed_run(project, "kill_after_rotation=4")
    assert not (run / "checkpoints" / "last.pt").exists() and (run / "checkpoints" / "prev.pt").exists()
    resume(project, run)
    assert_same_as_reference(run, ref)
    assert not partial_files(project)


@pytest.mark.slow
def test_kill_before_the_first_checkpoint_starts_over_in_the_same_folder(project, tmp_path_factory):
    ref = reference(tmp_path_factory.mktemp("ref"))
    run = killed_run(project, "kill_at_step=30")  # first checkpoint is at step 50
    assert not (run / "checkpoints").exists() or not any((run / "checkpoints").iterdir())
    proc = resume(project, run)
    assert "starting the run again from step 0" in proc.stderr
    assert_same_as_reference(run, ref)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_killed_at_random_steps_again_and_again_ends_exactly(project, tmp_path_factory, seed):
    """Three SIGKILLs at random steps of one run (one from outside, two armed inside), resumed each time."""
    ref = reference(tmp_path_factory.mktemp("ref"))
    rng = random.Random(seed)
    steps = sorted(rng.sample(range(60, 390, 10), 2))
    run = killed_run(project, f"kill_at_step={steps[0]}")
    # the second kill comes from outside, at whatever moment the resumed process has reached
    proc = start(project, "resume", str(run))
    wait_for_step(project, steps[1], proc)
    sigkill(proc)
    # the third: armed inside the next resume, at a checkpoint write chosen at random
    proc = start(project, "resume", str(run), fault=f"kill_in_checkpoint_write={rng.randint(1, 2)}")
    code, err = finish(proc)
    if code == -9:
        tally("faults_injected", what="kill_in_checkpoint_write during resume")
    else:
        assert code == 0, err  # the run had fewer checkpoints left than the chosen one: it finished
    resume(project, run)
    assert_same_as_reference(run, ref)
    assert not partial_files(project)
