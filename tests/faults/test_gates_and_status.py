"""`workbench status` on run folders it did not write: a summary.json that is a list, holds a
string where a number goes or claims a gate it never ran; junk folders beside the runs; runs
killed while "running". Status never crashes, a gate passes only on its own run's evidence, and
a dead run is named with the command that continues it."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from faultkit import examples, tally
from workbench import status
from workbench.project import Paper

PASSED_COMPONENT = {"status": "completed", "stage": "component",
                    "gate": {"passed": True, "tests": {"passed": 5}, "returncode": 0}}
PASSED_PROTOTYPE = {"status": "completed", "stage": "prototype",
                    "gate": {"first_train_loss": 2.3, "last_train_loss": 0.4, "loss_fell": True}}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9), st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["completed", "running", "failed", "[red]x[/]", "[/]", "passed"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=8)
gate_like = st.fixed_dictionaries({}, optional={"passed": values, "tests": st.one_of(values, st.dictionaries(
    st.sampled_from(["passed", "failed", "errors"]), values, max_size=3)), "loss_fell": values,
    "first_train_loss": values, "last_train_loss": values})
summaries = st.one_of(values, st.fixed_dictionaries({}, optional={
    "status": st.one_of(st.sampled_from(["completed", "running", "failed", "diverged", "interrupted"]), values),
    "stage": st.one_of(st.sampled_from(list(status.STAGES)), values), "gate": st.one_of(gate_like, values),
    "message": values, "pid": values, "host": values}))


def write_run(runs: Path, stage: str, name: str, summary: object) -> Path:
    folder = runs / stage / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def render(root: Path, runs: Path) -> str:
    paper = Paper("toy", root / "papers" / "toy", {"title": "Toy [bold]x", "arxiv_id": "2011.14439"})
    out = io.StringIO()
    Console(file=out, width=200).print(status.render(root, paper))
    return out.getvalue()


def gate_states(runs: Path) -> dict[str, str]:
    return {gate.stage: gate.state for gate in status.gates(runs, "toy")}


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "papers" / "toy").mkdir(parents=True)
    return tmp_path, tmp_path / "reproductions" / "toy" / "runs"


def honest_gate(summary: object, stage: str) -> bool:
    """What the gate may say: passed only for its own stage's summary of a passing run."""
    if not isinstance(summary, dict) or summary.get("status") != "completed" or summary.get("stage", stage) != stage:
        return False
    gate = summary.get("gate")
    if not isinstance(gate, dict):
        return False
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    if stage == "component":
        tests = gate.get("tests") if isinstance(gate.get("tests"), dict) else {}
        return gate.get("passed") is True and number(tests.get("passed")) and tests["passed"] > 0 and not (
            number(tests.get("failed")) and tests["failed"])
    return gate.get("loss_fell") is True and number(gate.get("first_train_loss")) and number(gate.get("last_train_loss"))


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stage=st.sampled_from(["component", "prototype"]), summary=summaries, junk=st.one_of(st.none(), summaries))
def test_any_summary_renders_and_a_gate_passes_only_on_its_own_evidence(toy, stage, summary, junk):
    root, runs = toy
    for folder in runs.glob("*/*"):
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    write_run(runs, stage, "20261201-100000-aaaaaa", summary)
    if junk is not None:  # a copy or a backup beside the runs: sorts last, must not count as the latest
        write_run(runs, stage, "zz-backup", junk)
        write_run(runs, stage, "20261201-100000-aaaaaa.bak", junk)
    tally("bad_inputs_tried", what=f"{stage} summary.json")
    try:
        page = render(root, runs)
        states = gate_states(runs)
    except Exception as exc:
        tally("crashes", input=f"status on {stage} summary {summary!r:.100}", error=repr(exc)[:300])
        raise
    assert "toy" in page
    running = isinstance(summary, dict) and summary.get("status") == "running"
    if states[stage] == "passed" and (running or not honest_gate(summary, stage)):
        tally("fooled", what=f"{stage} gate passed on {summary!r:.200}")
        raise AssertionError(f"{stage} gate passed on {summary!r}")


def test_a_resumed_component_folder_does_not_pass_gate_1(toy):
    """The issue's case: a component folder whose summary says completed after training, no tests."""
    root, runs = toy
    write_run(runs, "component", "20261201-100000-aaaaaa", {"status": "completed", "stage": "component",
                                                             "step": 1000, "metrics": {"test/acc": 0.9}})
    assert gate_states(runs)["component"] == "failed"
    assert "no component tests ran" in render(root, runs)
    write_run(runs, "component", "20261201-110000-bbbbbb", PASSED_COMPONENT)
    assert gate_states(runs)["component"] == "passed"


def test_another_stages_summary_copied_in_does_not_count(toy):
    root, runs = toy
    write_run(runs, "component", "20261201-100000-aaaaaa", {**PASSED_PROTOTYPE})
    write_run(runs, "prototype", "20261201-100000-aaaaaa", {**PASSED_COMPONENT})
    assert gate_states(runs) == {"component": "not started", "prototype": "not started", "reproduction": "not started"}


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("case", ["dead pid", "alive other program", "old files on another host", "fresh, no pid"])
def test_a_killed_run_is_named_with_the_command_that_resumes_it(toy, case):
    root, runs = toy
    host = socket.gethostname()
    summary = {"status": "running", "stage": "prototype", "pid": dead_pid(), "host": host}
    if case == "alive other program":
        summary["pid"] = os.getpid()  # pytest: alive, but its command line may say workbench
    if case.startswith("old files"):
        summary["host"] = "elsewhere"
    if case == "fresh, no pid":
        summary = {"status": "running", "stage": "prototype"}
    folder = write_run(runs, "prototype", "20261201-100000-aaaaaa", summary)
    if case.startswith("old files"):
        os.utime(folder / "summary.json", (0, 0))
    tally("faults_injected", what=f"running run: {case}")
    page = render(root, runs)
    stopped = "stopped before finishing" in page and "workbench resume" in page
    alive_here = case == "alive other program" and b"workbench" in Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
    assert stopped == (case in ("dead pid", "old files on another host") or (case == "alive other program" and not alive_here))
    assert "still running" not in page or not stopped


SHAPES = {  # what a hand-edited or foreign run folder may hold, and what the report must call it
    ("summary.json", "[1, 2]"): "holds a JSON list",
    ("summary.json", '"completed"'): "holds a JSON str",
    ("summary.json", "3"): "holds a JSON int",
    ("summary.json", '{"status": "compl'): "not readable JSON",
    ("summary.json", ""): "not readable JSON",
    ("config.yaml", "- a\n- b\n"): "holds a YAML list",
    ("config.yaml", "just text\n"): "holds a YAML str",
    ("config.yaml", "a: [\n"): "not readable YAML",
}


@pytest.mark.parametrize("name, text", sorted(SHAPES))
def test_a_file_of_the_wrong_shape_is_not_called_unreadable(tmp_path, name, text):
    from workbench.run import record

    folder = write_run(tmp_path, "reproduction", "20261201-100000-aaaaaa", {"status": "completed", "stage": "reproduction"})
    (folder / "config.yaml").write_text("choices: {}\n")
    (folder / name).write_text(text)
    tally("bad_inputs_tried", what=f"{name}: {text[:20]}")
    assert SHAPES[(name, text)] in record.skip_reason(folder)
