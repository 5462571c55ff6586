"""The verdict rule (docs/claims.md, "Verdicts"): an equivalence test that noise cannot help.

A claim states a region its quantity should fall in: the tolerance band B = [v − τ, v + τ] around
the paper's value v, or for a relative claim a bound such as "ratio ≥ 100". Our runs give an
estimate m with a spread s (over seeds; with one run, the paper's std where it gives one). Then

    reproduced      our 90% interval lies inside the region (two one-sided tests at 5%),
    not reproduced  our 95% interval lies wholly outside it (better or worse by the claim's goal),
    inconclusive    neither: the interval straddles an edge; more seeds could decide it,

so a wider spread can only move a verdict away from *reproduced*. Positive quantities whose error
is multiplicative (losses, errors, MSE, perplexity) are judged on the log scale. Every function
here is pure: the same claim and values always give the same judgement.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special

VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not comparable", "missing")
MAX_SEEDS_ASKED = 1000
LOG_SCALE_WORDS = ("loss", "err", "mse", "mae", "rmse", "nll", "perplexity", "ppl", "l1", "l2", "fid", "eer", "wer",
                   "cer", "bpd")


@dataclass(frozen=True)
class Judgement:
    """A verdict and what it rests on. Intervals are in the claim's own units."""

    verdict: str
    direction: str | None = None       # "better" | "worse": where our estimate sits, by the claim's goal
    scale: str = "linear"              # linear | log
    interval90: tuple[float, float] | None = None
    interval95: tuple[float, float] | None = None
    spread: str = "none"               # seeds | paper std | none
    seeds_needed: int | None = None    # inconclusive: seeds that would decide it at this estimate and spread
    note: str | None = None


def inferred_scale(metric: str, declared: str | None) -> str:
    """`scale:` as the claim declares it, else log for losses, errors and distances."""
    if declared is not None:
        return declared
    name = metric.rsplit("/", 1)[-1].lower()
    return "log" if any(word in name for word in LOG_SCALE_WORDS) else "linear"


@dataclass(frozen=True)
class Region:
    """Where the claimed quantity should lie, on the judging scale: [low, high], either may be infinite."""

    low: float
    high: float

    def contains(self, lo: float, hi: float) -> bool:
        slack = 1e-12 * max(1.0, *(abs(x) for x in (self.low, self.high, lo, hi) if math.isfinite(x)))
        return self.low - slack <= lo and hi <= self.high + slack

    def misses(self, lo: float, hi: float) -> bool:
        return hi < self.low or lo > self.high


@dataclass(frozen=True)
class Estimate:
    """Our estimate on the judging scale: centre m, spread s per run, n runs, degrees of freedom (None: normal)."""

    m: float
    s: float | None
    n: float  # runs; for a difference, the runs a side that give its standard error
    df: float | None

    def half_width(self, level: float, n: float | None = None) -> float:
        """Half-width of the two-sided `level` interval, for n runs (default: the runs we have)."""
        n = self.n if n is None else n
        if not self.s:
            return 0.0
        df = self.df if n == self.n else n - 1
        return quantile(0.5 + level / 2, df) * self.s / math.sqrt(n)

    def interval(self, level: float, n: float | None = None) -> tuple[float, float]:
        half = self.half_width(level, n)
        return self.m - half, self.m + half


@functools.lru_cache(maxsize=4096)
def quantile(q: float, df: float | None) -> float:
    """Student t quantile with df degrees of freedom; the normal one when df is None."""
    return float(special.ndtri(q)) if df is None else float(special.stdtrit(df, q))


def decide(region: Region, est: Estimate) -> str:
    lo90, hi90 = est.interval(0.90)
    if region.contains(lo90, hi90):
        return "reproduced"
    lo95, hi95 = est.interval(0.95)
    if region.misses(lo95, hi95):
        return "not reproduced"
    return "inconclusive"


def seeds_to_decide(region: Region, est: Estimate) -> int | None:
    """The fewest runs that would decide an inconclusive claim if the estimate and spread held."""
    def decided(n: int) -> bool:
        return region.contains(*est.interval(0.90, n)) or region.misses(*est.interval(0.95, n))

    low, high = max(math.floor(est.n) + 1, 2), MAX_SEEDS_ASKED
    if not est.s or not decided(high):
        return None
    while low < high:  # intervals only shrink as n grows, so "decided" flips once
        mid = (low + high) // 2
        low, high = (low, mid) if decided(mid) else (mid + 1, high)
    return low


def to_scale(x: float, scale: str) -> float:
    if scale == "linear":
        return x
    return math.log(x) if x > 0 else -math.inf


def from_scale(x: float, scale: str) -> float:
    if scale == "linear":
        return x
    return math.exp(x) if x < 700 else math.inf  # exp(-inf) is 0.0


def judge_value(value: float, tolerance: float, goal: str, values: Sequence[float], *,
                paper_std: float | None = None, scale: str = "linear") -> Judgement:
    """One claimed number against our per-run values (the rule in the module docstring)."""
    xs = [float(x) for x in values]
    if not xs:
        return Judgement("missing", scale=scale)
    note = None
    if scale == "log" and (value <= 0 or min(xs) <= 0):
        scale, note = "linear", "judged on the linear scale: the log scale needs positive values"
    region = Region(to_scale(value - tolerance, scale), to_scale(value + tolerance, scale))
    ts = [to_scale(x, scale) for x in xs]
    est, spread = estimate(ts, paper_std if scale == "linear" else relative_std(paper_std, value))
    verdict = decide(region, est)
    if spread == "none":
        note = join(note, "one run and no known spread: the verdict rests on a single value")
    elif spread == "paper std":
        note = join(note, "one run: the paper's std stands in for the spread over seeds")
    mean = statistics.fmean(xs)
    return Judgement(
        verdict=verdict,
        direction=direction(mean - value, goal),
        scale=scale,
        interval90=to_units(est.interval(0.90), scale) if est.s else None,
        interval95=to_units(est.interval(0.95), scale) if est.s else None,
        spread=spread,
        seeds_needed=seeds_to_decide(region, est) if verdict == "inconclusive" else None,
        note=note,
    )


def judge_bound(kind: str, low: float | None, high: float | None, a: Sequence[float], b: Sequence[float]) -> Judgement:
    """A relative claim: the ratio mean(a)/mean(b) (judged on the log scale), the difference
    mean(a) − mean(b), or the order mean(a) < mean(b), against its bound [low, high]."""
    if not a or not b:
        return Judgement("missing")
    scale = "log" if kind == "ratio" else "linear"
    if scale == "log" and min(*a, *b) <= 0:
        return Judgement("inconclusive", scale=scale, note="a ratio needs positive values on both sides")
    if kind == "order":
        low, high = None, 0.0
    region = Region(-math.inf if low is None else to_scale(low, scale), math.inf if high is None else to_scale(high, scale))
    ta, tb = [to_scale(x, scale) for x in a], [to_scale(x, scale) for x in b]
    est, note = difference_estimate(ta, tb)
    verdict = decide(region, est)
    if kind == "order" and verdict == "reproduced" and not est.m < 0:
        verdict = "not reproduced"  # a tie is not an order
    return Judgement(
        verdict=verdict,
        scale=scale,
        interval90=to_units(est.interval(0.90), scale) if est.s else None,
        interval95=to_units(est.interval(0.95), scale) if est.s else None,
        spread="seeds" if est.s else "none",
        seeds_needed=seeds_to_decide(region, est) if verdict == "inconclusive" else None,
        note=note,
    )


def estimate(ts: list[float], paper_spread: float | None) -> tuple[Estimate, str]:
    n = len(ts)
    m = statistics.fmean(ts)
    if n >= 2:
        return Estimate(m, float(statistics.stdev(ts)), n, n - 1), "seeds"
    if paper_spread is not None and paper_spread > 0 and math.isfinite(paper_spread):
        return Estimate(m, paper_spread, 1, None), "paper std"
    return Estimate(m, None, 1, None), "none"


def difference_estimate(a: list[float], b: list[float]) -> tuple[Estimate, str | None]:
    """mean(a) − mean(b) with Welch's standard error; a side of one run borrows the other side's spread."""
    m = statistics.fmean(a) - statistics.fmean(b)
    sa = statistics.stdev(a) if len(a) >= 2 else None
    sb = statistics.stdev(b) if len(b) >= 2 else None
    if sa is None and sb is None:
        return Estimate(m, None, 1, None), "one run on each side and no known spread: the verdict rests on single values"
    note = None
    if sa is None or sb is None:
        sa, sb = sa if sa is not None else sb, sb if sb is not None else sa
        note = "one run on a side: it is given the other side's spread"
    va, vb = sa**2 / len(a), sb**2 / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(m, 0.0, 1, None), note
    df = (va + vb) ** 2 / (va**2 / max(len(a) - 1, 1) + vb**2 / max(len(b) - 1, 1))
    # As one estimate of spread s over n runs (s/√n = se), so that "n runs a side" asks the same question.
    s = math.sqrt(sa**2 + sb**2)
    return Estimate(m, s, (s / se) ** 2, df), note


def relative_std(paper_std: float | None, value: float) -> float | None:
    """The paper's std on the log scale (delta method: σ / v)."""
    return None if paper_std is None or value <= 0 else paper_std / value


def to_units(interval: tuple[float, float], scale: str) -> tuple[float, float]:
    return from_scale(interval[0], scale), from_scale(interval[1], scale)


def direction(delta: float, goal: str) -> str | None:
    if delta == 0:
        return None
    return "better" if (delta > 0) == (goal == "max") else "worse"


def join(first: str | None, second: str) -> str:
    return second if first is None else f"{first}; {second}"
