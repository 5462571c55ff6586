"""Integrations installed as extras (`pip install 'workbench[wandb]'`), so the base install stays
light: which import needs which extra, and the one line that says how to get it."""

from __future__ import annotations

# An importable module -> the extra that installs it (pyproject.toml's [project.optional-dependencies]).
EXTRA_OF = {
    "wandb": "wandb",
    "wandb_workspaces": "wandb-report",
    "mlflow": "mlflow",
    "alembic": "mlflow",
    "sqlalchemy": "mlflow",
    "hydra_plugins.hydra_joblib_launcher": "launchers",
    "hydra_plugins.hydra_submitit_launcher": "launchers",
    "submitit": "launchers",
    "optuna": "optuna",
    "mnist1d": "papers",
}


def is_optional(module: str | None) -> bool:
    return module in EXTRA_OF


def missing_extra_message(module: str) -> str:
    """`ModuleNotFoundError` of an optional integration, as one line that says what to install."""
    extra = EXTRA_OF[module]
    return f"{module} is not installed; it comes with pip install 'workbench[{extra}]'"
