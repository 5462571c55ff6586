"""Seed statistics and the verdict rule that puts our runs beside a paper's claim.

Everything here is a pure function of its inputs: the same claim and values always give the same
verdict (docs/claims.md, "Verdicts").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

from workbench.claims.schema import Claim, tolerance_width

VERDICTS = ("reproduced", "better", "worse", "inconclusive", "missing")


@dataclass(frozen=True)
class SeedStats:
    """Mean over seeds, sample std (ddof=1; 0.0 for one seed), n, and a 95% Student t interval."""

    mean: float
    std: float
    n: int
    ci95: tuple[float, float]


def summarize(values: Sequence[float]) -> SeedStats:
    """Mean, std (ddof=1) and the 95% t interval mean ± t(0.975, n-1)·std/√n.

    One value gives std 0.0 and the interval (-inf, inf): one seed says nothing about spread.
    """
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    # statistics.mean/stdev are exactly rounded: three equal seeds give std 0.0, not 3e-17
    mean = float(statistics.mean(xs))
    if n == 1:
        return SeedStats(mean, 0.0, 1, (-math.inf, math.inf))
    std = float(statistics.stdev(xs))
    half = float(sps.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return SeedStats(mean, std, n, (mean - half, mean + half))


def welch_p(
    mean: float,
    std: float | None,
    n: int | None,
    paper_mean: float,
    paper_std: float | None,
    paper_n: int | None,
) -> float | None:
    """Two-sided Welch t-test p-value of our seeds against the paper's reported mean ± std (n).

    None when either side has fewer than two seeds or no std, or the test is undefined (both std 0).
    """
    if std is None or paper_std is None or n is None or paper_n is None or n < 2 or paper_n < 2:
        return None
    if std == 0 and paper_std == 0:  # no spread on either side: scipy answers 0 or nan, neither means much
        return None
    result = sps.ttest_ind_from_stats(mean, std, n, paper_mean, paper_std, paper_n, equal_var=False)
    p = float(result.pvalue)
    return p if math.isfinite(p) else None


def verdict(claim: Claim, values: Sequence[float]) -> str:
    """The verdict of our per-seed values against one claim. The rule, in order:

    1. no values                                   → "missing"
    2. tol = tolerance_width(claim), d = mean − claim.value; |d| ≤ tol → "reproduced"
       (up to float rounding, so a mean of exactly value ± tol counts as inside)
    3. our 95% t interval overlaps [value − tol, value + tol] (always for n = 1)
                                                   → "inconclusive": too few seeds to tell
    4. d in the direction of claim.goal (d > 0 for max, d < 0 for min) → "better", else "worse"
    """
    if len(values) == 0:
        return "missing"
    tol = tolerance_width(claim)
    s = summarize(values)
    d = s.mean - claim.value
    if abs(d) <= tol + _rounding_slack(claim.value, tol):
        return "reproduced"
    low, high = s.ci95
    if low <= claim.value + tol and high >= claim.value - tol:
        return "inconclusive"
    toward_goal = d > 0 if claim.goal == "max" else d < 0
    return "better" if toward_goal else "worse"


def _rounding_slack(value: float, tol: float) -> float:
    """A few ulps at the scale of the numbers: 95.9 and 96.1 average to 96.00000000000001."""
    return 1e-12 * max(abs(value), tol, 1.0)
