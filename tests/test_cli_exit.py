"""The `workbench` entry point ends its process quickly (__main__.exit_quickly) without skipping
what a normal shutdown does: atexit handlers (W&B's and MLflow's finishers) and the finalizers of
garbage the command left behind, even garbage in a reference cycle."""

import subprocess
import sys
import textwrap


def test_exit_quickly_still_runs_atexit_handlers_and_finalizes_cyclic_garbage(tmp_path):
    script = textwrap.dedent(f"""
        import atexit, gc, sys
        gc.disable()  # no automatic collection finds the cycle first: only the entry point's own
        from pathlib import Path
        out = Path({str(tmp_path)!r})
        atexit.register(lambda: (out / "atexit").write_text("ran"))

        class Cycle:
            def __del__(self):
                (out / "finalized").write_text("ran")

        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        del a, b  # garbage only a collection can find
        sys.argv = ["workbench", "--version"]
        from workbench.__main__ import run
        run()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "finalized").read_text() == "ran"


def test_a_failing_command_keeps_its_exit_status(tmp_path):
    script = "import sys; sys.argv = ['workbench', 'no-such-command']; from workbench.__main__ import run; run()"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr  # click's usage error
