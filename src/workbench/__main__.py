"""`python -m workbench ...` (what torchrun launches) and the `workbench` console script."""

import gc
import sys


def run() -> None:
    try:
        from workbench.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the command was still loading: nothing was done yet
        sys.exit(130)
    try:
        main()
    finally:
        exit_quickly()


def exit_quickly() -> None:
    """Spare the interpreter's shutdown its garbage collections over everything torch imported.

    Tearing the modules down, Python collects all their objects several times over: 0.6 s after
    importing torch, 1.0-1.2 s after an optimizer step (which imports torch._dynamo), on every
    command. Collecting the command's own garbage once (its finalizers run, as they would at exit)
    and freezing what is left out of the collector ends the process in about 0.35 s
    (benchmarks/cli_startup.py). Objects are still freed, and atexit handlers (W&B's and MLflow's
    finishers), thread joins and buffered files still run and flush as usual."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    run()
