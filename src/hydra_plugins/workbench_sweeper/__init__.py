"""workbench's Hydra plugin: hydra/sweeper=workbench (planned_sweeper.py)."""
