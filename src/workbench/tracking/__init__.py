"""Where a run's metrics go besides its folder: the run logger (logger) and its W&B and MLflow mirrors."""
