"""Run the real `workbench` CLI with one fault armed inside the process, at an exact moment.

WORKBENCH_INJECT picks the fault (N counts from 1):
  kill_in_checkpoint_write=N  SIGKILL after the Nth checkpoint's temp file is written and
                              fsynced, before it is renamed to last.pt (the atomic-write window)
  kill_after_rotation=N       SIGKILL after the Nth rename last.pt -> prev.pt, before the new
                              last.pt exists
  kill_at_step=S              SIGKILL right after the metrics line of step S is written
  sigint_at_step=S            Ctrl-C (SIGINT to itself) at step S
A real signal ends the process; nothing here catches it. Used by tests/faults only.
"""

from __future__ import annotations

import os
import signal
import sys


def arm(spec: str) -> None:
    name, _, value = spec.partition("=")
    target = int(value)
    count = {"n": 0}

    if name == "kill_in_checkpoint_write":
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            real_fsync(fd)
            if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".last.pt."):
                count["n"] += 1
                if count["n"] == target:
                    os.kill(os.getpid(), signal.SIGKILL)

        os.fsync = fsync
    elif name == "kill_after_rotation":
        real_replace = os.replace

        def replace(src, dst, **kwargs) -> None:
            real_replace(src, dst, **kwargs)
            if str(dst).endswith("prev.pt"):
                count["n"] += 1
                if count["n"] == target:
                    os.kill(os.getpid(), signal.SIGKILL)

        os.replace = replace
    elif name in ("kill_at_step", "sigint_at_step"):
        from workbench.tracking.logger import RunLogger

        real_log = RunLogger.log
        sig = signal.SIGKILL if name == "kill_at_step" else signal.SIGINT

        def log(self, step, split, metrics) -> None:
            real_log(self, step, split, metrics)
            if step == target and not count["n"]:
                count["n"] = 1
                os.kill(os.getpid(), sig)

        RunLogger.log = log
    else:
        raise SystemExit(f"inject.py: unknown fault {spec!r}")


if __name__ == "__main__":
    arm(os.environ["WORKBENCH_INJECT"])
    from workbench.cli import main

    sys.argv = ["workbench", *sys.argv[1:]]
    main()
