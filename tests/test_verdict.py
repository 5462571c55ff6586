"""The verdict rule (src/workbench/report/verdict.py, docs/claims.md): properties that must hold for
any claim and any runs, checked by hypothesis, and the cases that used to go wrong."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workbench.report.verdict import Estimate, Region, judge_bound, judge_value, seeds_to_decide

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
runs = st.lists(finite, min_size=2, max_size=8)
goals = st.sampled_from(["max", "min"])


def spread_out(xs: list[float], factor: float) -> list[float]:
    m = statistics.fmean(xs)
    return [m + factor * (x - m) for x in xs]


@settings(max_examples=300, deadline=None)
@given(value=finite, tol=positive, goal=goals, xs=runs, factor=st.floats(min_value=1.0, max_value=100.0))
def test_more_spread_never_makes_a_claim_reproduced(value, tol, goal, xs, factor):
    wider = judge_value(value, tol, goal, spread_out(xs, factor))
    if wider.verdict == "reproduced":
        assert judge_value(value, tol, goal, xs).verdict == "reproduced"


@settings(max_examples=300, deadline=None)
@given(value=positive, rel=st.floats(min_value=0.01, max_value=0.9), xs=st.lists(positive, min_size=2, max_size=6),
       factor=st.floats(min_value=1.0, max_value=10.0))
def test_more_spread_never_helps_on_the_log_scale_either(value, rel, xs, factor):
    logs = [math.log(x) for x in xs]
    m = statistics.fmean(logs)
    wider = [math.exp(m + factor * (t - m)) for t in logs]
    if judge_value(value, rel * value, "min", wider, scale="log").verdict == "reproduced":
        assert judge_value(value, rel * value, "min", xs, scale="log").verdict == "reproduced"


@settings(max_examples=300, deadline=None)
@given(value=finite, tol=positive, goal=goals, xs=runs)
def test_reproduced_means_our_whole_interval_is_in_the_band(value, tol, goal, xs):
    j = judge_value(value, tol, goal, xs)
    if j.verdict == "reproduced":
        assert abs(statistics.fmean(xs) - value) <= tol * (1 + 1e-9) + 1e-9
        if j.interval90 is not None:
            assert value - tol - 1e-6 * max(1, abs(value)) <= j.interval90[0]
            assert j.interval90[1] <= value + tol + 1e-6 * max(1, abs(value))


@settings(max_examples=300, deadline=None)
@given(value=finite, tol=positive, goal=goals, x=finite, std=st.one_of(st.none(), positive))
def test_one_run_far_outside_the_band_is_not_reproduced(value, tol, goal, x, std):
    reach = tol + 4 * (std or 0)  # beyond the band by more than 1.96 of the paper's stds
    assume(abs(x - value) > reach * 1.01 + 1e-9)
    j = judge_value(value, tol, goal, [x], paper_std=std)
    assert j.verdict == "not reproduced"
    assert j.direction == ("better" if (x > value) == (goal == "max") else "worse")


@settings(max_examples=200, deadline=None)
@given(value=finite, tol=positive, goal=goals, xs=runs, std=st.one_of(st.none(), positive))
def test_the_same_runs_and_claim_give_the_same_verdict(value, tol, goal, xs, std):
    assert judge_value(value, tol, goal, xs, paper_std=std) == judge_value(value, tol, goal, list(xs), paper_std=std)


@settings(max_examples=200, deadline=None)
@given(m=finite, s=positive, n=st.integers(min_value=2, max_value=20), low=finite, width=positive)
def test_the_seeds_asked_for_would_decide_it(m, s, n, low, width):
    region, est = Region(low, low + width), Estimate(m, s, n, n - 1)
    needed = seeds_to_decide(region, est)
    if needed is not None:
        assert needed > n
        assert region.contains(*est.interval(0.90, needed)) or region.misses(*est.interval(0.95, needed))


def test_no_runs_is_missing():
    assert judge_value(1.0, 0.1, "max", []).verdict == "missing"


def test_wild_seeds_around_the_value_are_not_reproduced():
    """[10, 60, 130] for a 68 ± 2 claim (tolerance 4): the mean is close, the runs are not."""
    j = judge_value(68.0, 4.0, "max", [10.0, 60.0, 130.0])
    assert j.verdict == "inconclusive" and j.seeds_needed is None  # more than 1000 seeds at that spread


def test_tight_seeds_just_outside_are_not_reproduced():
    assert judge_value(68.0, 4.0, "max", [63.9, 63.9, 63.9]).verdict == "not reproduced"


def test_a_single_run_a_hundred_thousand_times_off_is_not_reproduced():
    """PINN: an error of 100 against the paper's 6.7e-4 is no longer "inconclusive"."""
    j = judge_value(6.7e-4, 3.35e-4, "min", [100.0], scale="log")
    assert j.verdict == "not reproduced" and j.direction == "worse" and "single value" in j.note


def test_one_run_uses_the_papers_std_as_the_spread():
    near = judge_value(94.0, 4.0, "max", [94.2], paper_std=2.0)
    assert near.spread == "paper std" and near.verdict == "reproduced"  # 94.2 ± 1.645 x 2 lies in [90, 98]
    edge = judge_value(94.0, 4.0, "max", [95.5], paper_std=2.0)
    assert edge.verdict == "inconclusive" and edge.seeds_needed is not None


def test_the_log_scale_interval_stays_positive():
    j = judge_value(3.8e-4, 7.6e-4, "min", [3.2e-3, 2e-4, 5e-4], scale="log")
    assert j.interval95[0] > 0


def test_log_scale_falls_back_to_linear_for_a_zero():
    j = judge_value(0.5, 0.1, "min", [0.0, 0.5], scale="log")
    assert j.scale == "linear" and "linear" in j.note


@pytest.mark.parametrize(("a", "b", "verdict"), [
    ([3.2e-2, 3.5e-2, 3.0e-2], [1.5e-4, 1.6e-4, 1.55e-4], "reproduced"),   # ratio ~210, tight
    ([3.2e-2, 3.5e-2, 3.0e-2], [3.0e-3, 3.2e-3, 3.1e-3], "not reproduced"),  # ratio ~10
])
def test_a_ratio_claim(a, b, verdict):
    assert judge_bound("ratio", 100.0, None, a, b).verdict == verdict


def test_a_difference_claim_and_an_order():
    assert judge_bound("difference", 30.0, None, [94, 95, 93], [56, 57, 58]).verdict == "reproduced"
    assert judge_bound("difference", 30.0, None, [94, 95, 93], [80, 81, 79]).verdict == "not reproduced"
    assert judge_bound("order", None, None, [9400.0], [14000.0]).verdict == "reproduced"
    assert judge_bound("order", None, None, [14000.0], [9400.0]).verdict == "not reproduced"


@settings(max_examples=200, deadline=None)
@given(a=st.lists(positive, min_size=2, max_size=6), b=st.lists(positive, min_size=2, max_size=6),
       bound=positive, factor=st.floats(min_value=1.0, max_value=10.0))
def test_more_spread_never_helps_a_relative_claim(a, b, bound, factor):
    def spread_log(xs):
        logs = [math.log(x) for x in xs]
        m = statistics.fmean(logs)
        return [math.exp(m + factor * (t - m)) for t in logs]

    if judge_bound("ratio", bound, None, spread_log(a), spread_log(b)).verdict == "reproduced":
        assert judge_bound("ratio", bound, None, a, b).verdict == "reproduced"
