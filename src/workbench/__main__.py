"""`python -m workbench ...` (what torchrun launches) and the `workbench` console script."""

import sys


def run() -> None:
    try:
        from workbench.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the command was still loading: nothing was done yet
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
