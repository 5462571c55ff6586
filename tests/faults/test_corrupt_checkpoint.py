"""Checkpoints damaged on disk: detected, the previous good one used, never a crash in torch.load;
a file that is not a plain checkpoint (a pickle with code in it) is refused (weights_only=True)."""

from __future__ import annotations

import io
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import RUN, assert_same_as_reference, examples, finish, reference, run_dirs, start, tally, workbench
from test_trainer import Toy, fit
from workbench.errors import UserError
from workbench.run.checkpoints import load_checkpoint


class Payload:
    """Runs code when unpickled: what a hostile checkpoint would carry."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/workbench-pwned",))


def damage(data: bytes, kind: str, where: float, value: int) -> bytes:
    at = int(where * max(len(data) - 1, 0))
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (value or 1)]) + data[at + 1:]
    if kind == "zero_block":
        return data[:at] + bytes(min(4096, len(data) - at)) + data[at + 4096:]
    if kind == "garbage":
        return os.urandom(1 + value * 37)
    if kind == "empty":
        return b""
    buf = io.BytesIO()
    torch.save({"model": Payload(), "state": {}}, buf)  # "hostile"
    return buf.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    fit(folder, Toy(), max_steps=30)
    ckpt = folder / "checkpoints"
    return ckpt, (ckpt / "last.pt").read_bytes(), (ckpt / "prev.pt").read_bytes()


KINDS = st.sampled_from(["truncate", "flip", "zero_block", "garbage", "empty", "hostile"])


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=KINDS, where=st.floats(0, 1), value=st.integers(0, 255))
def test_a_damaged_last_checkpoint_falls_back_to_prev(trained, capsys, kind, where, value):
    folder, last, prev = trained
    (folder / "last.pt").write_bytes(damage(last, kind, where, value))
    (folder / "prev.pt").write_bytes(prev)
    tally("faults_injected", what=f"checkpoint {kind}")
    tally("bad_inputs_tried", what=f"checkpoint {kind}")
    try:
        payload = load_checkpoint(folder)
    except Exception as exc:
        tally("crashes", input=kind, error=repr(exc))
        raise
    if (folder / "last.pt").read_bytes() == last:  # a flip of a byte no reader looks at (zip padding)
        return
    if payload["state"]["step"] == 30:  # the damage did not change a byte torch or the checksum reads
        assert damage(last, kind, where, value) != last
        return
    assert payload["state"]["step"] == 20
    warning = capsys.readouterr().err
    assert "last.pt is unreadable" in warning and "resuming from" in warning and "prev.pt" in warning
    assert len(warning.strip().splitlines()) <= 2  # one line (rich may wrap at the terminal width)
    assert not os.path.exists("/tmp/workbench-pwned")


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=KINDS, kind2=KINDS, where=st.floats(0, 1), value=st.integers(1, 255))
def test_both_checkpoints_damaged_is_one_clear_error(trained, kind, kind2, where, value):
    folder, last, prev = trained
    (folder / "last.pt").write_bytes(damage(last, kind, where, value))
    (folder / "prev.pt").write_bytes(damage(prev, kind2, 1 - where, value))
    tally("faults_injected", what=f"both checkpoints {kind}/{kind2}")
    tally("bad_inputs_tried", what=f"both checkpoints {kind}/{kind2}")
    try:
        load_checkpoint(folder)
    except UserError as exc:
        assert "no usable checkpoint" in str(exc) and "\n" not in str(exc)
    except Exception as exc:
        tally("crashes", input=f"{kind}/{kind2}", error=repr(exc))
        raise


def test_a_flipped_weight_byte_is_caught_by_the_checksum(trained):
    """torch.load itself does not notice: the damage would load as a silently wrong weight."""
    folder, last, prev = trained
    flipped = bytearray(last)
    at = last.index(b"data/0") + 200  # inside the first tensor's storage record
    flipped[at] ^= 0x40
    (folder / "last.pt").write_bytes(bytes(flipped))
    (folder / "prev.pt").write_bytes(prev)
    torch.load(folder / "last.pt", weights_only=True)  # loads without complaint...
    assert load_checkpoint(folder)["state"]["step"] == 20  # ...but the checksum refuses it


@pytest.mark.slow
def test_resume_of_a_run_whose_last_checkpoint_is_cut_short_is_exact(project, tmp_path_factory):
    """The real CLI: a run killed at step 230 with last.pt truncated resumes from prev.pt (step 150)."""
    ref = reference(tmp_path_factory.mktemp("ref"))
    proc = start(project, *RUN, fault="kill_at_step=230")
    assert finish(proc)[0] == -9
    [run] = run_dirs(project, "prototype")
    last = run / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    tally("faults_injected", what="SIGKILL + truncated last.pt")
    resumed = workbench(project, "resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert "last.pt is unreadable" in resumed.stderr and "prev.pt" in resumed.stderr
    assert_same_as_reference(run, ref)
