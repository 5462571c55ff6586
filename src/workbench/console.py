"""The one pair of consoles every command prints through: results to stdout, progress and
warnings to stderr (soft-wrapped, so a long path or a printed command stays on one line)."""

from __future__ import annotations

from rich.console import Console

stdout = Console()
stderr = Console(stderr=True, soft_wrap=True)
