"""Each confirmed claim beside the on-recipe runs of one commit: the numbers and the verdict.

For each side of a claim (its `select`, and a relative claim's `versus`), in order:

1. the runs of the claim's stage that the select matches (runs marked `data.beyond_paper` and
   runs made with a debug preset answer no claim);
2. runs off the recipe (report/recipe.py) are listed with the keys that put them there, never averaged;
3. runs of another commit than the report's are excluded as "other commit", and runs from a tree
   with uncommitted changes as "dirty tree" unless dirty trees are allowed;
4. diverged, failed and interrupted runs are excluded with their status;
5. the newest run per seed counts, older ones are "superseded"; a run without a finite value
   of the metric is "no metric" or "non-finite metric".

The report's commit is the one (git sha and dirty flag) whose on-recipe completed runs answer
the most claims; ties go to the commit of the newest run. Runs without provenance are one group.
The verdict is report/verdict.py's, or *not comparable* when a deviation says so.
"""

from __future__ import annotations

import functools
import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.claims.schema import Claim, run_matches, tolerance_width
from workbench.report.recipe import Difference, Recipes, allow_list
from workbench.report.stats import SeedStats, summarize, welch_p
from workbench.report.verdict import Judgement, inferred_scale, judge_bound, judge_value
from workbench.run.record import RunRecord, run_name


@dataclass(frozen=True)
class Commit:
    """Where a run's code came from: the git sha (None without provenance) and whether the tree was dirty."""

    sha: str | None
    dirty: bool

    @property
    def short(self) -> str:
        return self.sha[:7] if self.sha else "unknown"


@dataclass
class Excluded:
    """An on-recipe run that matches a claim but is not averaged, and why."""

    run: RunRecord
    status: str  # other commit | dirty tree | diverged | failed | interrupted | superseded | no metric | non-finite metric


@dataclass
class OffRecipe:
    """A run that matches a claim's select but not its recipe: never averaged."""

    run: RunRecord
    differences: list[Difference]


@dataclass
class Side:
    """The runs one selection of a claim contributes: select (side a) or versus (side b)."""

    select: dict[str, Any]
    metric: str
    runs: list[RunRecord] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    off_recipe: list[OffRecipe] = field(default_factory=list)
    note: str | None = None  # why it has no value although runs match it

    @functools.cached_property
    def stats(self) -> SeedStats | None:  # read once the side is complete
        return summarize(self.values) if self.values else None


@dataclass
class ClaimResult:
    """One confirmed claim beside our runs."""

    claim: Claim
    side: Side
    versus: Side | None
    judgement: Judgement
    allow: tuple[str, ...]
    welch_p: float | None = None

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def values(self) -> list[float]:
        return self.side.values

    @property
    def stats(self) -> SeedStats | None:
        return self.side.stats

    @property
    def sides(self) -> list[Side]:
        return [self.side] if self.versus is None else [self.side, self.versus]

    @property
    def runs(self) -> list[RunRecord]:
        return [run for side in self.sides for run in side.runs]

    @property
    def excluded(self) -> list[Excluded]:
        return sorted((e for side in self.sides for e in side.excluded), key=lambda e: run_name(e.run.path))

    @property
    def off_recipe(self) -> list[OffRecipe]:
        return sorted((o for side in self.sides for o in side.off_recipe), key=lambda o: run_name(o.run.path))

    @property
    def note(self) -> str | None:
        return next((side.note for side in self.sides if side.note), None)

    @property
    def statistic(self) -> float | None:
        """What a relative claim judges: the ratio of geometric means (the centre on its log scale), or
        the difference of means (an order claims it is below 0). None for a value claim or a missing side."""
        a, b = self.side.values, self.versus.values if self.versus else []
        if not a or not b:
            return None
        if self.claim.kind == "ratio":
            if min(*a, *b) <= 0:
                return None
            return math.exp(statistics.fmean(map(math.log, a)) - statistics.fmean(map(math.log, b)))
        return statistics.fmean(a) - statistics.fmean(b)

    @property
    def answered(self) -> bool:
        """Our runs give a value for every side, whatever the verdict."""
        return all(side.values for side in self.sides)


@dataclass
class Comparison:
    """Every confirmed claim's result, and the commit whose runs they rest on (None: no eligible run)."""

    results: list[ClaimResult]
    commit: Commit | None
    allow_dirty: bool


@dataclass
class Candidates:
    """A side's matching runs before the commit is chosen: on the recipe, and off it."""

    select: dict[str, Any]
    metric: str
    on: list[RunRecord]
    off: list[OffRecipe]


def compare(
    claims: Sequence[Claim],
    runs: Sequence[RunRecord],
    stage: str = "reproduction",
    claims_file: str = "claims.yaml",
    *,
    recipes: Recipes | None = None,
    paper_allow: Iterable[str] = (),
    deviations: Sequence[Mapping[str, Any]] = (),
    allow_dirty: bool = False,
) -> Comparison:
    """Each confirmed claim (in claims order) against the runs that answer it, by the rules above.

    Without `recipes` (a paper without conf/) every run the select matches is on the recipe.
    """
    ordered = sorted((r for r in runs if not is_beyond_paper(r)), key=run_order)
    commits = {str(r.path): commit_of(r) for r in ordered}
    confirmed = [c for c in claims if c.status == "confirmed"]
    allows = {c.id: allow_list(c.allow, paper_allow) for c in confirmed}
    candidates = {c.id: [candidates_of(c, select, metric, ordered, stage, recipes, allows[c.id])
                         for select, metric in side_specs(c)] for c in confirmed}
    commit = choose_commit(list(candidates.values()), commits, allow_dirty)
    unfit = not_comparable(deviations)
    results = []
    for claim in confirmed:
        sides = [finish_side(claim.id, cand, commit, commits, allow_dirty, claims_file) for cand in candidates[claim.id]]
        results.append(result_of(claim, sides, unfit.get(claim.id), allows[claim.id]))
    return Comparison(results, commit, allow_dirty)


def side_specs(claim: Claim) -> list[tuple[dict[str, Any], str]]:
    sides = [(dict(claim.select), claim.metric)]
    if claim.versus is not None:
        sides.append((dict(claim.versus), claim.versus_metric or claim.metric))
    return sides


def candidates_of(claim: Claim, select: dict[str, Any], metric: str, runs: list[RunRecord], stage: str,
                  recipes: Recipes | None, allow: tuple[str, ...]) -> Candidates:
    selecting = claim if select == claim.select else claim.model_copy(update={"select": select})
    on, off = [], []
    for run in (r for r in runs if run_matches(selecting, r.config, stage)):
        differences = recipes.differences(run, stage, select, allow) if recipes is not None else []
        if differences:
            off.append(OffRecipe(run, differences))
        else:
            on.append(run)
    return Candidates(select, metric, on, off)


def choose_commit(claims: list[list[Candidates]], commits: dict[str, Commit], allow_dirty: bool) -> Commit | None:
    """The commit whose runs answer the most claims; ties: the one with the newest run."""
    def answers(side: Candidates, commit: Commit) -> bool:
        return any(commits[str(r.path)] == commit and has_value(r, side.metric) for r in side.on)

    newest: dict[Commit, str] = {}
    for side in itertools.chain.from_iterable(claims):
        for run in side.on:
            if run.status == "completed":
                commit = commits[str(run.path)]
                newest[commit] = max(newest.get(commit, ""), run.path.name)
    eligible = [c for c in newest if allow_dirty or not c.dirty]
    score = {c: (sum(all(answers(side, c) for side in sides) for sides in claims), newest[c]) for c in eligible}
    return max(eligible, key=lambda c: (score[c], c.sha or ""), default=None)


def finish_side(claim_id: str, cand: Candidates, commit: Commit | None, commits: dict[str, Commit],
                allow_dirty: bool, claims_file: str) -> Side:
    side = Side(cand.select, cand.metric, off_recipe=list(cand.off))
    mine = []
    for run in cand.on:
        of = commits[str(run.path)]
        if of == commit:
            mine.append(run)
        else:
            side.excluded.append(Excluded(run, "dirty tree" if of.dirty and not allow_dirty else "other commit"))
    completed = [r for r in mine if r.status == "completed"]
    # a metric name no matching run logs is a typo whatever the runs' recipe or commit
    side.note = unlogged_metric_note(claim_id, cand.metric, [r for r in matched(cand) if r.status == "completed"],
                                     claims_file)
    side.excluded += [Excluded(r, r.status) for r in mine if r.status != "completed"]
    for run in latest_per_seed(completed, side.excluded):
        value = run.metric(cand.metric)
        if value is None:
            side.excluded.append(Excluded(run, "no metric"))
        elif not math.isfinite(value):
            side.excluded.append(Excluded(run, "non-finite metric"))
        else:
            side.runs.append(run)
            side.values.append(value)
    side.excluded.sort(key=lambda e: run_name(e.run.path))
    return side


def matched(cand: Candidates) -> list[RunRecord]:
    """Every run the side's select matches, on the recipe or off it, oldest first."""
    return sorted([*cand.on, *(o.run for o in cand.off)], key=run_order)


def result_of(claim: Claim, sides: list[Side], unfit: str | None, allow: tuple[str, ...]) -> ClaimResult:
    side, versus = sides[0], (sides[1] if len(sides) > 1 else None)
    judgement = judge_claim(claim, side.values, versus.values if versus else [], unfit)
    s = side.stats
    p = (welch_p(s.mean, s.std, s.n, claim.value, claim.std, claim.n_seeds)
         if s is not None and claim.kind == "value" else None)
    return ClaimResult(claim, side, versus, judgement, allow, p)


def judge_claim(claim: Claim, values: Sequence[float], versus: Sequence[float] = (), unfit: str | None = None) -> Judgement:
    """The verdict of our per-run values (and side b's, for a relative claim) against the claim;
    `unfit` names a deviation that makes it not comparable."""
    if unfit is not None:
        return Judgement("not comparable", note=f"deviation {unfit!r} (comparable: false): our runs measure "
                                                f"something else than the paper's number, so it is not scored")
    if claim.kind == "value":
        return judge_value(claim.value, tolerance_width(claim), claim.goal, values, paper_std=claim.std,
                           scale=inferred_scale(claim.metric, claim.scale))
    low, high = (claim.bound.min, claim.bound.max) if claim.bound is not None else (None, None)
    return judge_bound(claim.kind, low, high, values, versus)


def not_comparable(deviations: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """claim id -> the first deviation (its `what`) that says the claim measures something else."""
    out: dict[str, str] = {}
    for dev in deviations:
        if dev.get("comparable", True) is False:
            for claim_id in dev.get("affects") or []:
                out.setdefault(claim_id, str(dev.get("what")))
    return out


def commit_of(run: RunRecord) -> Commit:
    git = run.provenance().get("git")
    git = git if isinstance(git, dict) else {}
    sha = git.get("sha")
    return Commit(sha if isinstance(sha, str) and sha else None, git.get("dirty") is True)


def run_order(run: RunRecord) -> tuple[str, str]:
    """Oldest first: run folder names start with their start time."""
    return run.path.name, run.path.parent.name


def has_value(run: RunRecord, metric: str) -> bool:
    value = run.metric(metric)
    return run.status == "completed" and value is not None and math.isfinite(value)


def is_beyond_paper(run: RunRecord) -> bool:
    """A run the paper never made (config `data.beyond_paper: "<what it adds>"`): shown, never judged."""
    data = run.config.get("data")
    return isinstance(data, dict) and isinstance(data.get("beyond_paper"), str)


def latest_per_seed(completed: list[RunRecord], excluded: list[Excluded]) -> list[RunRecord]:
    """One run per seed, the newest (names start with a timestamp), so n counts seeds.

    The older runs of a seed are appended to `excluded` as "superseded".
    """
    by_seed: dict[Any, RunRecord] = {}
    for run in completed:  # oldest first, so later wins
        key = run.seed if run.seed is not None else run_name(run.path)
        if key in by_seed:
            excluded.append(Excluded(by_seed[key], "superseded"))
        by_seed[key] = run
    # by seed, not by folder: parallel launchers finish seeds in any order
    return sorted(by_seed.values(), key=lambda r: (r.seed is None, r.seed if r.seed is not None else 0, run_name(r.path)))


def unlogged_metric_note(claim_id: str, metric: str, completed: list[RunRecord], claims_file: str) -> str | None:
    """Why a claim is missing although completed runs match it: none logs its metric (a typo?)."""
    if not completed or any(metric in (r.summary.get("metrics") or {}) for r in completed):
        return None
    logged = sorted(set(itertools.chain.from_iterable(r.logged_metrics() for r in completed)))
    example = "/".join(completed[0].path.parts[-2:])
    return (
        f"{claims_file}: claim {claim_id!r}: metric {metric!r} is not in summary.json of any of "
        f"the {len(completed)} matching completed run(s) (e.g. {example}); they log: "
        f"{', '.join(logged) or 'nothing'}. Set the claim's 'metric' to one of these."
    )


def runs_of(results: Iterable[ClaimResult]) -> list[RunRecord]:
    """The distinct runs averaged for these results, by name."""
    unique = {run_name(r.path): r for result in results for r in result.runs}
    return [unique[k] for k in sorted(unique)]


def dirty_runs_warning(comparison: Comparison) -> str | None:
    """One line when on-recipe runs were left out for uncommitted changes: the report silently
    resting on older runs (a paper's committed evidence, say) would look like the new runs' result."""
    dirty = {run_name(e.run.path) for result in comparison.results for e in result.excluded if e.status == "dirty tree"}
    if not dirty:
        return None
    newest = max(dirty)
    return (f"{len(dirty)} run(s) on the recipe were not counted because they ran with uncommitted changes "
            f"(newest: {newest}): commit the changes and run them again, or pass --allow-dirty to count them")


def listed_runs(comparison: Comparison) -> list[RunRecord]:
    """Every run the report names: averaged, excluded or off the recipe, by name."""
    unique = {}
    for result in comparison.results:
        for run in itertools.chain(result.runs, (e.run for e in result.excluded), (o.run for o in result.off_recipe)):
            unique[run_name(run.path)] = run
    return [unique[k] for k in sorted(unique)]
