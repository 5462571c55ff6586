"""`python -m workbench ...` (what torchrun launches) is the `workbench` command."""

from workbench.cli import main

main()
