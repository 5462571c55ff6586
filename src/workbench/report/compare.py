"""Each confirmed claim beside the finished runs its select matches: the numbers and the verdict."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.claims.schema import Claim, run_matches
from workbench.report.stats import SeedStats, summarize, verdict, welch_p
from workbench.run.record import RunRecord


@dataclass
class Excluded:
    """A run that matches a claim's select but is not averaged, and why."""

    run: RunRecord
    status: str  # diverged | failed | interrupted | superseded | no metric | non-finite metric


@dataclass
class ClaimResult:
    """One confirmed claim beside our runs."""

    claim: Claim
    runs: list[RunRecord]
    values: list[float]
    stats: SeedStats | None
    verdict: str
    excluded: list[Excluded] = field(default_factory=list)
    welch_p: float | None = None
    note: str | None = None  # why a claim is missing although runs match it


def compare(
    claims: Sequence[Claim],
    runs: Sequence[RunRecord],
    stage: str = "reproduction",
    claims_file: str = "claims.yaml",
) -> list[ClaimResult]:
    """Each confirmed claim against the completed runs its select matches, in claims order.

    Diverged, failed and interrupted runs are listed as excluded, never averaged. A claim whose
    metric none of its completed runs logs is "missing", with a note naming what they do log.
    Runs marked `data.beyond_paper` answer no claim: they are not the paper's recipe.
    """
    ordered = sorted((r for r in runs if not is_beyond_paper(r)), key=lambda r: str(r.path))
    return [
        _compare_one(claim, [r for r in ordered if run_matches(claim, r.config, stage)], claims_file)
        for claim in claims
        if claim.status == "confirmed"
    ]


def _compare_one(claim: Claim, matching: list[RunRecord], claims_file: str) -> ClaimResult:
    completed = [r for r in matching if r.status == "completed"]
    note = unlogged_metric_note(claim, completed, claims_file)
    excluded = [Excluded(r, r.status) for r in matching if r.status != "completed"]
    used, values = [], []
    for run in latest_per_seed(completed, excluded):
        value = run.metric(claim.metric)
        if value is None:
            excluded.append(Excluded(run, "no metric"))
        elif not math.isfinite(value):
            excluded.append(Excluded(run, "non-finite metric"))
        else:
            used.append(run)
            values.append(value)
    excluded.sort(key=lambda e: str(e.run.path))
    stats = summarize(values) if values else None
    p = welch_p(stats.mean, stats.std, stats.n, claim.value, claim.std, claim.n_seeds) if stats else None
    return ClaimResult(claim, used, values, stats, verdict(claim, values), excluded, p, note)


def is_beyond_paper(run: RunRecord) -> bool:
    """A run the paper never made (config `data.beyond_paper: "<what it adds>"`): shown, never judged."""
    data = run.config.get("data")
    return isinstance(data, dict) and isinstance(data.get("beyond_paper"), str)


def latest_per_seed(completed: list[RunRecord], excluded: list[Excluded]) -> list[RunRecord]:
    """One run per seed, the newest folder (names start with a timestamp), so n counts seeds.

    The older runs of a seed are appended to `excluded` as "superseded".
    """
    by_seed: dict[Any, RunRecord] = {}
    for run in completed:  # sorted by path, so later wins
        key = run.seed if run.seed is not None else str(run.path)
        if key in by_seed:
            excluded.append(Excluded(by_seed[key], "superseded"))
        by_seed[key] = run
    # by seed, not by folder: parallel launchers finish seeds in any order
    return sorted(by_seed.values(), key=lambda r: (r.seed is None, r.seed if r.seed is not None else 0, str(r.path)))


def unlogged_metric_note(claim: Claim, completed: list[RunRecord], claims_file: str) -> str | None:
    """Why a claim is missing although completed runs match it: none logs its metric (a typo?)."""
    if not completed or any(claim.metric in (r.summary.get("metrics") or {}) for r in completed):
        return None
    logged = sorted(set(itertools.chain.from_iterable(r.logged_metrics() for r in completed)))
    example = "/".join(completed[0].path.parts[-2:])
    return (
        f"{claims_file}: claim {claim.id!r}: metric {claim.metric!r} is not in summary.json of any of "
        f"the {len(completed)} matching completed run(s) (e.g. {example}); they log: "
        f"{', '.join(logged) or 'nothing'}. Set the claim's 'metric' to one of these."
    )


def runs_of(results: Iterable[ClaimResult]) -> list[RunRecord]:
    """The distinct runs averaged for these results, sorted by path."""
    unique = {str(r.path): r for result in results for r in result.runs}
    return [unique[k] for k in sorted(unique)]
