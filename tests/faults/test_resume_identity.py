"""`workbench resume` trusts nothing in the folder: a config.yaml edited, broken or another
paper's, a last.pt copied from another run or replaced by a folder, a component-test run, an
absurd path. Each is refused in one line before anything is written; a resume that goes ahead
on a checkpoint or config that is not the run's own is counted as fooled.

The bulk goes through the checks resume runs before it writes (runner.check_resumable); a
table of cases goes through the real CLI.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import copy_project, crash_check, examples, one_line_error, run_dirs, tally, workbench
from workbench.errors import UserError
from workbench.run import checkpoints, record, runner

SHORT_RUN = ("run", "mnist1d", "stage=prototype", "model=mlp", "trainer.max_steps=60", "trainer.eval_every=30",
             "trainer.log_every=10", "trainer.checkpoint_every=20", "trainer.threads=1", "logger=none", "trainer.progress=false")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A finished short run (its summary set back to running, as a killed run leaves it), and the
    last.pt of another run of the same paper."""
    root = copy_project(tmp_path_factory.mktemp("resume-identity"))
    proc = workbench(root, *SHORT_RUN)
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(root, "prototype")
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "status": "running"}))
    other = run.with_name("20000101-000000-0000aa")  # another run: its own folder, its own checkpoint
    shutil.copytree(run, other)
    payload = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    for key in (checkpoints.DIGEST_KEY, checkpoints.IDENTITY_KEY):
        payload.pop(key)
    checkpoints.save_checkpoint(other / "checkpoints", payload)
    foreign = (other / "checkpoints" / "last.pt").read_bytes()
    shutil.rmtree(other)
    return root, run, foreign


def place_copy(made, scratch: Path) -> tuple[Path, Path]:
    """The run under the same name and layout in a fresh project (papers/ shared by a link)."""
    root, run, _ = made
    (scratch / "papers").symlink_to(root / "papers")
    copy = scratch / "reproductions" / "mnist1d" / "runs" / "prototype" / run.name
    shutil.copytree(run, copy)
    return scratch, copy


def preflight(root: Path, run: Path) -> None:
    """Everything `workbench resume` checks before it writes a byte."""
    config = record.read_config_for_resume(run)
    runner.refuse_component_resume(run, config)
    runner.check_resumable(root, run, config)


def refused(root: Path, run: Path, what: str, names: str | None = None) -> str | None:
    """The one-line refusal, or None when resume would go ahead."""
    tally("bad_inputs_tried", what=what)
    try:
        preflight(root, run)
    except UserError as exc:
        assert "\n" not in str(exc), str(exc)
        assert names is None or names in str(exc), (names, str(exc))
        tally("resumes_refused", what=what)
        return str(exc)
    except Exception as exc:
        tally("crashes", input=what, error=repr(exc)[:300])
        raise
    return None


def config_of(run: Path) -> dict:
    return yaml.safe_load((run / "config.yaml").read_text())


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=12))
structures = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                          max_leaves=8)
yaml_text = st.text(alphabet=st.sampled_from(list("ab:- \t\n{}[],&*!|>'\"#%@`\\\x00é0")), max_size=60)
SETTINGS = settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def key_paths(tree: dict, prefix: tuple = ()) -> list[tuple]:
    paths = []
    for key, value in tree.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths += key_paths(value, (*prefix, key))
    return paths


@SETTINGS
@given(data=st.data())
def test_any_edit_of_config_yaml_is_refused_or_changes_nothing(made, data):
    """Delete a key, give one any value, or replace the whole file: resume refuses (one line)
    unless the config's content is what the checkpoint was trained with."""
    with tempfile.TemporaryDirectory() as scratch:
        root, run = place_copy(made, Path(scratch))
        original = config_of(run)
        edit = data.draw(st.sampled_from(["delete", "set", "text", "structure"]), label="edit")
        if edit in ("delete", "set"):
            path = data.draw(st.sampled_from(sorted(key_paths(original), key=repr)), label="key")
            config = copy.deepcopy(original)
            parent = config
            for key in path[:-1]:
                parent = parent[key]
            if edit == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(structures, label="value")
            (run / "config.yaml").write_text(yaml.safe_dump(config))
        elif edit == "text":
            (run / "config.yaml").write_text(data.draw(yaml_text, label="text"), encoding="utf-8", errors="surrogatepass")
        else:
            (run / "config.yaml").write_text(yaml.safe_dump(data.draw(structures, label="structure")))
        tally("faults_injected", what=f"config.yaml {edit}")
        message = refused(root, run, f"config.yaml {edit}")
        if message is None and config_of(run) != original:
            tally("fooled", what=f"resume accepted an edited config.yaml ({edit})")
            raise AssertionError("resume went ahead on an edited config.yaml")


EDITS = {  # the edits a person makes, each with the word its refusal must contain
    "max_steps 60 -> 30": (lambda c: c["trainer"].update(max_steps=30), "changed since"),
    "another lr": (lambda c: c["optim"].update(lr=c["optim"]["lr"] * 2), "changed since"),
    "another seed": (lambda c: c.update(seed=c["seed"] + 1), "changed since"),
    "another paper": (lambda c: c["paper"].update(name="hnn"), "paper hnn"),
    "no trainer": (lambda c: c.pop("trainer"), "trainer"),
    "trainer is a list": (lambda c: c.update(trainer=[1, 2]), "trainer"),
    "no choices": (lambda c: c.pop("choices"), "choices"),
    "max_steps is text": (lambda c: c["trainer"].update(max_steps="abc"), "max_steps"),
    "seed is text": (lambda c: c.update(seed="x"), "seed"),
    "unknown trainer key": (lambda c: c["trainer"].update(speed=3), "speed"),
    "component stage": (lambda c: c.update(component_tests="test_components.py"), "component-test run"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_edit_a_person_makes_is_refused_by_name(made, tmp_path, edit):
    root, run = place_copy(made, tmp_path)
    change, says = EDITS[edit]
    config = config_of(run)
    change(config)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    tally("faults_injected", what=edit)
    if refused(root, run, edit, names=says) is None:
        tally("fooled", what=f"resume accepted: {edit}")
        raise AssertionError(f"resume went ahead after: {edit}")


CHECKPOINT_SWAPS = ["last.pt from another run", "prev.pt from another run, last.pt damaged", "last.pt is a folder",
                    "prev.pt is a folder", "both from another run"]


@pytest.mark.parametrize("swap", CHECKPOINT_SWAPS)
def test_a_checkpoint_that_is_not_the_runs_own_is_refused(made, tmp_path, swap):
    root, run = place_copy(made, tmp_path)
    foreign = made[2]
    folder = run / "checkpoints"
    if swap == "last.pt from another run":
        (folder / "last.pt").write_bytes(foreign)
    elif swap == "prev.pt from another run, last.pt damaged":
        (folder / "prev.pt").write_bytes(foreign)
        (folder / "last.pt").write_bytes(b"damaged")
    elif swap.endswith("is a folder"):
        name = swap.split()[0]
        (folder / name).unlink()
        (folder / name).mkdir()
    else:
        (folder / "last.pt").write_bytes(foreign)
        (folder / "prev.pt").write_bytes(foreign)
    tally("faults_injected", what=swap)
    if refused(root, run, swap, names="checkpoint" if "folder" in swap else "not by") is None:
        tally("fooled", what=f"resume accepted: {swap}")
        raise AssertionError(f"resume went ahead with {swap}")


def test_an_evidence_copy_is_not_resumed(made, tmp_path):
    """A report's evidence/ copy has no checkpoints: resuming it would train from step 0 there."""
    root, run = place_copy(made, tmp_path)
    evidence = root / "reproductions" / "mnist1d" / "evidence" / "prototype" / run.name
    shutil.copytree(run, evidence, ignore=shutil.ignore_patterns("checkpoints"))
    tally("faults_injected", what="resume of an evidence copy")
    if refused(root, evidence, "resume of an evidence copy", names="evidence copy") is None:
        tally("fooled", what="resume accepted an evidence copy")
        raise AssertionError("resume went ahead in an evidence folder")


def test_the_runs_own_checkpoint_and_config_pass(made, tmp_path):
    """The checks refuse only what is wrong: the untouched copy resumes."""
    root, run = place_copy(made, tmp_path)
    assert refused(root, run, "untouched run") is None
    payload = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert payload[checkpoints.IDENTITY_KEY] == record.run_identity(run)


@settings(max_examples=examples(20), deadline=None)
@given(path=st.one_of(st.text(min_size=1, max_size=40), st.integers(256, 6000).map(lambda n: "a/" * (n // 2)),
                      st.integers(256, 600).map(lambda n: "x" * n)))
def test_any_path_given_to_resume_is_one_line(path):
    def call():
        return record.read_config_for_resume(Path(path.replace("\x00", "")))

    tally("bad_inputs_tried", what="resume path")
    try:
        call()
    except UserError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600, str(exc)
    except Exception as exc:
        tally("crashes", input=f"resume {path[:60]}", error=repr(exc)[:300])
        raise


# ---------------------------------------------------------------- through the real CLI


def cli_cases(made) -> dict:
    return {
        "edited max_steps": lambda run: edit_config(run, lambda c: c["trainer"].update(max_steps=30)),
        "copied last.pt": lambda run: (run / "checkpoints" / "last.pt").write_bytes(made[2]),
        "component run": lambda run: edit_config(run, lambda c: c.update(component_tests="test_components.py")),
        "last.pt is a folder": lambda run: ((run / "checkpoints" / "last.pt").unlink(),
                                            (run / "checkpoints" / "last.pt").mkdir()),
        "config.yaml is a list": lambda run: (run / "config.yaml").write_text("- 1\n- 2\n"),
    }


def edit_config(run: Path, change) -> None:
    config = config_of(run)
    change(config)
    (run / "config.yaml").write_text(yaml.safe_dump(config))


CLI = [pytest.param(name, marks=[pytest.mark.slow] if i >= 2 else []) for i, name in
       enumerate(["edited max_steps", "copied last.pt", "component run", "last.pt is a folder", "config.yaml is a list"])]


@pytest.mark.parametrize("case", CLI)
def test_the_cli_refuses_and_leaves_the_folder_as_it_was(made, tmp_path, case):
    root, run = place_copy(made, tmp_path)
    cli_cases(made)[case](run)
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    tally("faults_injected", what=f"CLI resume: {case}")
    tally("bad_inputs_tried", what=f"CLI resume: {case}")
    proc = workbench(root, "resume", str(run), timeout=120)
    assert not crash_check(proc.stderr, f"resume: {case}"), proc.stderr
    if proc.returncode == 0:
        tally("fooled", what=f"CLI resume accepted: {case}")
    assert proc.returncode == 1, proc.stderr
    one_line_error(proc.stderr)
    tally("resumes_refused", what=f"CLI: {case}")
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before  # nothing written: no resume entry, no summary change, no new metrics
