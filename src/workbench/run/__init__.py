"""`workbench run` and `workbench resume`: composition (config), the run folder (record), the loop (trainer), checkpoints, seeds, torchrun."""
