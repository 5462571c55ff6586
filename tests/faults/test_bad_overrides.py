"""`workbench run` with wrong overrides: unknown keys, wrong types, out-of-range values. Every one
ends in one `error:` line (or a run, when the value happens to be valid), never a traceback.

The bulk calls the CLI's entry point in this process (the same code path, without a new
interpreter per example); a sample goes through real processes.
"""

from __future__ import annotations

import contextlib
import io
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import crash_check, examples, partial_files, tally, workbench
from workbench import cli

BASE = ["run", "mnist1d", "stage=prototype", "model=mlp", "debug=fast", "logger=none", "trainer.max_steps=2",
        "trainer.threads=1"]
KEYS = ["optim.lr", "optim.weight_decay", "batch_size", "seed", "trainer.max_steps", "trainer.eval_every",
        "trainer.log_every", "trainer.checkpoint_every", "trainer.threads", "trainer.grad_clip", "trainer.device",
        "model.hidden", "data.seed", "data.shuffle_seq", "+optim.momentum", "+optim.betas", "+optim.eps",
        "trainer.nope", "nope", "optim", "model", "+trainer.extra", "trainer", "logger", "stage"]
BAD_VALUES = st.one_of(
    st.sampled_from(["-1", "0", "-0.5", "nan", "inf", "-inf", "null", "abc", "[]", "[1,2]", "{}", "{a: 1}", "true",
                     "1e999", "0x10", "''", "[-1, 2]", "[0.9, 1.5]", "-1e-3", "1.5", "2**31", "cuda:99", "tpu",
                     "${nope}", "${oc.env:HOME}", "\u00e9", "\\x00"]),
    st.integers(-10**12, 0).map(str), st.floats(allow_nan=True).map(repr),
    st.text(alphabet="abc01.-[]{},:=' ", max_size=12))


def run_in_process(args: list[str]) -> tuple[object, str]:
    """cli.main() as `workbench ...` would run it; returns (exit code, stderr)."""
    err = io.StringIO()  # workbench's consoles write to whatever sys.stderr is at the time
    argv = sys.argv
    sys.argv = ["workbench", *args]
    code: object = None
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # anything else escaping main() is a crash
        code = f"{type(exc).__name__}: {exc}"
        err.write(f"\nTraceback (most recent call last): escaped main(): {code}")
    finally:
        sys.argv = argv
    return code, err.getvalue()


def check(args: list[str], project) -> None:
    tally("bad_inputs_tried", override=args[-1])
    code, err = run_in_process(args)
    assert not crash_check(err, args[-1]), err
    assert code in (0, 1, 2), (code, err)
    if code == 1:
        last = [line for line in err.splitlines() if line.strip()][-1]
        assert last.startswith("error:") or "training loss became" in last or "runs completed" in last, err


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=BAD_VALUES)
def test_a_wrong_override_is_one_line(project, key, value):
    check([*BASE, f"{key}={value}"], project)


@pytest.mark.slow
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=BAD_VALUES, key2=st.sampled_from(KEYS), value2=BAD_VALUES)
def test_two_wrong_overrides_are_one_line(project, key, value, key2, value2):
    check([*BASE, f"{key}={value}", f"{key2}={value2}"], project)


def test_nothing_half_written_after_the_bad_overrides(project):
    for value in ("optim.lr=-1", "batch_size=0", "seed=abc", "+optim.betas=[2,3]", "model.hidden=-5"):
        check([*BASE, value], project)
    assert not partial_files(project)
    # a config error is found before any run folder is made
    assert not list((project / "reproductions").glob("mnist1d/runs/*/*"))


@pytest.mark.parametrize("override, says", [
    pytest.param("optim.lr=-0.1", "optim.lr=-0.1 must be a positive number", marks=pytest.mark.slow),
    pytest.param("batch_size=0", "batch_size=0 must be a positive integer", marks=pytest.mark.slow),
    pytest.param("trainer.max_steps=abc", "trainer.max_steps", marks=pytest.mark.slow),
    pytest.param("optim.lrr=0.1", "unknown config key 'optim.lrr'. Did you mean 'optim.lr'?", marks=pytest.mark.slow),
    pytest.param("+optim.momentum=-1", "optim:", marks=pytest.mark.slow),
])
def test_the_real_cli_says_what_is_wrong(project, override, says):
    tally("bad_inputs_tried", override=override, via="CLI")
    proc = workbench(project, *BASE, override, timeout=120)
    assert not crash_check(proc.stderr, override)
    assert proc.returncode == 1
    assert says in proc.stderr, proc.stderr
