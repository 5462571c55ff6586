import math

import pytest

from workbench.claims.schema import Claim
from workbench.report.compare import judge_claim
from workbench.report.stats import summarize, welch_p


def make_claim(value=94.0, std=2.0, goal="max", tolerance=None, **extra):
    data = {
        "id": "table1.cnn.test_acc",
        "quote": "CNN | 94 ± 2",
        "source": {"arxiv": "2011.14439", "table": 1},
        "metric": "test/acc",
        "value": value,
        "std": std,
        "n_seeds": 3,
        "unit": "%",
        "goal": goal,
        "select": {"model": "cnn"},
        "tolerance": tolerance or {"kind": "paper_std", "k": 2},
        "status": "confirmed",
    }
    return Claim(**{**data, **extra})


# --- summarize -------------------------------------------------------------------------------


def test_t_interval_matches_hand_computation():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    # mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / (n-1) = 5/3
    std = math.sqrt(5 / 3)
    t_975_3 = 3.182446305284263  # Student t, 97.5th percentile, 3 degrees of freedom (tables)
    half = t_975_3 * std / math.sqrt(4)
    assert s.n == 4
    assert s.mean == pytest.approx(2.5)
    assert s.std == pytest.approx(std)
    assert s.ci95[0] == pytest.approx(2.5 - half, rel=1e-12)
    assert s.ci95[1] == pytest.approx(2.5 + half, rel=1e-12)


def test_one_seed_has_zero_std_and_unbounded_interval():
    s = summarize([7.5])
    assert (s.mean, s.std, s.n) == (7.5, 0.0, 1)
    assert s.ci95 == (-math.inf, math.inf)


def test_identical_seeds_give_a_point_interval():
    s = summarize([3.0, 3.0, 3.0])
    assert s.std == 0.0 and s.ci95 == (3.0, 3.0)


def test_summarize_refuses_no_values():
    with pytest.raises(ValueError):
        summarize([])


# --- welch_p ---------------------------------------------------------------------------------


def test_welch_p_matches_formula():
    from scipy.stats import t

    m1, s1, n1, m2, s2, n2 = 93.0, 1.0, 5, 94.0, 2.0, 3
    v1, v2 = s1**2 / n1, s2**2 / n2
    stat = (m1 - m2) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))  # Welch–Satterthwaite
    expected = 2 * t.sf(abs(stat), df)
    assert welch_p(m1, s1, n1, m2, s2, n2) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("args", [(93.0, 1.0, 5, 94.0, 2.0, 3), (68.2, 0.4, 3, 68.0, 0.0, 5), (55.0, 3.0, 2, 70.0, 0.5, 10),
                                  (94.0, 0.0, 3, 93.1, 1.2, 10), (1.0, 1e-3, 30, 1.0, 1e-3, 30)])
def test_welch_p_is_scipys_welch_test(args):
    from scipy.stats import ttest_ind_from_stats

    expected = ttest_ind_from_stats(*args, equal_var=False).pvalue
    assert welch_p(*args) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "args",
    [
        (93.0, 1.0, 1, 94.0, 2.0, 3),  # one seed of ours
        (93.0, 1.0, 3, 94.0, 2.0, 1),  # paper reports one run
        (93.0, 1.0, 3, 94.0, None, 3),  # paper gives no std
        (93.0, 1.0, 3, 94.0, 2.0, None),  # paper gives no n
        (93.0, 0.0, 3, 94.0, 0.0, 3),  # both exact: test undefined
    ],
)
def test_welch_p_is_none_without_enough_information(args):
    assert welch_p(*args) is None


# --- verdict ---------------------------------------------------------------------------------
# The rule (report/verdict.py, docs/claims.md): reproduced when our 90% interval lies inside the band,
# not reproduced when our 95% interval lies wholly outside it, else inconclusive. These cases used to
# be judged by the mean alone ("better"/"worse" when clearly outside, "reproduced" when the mean was in).
# Claim 94 ± 2 with tolerance 2·std → band [90, 98].


def verdict(claim, values):
    j = judge_claim(claim, values)
    return f"{j.verdict} ({j.direction})" if j.verdict == "not reproduced" else j.verdict


@pytest.mark.parametrize(
    "values, expected",
    [
        ([93.0, 94.0, 95.0], "reproduced"),  # 90% t interval [92.3, 95.7]
        ([95.0], "inconclusive"),  # one seed: the paper's std as spread, 95 ± 1.645·2 reaches past 98
        ([94.5], "reproduced"),  # 94.5 ± 3.3 lies inside
        ([100.0, 100.5, 101.0], "not reproduced (better)"),  # 95% interval [99.3, 101.7] clear of the band, above
        ([85.0, 85.5, 86.0], "not reproduced (worse)"),
        ([100.0], "inconclusive"),  # one seed just outside: 100 ± 1.96·2 reaches the band
        ([110.0], "not reproduced (better)"),  # one seed far outside is decided, not inconclusive
        ([90.0, 100.0, 110.0], "inconclusive"),  # mean 100 outside, but the interval ±24.8 reaches the band
        ([], "missing"),
    ],
)
def test_verdict_rule_for_a_max_claim(values, expected):
    assert verdict(make_claim(), values) == expected


def test_a_mean_on_the_band_edge_is_not_reproduced_but_a_point_on_it_is():
    # 94 ± 1 → band [92, 96]: runs spread around the edge are half outside it
    assert verdict(make_claim(value=94.0, std=1.0), [95.9, 96.1]) == "inconclusive"
    # float rounding at the edge (96.00000000000001) still counts as inside
    assert verdict(make_claim(value=94.0, std=1.0), [95.99999999999999, 96.00000000000001]) == "reproduced"


def test_verdict_min_goal_flips_better_and_worse():
    claim = make_claim(value=0.2, std=None, goal="min", tolerance={"kind": "abs", "value": 0.05}, unit="")
    assert verdict(claim, [0.1, 0.1, 0.1]) == "not reproduced (better)"
    assert verdict(claim, [0.3, 0.31, 0.29]) == "not reproduced (worse)"
    assert verdict(claim, [0.22, 0.23, 0.21]) == "reproduced"
    assert verdict(claim, [0.22, 0.24, 0.2]) == "inconclusive"  # mean inside, 90% interval reaches 0.254


def test_verdict_with_relative_tolerance():
    claim = make_claim(value=50.0, std=None, tolerance={"kind": "rel", "value": 0.1})  # band [45, 55]
    assert verdict(claim, [54.0, 54.2, 53.8]) == "reproduced"
    assert verdict(claim, [54.0, 54.5, 55.5]) == "inconclusive"  # mean 54.7 inside, interval reaches 55.9
    assert verdict(claim, [56.0, 56.0, 56.0]) == "not reproduced (better)"
    assert verdict(claim, [40.0, 40.1, 39.9]) == "not reproduced (worse)"


def test_verdict_with_absolute_tolerance_and_wide_seeds():
    claim = make_claim(std=None, tolerance={"kind": "abs", "value": 1.0})  # band [93, 95]
    assert verdict(claim, [96.0, 96.2, 95.8]) == "not reproduced (better)"
    assert verdict(claim, [90.0, 96.0, 102.0]) == "inconclusive"


def test_a_loss_is_judged_on_the_log_scale():
    claim = make_claim(value=0.2, std=None, goal="min", tolerance={"kind": "rel", "value": 0.5}, metric="test/loss",
                       unit="")
    j = judge_claim(claim, [0.18, 0.2, 0.22])
    assert j.scale == "log" and j.verdict == "reproduced" and j.interval95[0] > 0


def test_verdict_is_independent_of_seed_order():
    claim = make_claim()
    values = [97.3, 99.1, 101.2, 98.8]
    assert verdict(claim, values) == verdict(claim, list(reversed(values)))


def test_a_deviation_that_makes_a_claim_not_comparable_wins_over_the_numbers():
    assert judge_claim(make_claim(), [94.0, 94.0, 94.0], unfit="metric definition").verdict == "not comparable"
