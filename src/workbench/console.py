"""The one pair of consoles every command prints through: results to stdout, progress and
warnings to stderr. Both soft-wrap: a long path or a printed command (`wandb sync ...`) stays on
one line, so it can be copied, and piped output (not a terminal: no colour either) is plain lines
that grep and scripts read; only tables and panels are laid out to the width."""

from __future__ import annotations

from rich.console import Console

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)
