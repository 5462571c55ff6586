"""What the W&B and MLflow mirrors share: the one line that says why a mirror could not start."""

from __future__ import annotations

from workbench.extras import is_optional, missing_extra_message


def start_failure(exc: Exception) -> str:
    """A missing integration names the extra that installs it; anything else its first line."""
    if isinstance(exc, ModuleNotFoundError) and is_optional(exc.name):
        return missing_extra_message(str(exc.name))
    text = str(exc).strip()
    return f"could not start ({type(exc).__name__}: {text.splitlines()[0] if text else 'no message'})"
