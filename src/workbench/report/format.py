"""Numbers and table cells as the report writes them (REPORT.md, and `workbench status` beside it)."""

from __future__ import annotations

import math
import re
from typing import Any

from workbench.claims.schema import Claim


SIGNIFICANT = 3  # every number the report prints, value and spread alike


def format_number(x: float | int | None, digits: int = SIGNIFICANT) -> str:
    """A number as every table of the report prints it: `digits` significant figures ("31.4",
    "0.0548", "1.2e-05"), exact integers as such (5835 parameters, 94 in the paper), "—" for none."""
    if x is None or isinstance(x, bool) or not math.isfinite(float(x)):
        return "—"
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    rounded = float(f"{x:.{digits}g}")
    if 1e-4 <= abs(rounded) < 1e6:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
        return _without_trailing_zeros(f"{rounded:.{decimals}f}")
    mantissa, exponent = f"{rounded:.{digits - 1}e}".split("e")
    return f"{_without_trailing_zeros(mantissa)}e{int(exponent)}"


def _without_trailing_zeros(decimal: str) -> str:
    return decimal.rstrip("0").rstrip(".") if "." in decimal else decimal


def signed(x: float | None) -> str:
    """A difference with its sign: "+0.24", "−1.5" (a true minus sign), "0"."""
    if x is None or not math.isfinite(x):
        return "—"
    shown = format_number(abs(x))
    return shown if shown == "0" else ("−" if x < 0 else "+") + shown


def unit_suffix(unit: str) -> str:
    """The unit after a number: "%" sticks to it, any other unit is spaced."""
    return unit if unit in ("%", "") else f" {unit}"


def plus_minus(mean: float, std: float | None, n: int | None, unit: str) -> str:
    """ "94 ± 2% (n=3)", "31.371 ± 0.055% (n=5)"; "94 ± —% (n=1)": one run has no spread; the std
    and the count only when known. A spread prints to 2 significant figures and its mean to the
    same decimal place, so the two read at one precision."""
    if n == 1:
        shown = f"{format_number(mean)} ± —"
    elif std is None:
        shown = format_number(mean)
    else:
        shown = " ± ".join(same_precision(mean, std))
    return shown + unit_suffix(unit) + (f" (n={n})" if n else "")


def same_precision(mean: float, std: float) -> tuple[str, str]:
    """(mean, std) rounded to the std's second significant figure; integers, a zero spread and
    numbers too small or large for fixed decimals print as format_number does."""
    plain = (format_number(mean), format_number(std))
    if not (math.isfinite(mean) and math.isfinite(std)) or float(mean).is_integer() and float(std).is_integer():
        return plain
    if not (1e-4 <= std < 1e6 and abs(mean) < 1e6 and (mean == 0 or abs(mean) >= 1e-4)):
        return plain
    decimals = max(0, 1 - math.floor(math.log10(std)))
    return f"{mean:.{decimals}f}", f"{std:.{decimals}f}"


# Words of metric keys as a reader says them: "test/acc" → "test accuracy".
METRIC_WORDS = {
    "acc": "accuracy", "err": "error", "loss": "loss", "mse": "MSE", "mae": "MAE", "rmse": "RMSE", "nll": "NLL",
    "ppl": "perplexity", "rel": "relative", "l2": "L2", "l1": "L1", "trainset": "train", "val": "validation",
    "n": "number of", "freqs": "frequencies", "lr": "learning rate", "fourier": "Fourier",
}


def metric_name(metric: str) -> str:
    """A metric key in words: "test/acc" → "test accuracy", "trainset/memorise_epoch" → "train memorise epoch"."""
    words = re.split(r"[/_.\s]+", metric.strip())
    return " ".join(METRIC_WORDS.get(w.lower(), w) for w in words if w) or metric


def axis_label(metric: str, unit: str = "") -> str:
    """An axis label: the metric in words and its unit, "test accuracy (%)" (not "key frequencies (frequencies)")."""
    name = metric_name(metric)
    return name + (f" ({unit})" if unit and not name.endswith(unit) else "")


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
