"""Numbers and table cells as the report writes them (REPORT.md, and `workbench status` beside it)."""

from __future__ import annotations

import math
import re
from typing import Any

from workbench.claims.schema import Claim


def format_number(x: float | int | None) -> str:
    """A number for a table: integers as such, else at most 2 decimals from 1 up, 3 significant below."""
    if x is None or isinstance(x, bool) or not math.isfinite(float(x)):
        return "—"
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


def unit_suffix(unit: str) -> str:
    """The unit after a number: "%" sticks to it, any other unit is spaced."""
    return unit if unit in ("%", "") else f" {unit}"


def plus_minus(mean: float, std: float | None, n: int | None, unit: str) -> str:
    """ "94 ± 2% (n=3)": the std and the count only when known."""
    shown = format_number(mean) + (f" ± {format_number(std)}" if std is not None else "") + unit_suffix(unit)
    return shown + (f" (n={n})" if n else "")


def text(x: Any) -> str:
    """A config value or field as YAML would spell it; None as a dash."""
    if isinstance(x, bool):
        return "true" if x else "false"
    return "—" if x is None else str(x)


def cell(value: Any) -> str:
    """Table-safe: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def quote(words: str) -> str:
    return f"“{cell(words)}”"


def source(claim: Claim) -> str:
    """Where in the paper a claim stands: "arXiv 2011.14439, table 1, row MNIST-1D, main.tex:12"."""
    s = claim.source
    parts = [f"arXiv {s.arxiv}"]
    located = (("table", s.table), ("row", s.row), ("column", s.column))
    parts += [f"{name} {value}" for name, value in located if value is not None]
    if s.file:
        parts.append(f"{s.file}:{s.line}" if s.line else s.file)
    return ", ".join(parts)


def row(*cells: str) -> str:
    """One markdown table row of cells already made table-safe."""
    return "| " + " | ".join(cells) + " |"


def config_label(select: dict[str, Any]) -> str:
    """A claim's select as one label, keys sorted: "data=standard, model=cnn"."""
    return ", ".join(f"{k}={text(v)}" for k, v in sorted(select.items()))


def slug(label: str) -> str:
    """A file-name part: "test/acc" → "test_acc", "data=standard, model=cnn" → "data-standard_model-cnn"."""
    label = label.replace("=", "-").replace(", ", "_").replace("/", "_")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-_") or "all"


def verdict_label(verdict: str, direction: str | None = None, seeds_needed: int | None = None) -> str:
    """A verdict as a reader quotes it: "not reproduced (worse)", "inconclusive: ~7 seeds would decide"."""
    if verdict == "not reproduced" and direction:
        return f"{verdict} ({direction})"
    if verdict == "inconclusive" and seeds_needed:
        return f"{verdict}: ~{seeds_needed} seeds would decide"
    return verdict


def bound_text(kind: str, low: float | None, high: float | None) -> str:
    """A relative claim as the paper makes it: "ratio ≥ 100", "difference ≥ 30", "select < versus"."""
    if kind == "order":
        return "select < versus"
    parts = ([f"≥ {format_number(low)}"] if low is not None else []) + ([f"≤ {format_number(high)}"] if high is not None else [])
    return f"{kind} {' and '.join(parts)}"
