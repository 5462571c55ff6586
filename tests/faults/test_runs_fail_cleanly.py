"""Runs that cannot start (a device the machine lacks, a batch larger than the data, a read-only
or full runs folder, a typo in logger.wandb.mode) leave no run folder and say why in one line,
blaming the right code; overrides that are not UTF-8 or not Hydra's grammar are named without
the parser's jargon; `report --all` goes on past a paper it cannot report."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from faultkit import crash_check, examples, expect_one_line, one_line_error, partial_files, run_dirs, tally, workbench
from workbench.errors import ConfigError, UserError
from workbench.project import Paper
from workbench.run import record
from workbench.run.launch import crash_outcome
from workbench.run.sweep import parse
from workbench.tracking.wandb import MODES, check_mode

FAST_RUN = ("run", "mnist1d", "debug=fast", "logger=none")


def all_run_folders(root: Path) -> list[Path]:
    return sorted(p for p in (root / "reproductions").glob("*/runs/*/*") if p.is_dir())


CANNOT_START = {
    "device the machine lacks": (("trainer.device=cuda:0",), "trainer.device"),
    "batch larger than the training set": (("batch_size=1000000",), "batch_size=1000000 is larger than the training set"),
    "wandb mode typo": (("logger=wandb", "logger.wandb.mode=onlin"), "Did you mean 'online'?"),
}


@pytest.mark.parametrize("case", sorted(CANNOT_START))
def test_a_run_that_cannot_start_is_one_line_and_leaves_no_folder(project, case):
    overrides, says = CANNOT_START[case]
    if case.startswith("device") and torch.cuda.is_available():
        pytest.skip("this machine has the device")
    tally("bad_inputs_tried", what=case)
    proc = workbench(project, *FAST_RUN, *overrides, env={"WANDB_MODE": "offline"}, timeout=180)
    assert not crash_check(proc.stderr, case), proc.stderr
    assert proc.returncode == 1
    assert says in one_line_error(proc.stderr) or says in proc.stderr, proc.stderr
    assert all_run_folders(project) == []  # nothing half made
    tally("partial_files", len(all_run_folders(project)), what=case)


@pytest.fixture
def runs_mount(project):
    """reproductions/mnist1d/runs on its own tmpfs; yields a function that remounts it ("ro",
    or "rw" with `free` bytes left)."""
    runs = project / "reproductions" / "mnist1d" / "runs"
    runs.mkdir(parents=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(runs)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); needs root")

    def remount(mode: str, free: int = 0) -> None:
        (runs / "filler").unlink(missing_ok=True)
        if mode == "rw":
            import os

            stat = os.statvfs(runs)
            (runs / "filler").write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - free))
        subprocess.run(["mount", "-o", f"remount,{mode}", str(runs)], check=True)

    yield runs, remount
    subprocess.run(["umount", "-l", str(runs)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["read-only", "full: no room for a folder", "full: room for the folder only"])
def test_an_unwritable_runs_folder_is_one_line_not_blamed_on_the_paper(project, runs_mount, case):
    runs, remount = runs_mount
    (runs / "prototype").mkdir()
    remount("ro") if case == "read-only" else remount("rw", free=0 if "no room" in case else 6000)
    tally("faults_injected", what=f"runs folder {case}")
    tally("bad_inputs_tried", what=f"runs folder {case}")
    proc = workbench(project, *FAST_RUN, timeout=180)
    assert not crash_check(proc.stderr, f"runs folder {case}"), proc.stderr
    assert proc.returncode == 1
    line = one_line_error(proc.stderr)
    assert "paper's code" not in proc.stderr
    assert any(word in line for word in ("space", "writable", "Read-only", "cannot create")), line
    assert run_dirs(project, "prototype") == []
    assert not partial_files(project)


def test_a_failed_write_of_a_new_run_folder_removes_it(tmp_path, monkeypatch):
    writes = {"n": 0}
    real = record.atomic_write_yaml

    def full_disk_on_the_second_write(path, data):
        writes["n"] += 1
        if writes["n"] == 2:
            raise UserError(f"no space left on the disk to write {path}; free some space and run the command again")
        real(path, data)

    monkeypatch.setattr(record, "atomic_write_yaml", full_disk_on_the_second_write)
    tally("faults_injected", what="disk full writing overrides.yaml")
    with pytest.raises(UserError, match="no space left"):
        record.create_run(tmp_path / "runs", "prototype", {"seed": 0}, ["seed=0"])
    assert list((tmp_path / "runs" / "prototype").iterdir()) == []


@pytest.mark.parametrize("errno_code", [errno.EACCES, errno.EROFS, errno.ENOSPC, errno.ENAMETOOLONG])
def test_a_runs_folder_that_refuses_a_new_folder_is_one_line(tmp_path, monkeypatch, errno_code):
    def refuse(self, *args, **kwargs):
        raise OSError(errno_code, __import__("os").strerror(errno_code), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    tally("faults_injected", what=f"mkdir {errno.errorcode[errno_code]}")
    expect_one_line(lambda: record.new_run_dir(tmp_path / "runs", "prototype"), f"mkdir {errno.errorcode[errno_code]}",
                    names="paths.runs_dir")


def crash_in(folder: Path) -> Exception:
    """A KeyError raised by a function of a module in `folder` (as a paper's experiment.py would)."""
    import importlib.util

    folder.mkdir(parents=True)
    (folder / "experiment.py").write_text("def boom():\n    return {}['x']\n")
    spec = importlib.util.spec_from_file_location("toy_experiment", folder / "experiment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        module.boom()
    except KeyError as exc:
        return exc
    raise AssertionError("boom did not raise")


def crash_in_workbench() -> Exception:
    try:
        record.checkpoint_dir(None)  # a TypeError raised in record.py's own frame
    except TypeError as exc:
        return exc
    raise AssertionError("checkpoint_dir(None) did not raise")


def test_a_crash_is_blamed_on_the_code_it_happened_in(tmp_path, capsys):
    paper = Paper("toy", tmp_path / "papers" / "toy", {})
    assert "the paper's code" in crash_outcome(crash_in(paper.dir), paper).summary["message"]
    message = crash_outcome(crash_in_workbench(), paper).summary["message"]
    assert "inside workbench" in message and "record.py" in message and "not in the paper's code" in message
    capsys.readouterr()


@settings(max_examples=examples(40), deadline=None)
@given(mode=st.one_of(st.text(max_size=10), st.sampled_from([*MODES, "onlin", "Offline", "OFFLINE", " online", "off"]),
                      st.integers(), st.none(), st.booleans()))
def test_any_wandb_mode_but_the_three_is_refused_by_name(mode):
    tally("bad_inputs_tried", what="logger.wandb.mode")
    try:
        check_mode({"wandb": {"mode": mode}})
        accepted = True
    except ConfigError as exc:
        assert "logger.wandb.mode" in str(exc) and "\n" not in str(exc)
        accepted = False
    assert accepted == (mode in MODES)


@settings(max_examples=examples(40), deadline=None)
@given(raw=st.binary(min_size=1, max_size=20), key=st.sampled_from(["model=", "seed=", "optim.lr=", "", "+x="]))
def test_overrides_that_are_not_utf8_or_not_grammar_are_named_without_jargon(raw, key):
    override = key + raw.decode("utf-8", "surrogateescape")  # what sys.argv holds for undecodable bytes
    tally("bad_inputs_tried", what="override bytes")
    try:
        parse([override])
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and "Lexer" not in message and "Exception" not in message, message
        message.encode("utf-8")  # no lone surrogates: the message prints on any terminal
    except Exception as exc:
        tally("crashes", input=repr(override), error=repr(exc)[:300])
        raise


@pytest.mark.slow
def test_report_all_goes_on_past_a_paper_with_a_broken_claims_yaml(project):
    (project / "papers" / "hnn" / "claims.yaml").write_text("claims:\n  - id: [unclosed\n")
    tally("bad_inputs_tried", what="report --all with a broken claims.yaml")
    proc = workbench(project, "report", "--all", timeout=600)
    assert not crash_check(proc.stderr, "report --all"), proc.stderr
    assert proc.returncode == 1
    assert "hnn" in one_line_error(proc.stderr) and "claims.yaml" in proc.stderr
    assert (project / "reproductions" / "INDEX.md").is_file() and (project / "reproductions" / "index.html").is_file()
    assert (project / "reproductions" / "mnist1d" / "REPORT.md").is_file()  # the papers after it were reported
