"""What a report (and `workbench status`) is computed from: claims, deviations, runs and evidence,
each claim judged against the on-recipe runs of one commit (report/compare.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.claims.schema import Claim, load_claims_file, load_deviations
from workbench.errors import UserError
from workbench.files import shown_path
from workbench.report.compare import Comparison, compare
from workbench.report.recipe import Recipes
from workbench.run.record import EVIDENCE, RunRecord, load_runs


@dataclass
class Judged:
    """A paper's claims and deviations, the runs found, and the comparison made of them."""

    claims: list[Claim]
    deviations: list[dict[str, Any]]
    runs: list[RunRecord]
    skipped: list[Path]
    comparison: Comparison
    warnings: list[str] = field(default_factory=list)


def judge_paper(paper_dir: Path, repro_dir: Path, stage: str = "reproduction", allow_dirty: bool = False) -> Judged:
    """Read claims.yaml, deviations.yaml, runs/ and evidence/, and judge every confirmed claim."""
    claims_path = paper_dir / "claims.yaml"
    claims_file = load_claims_file(claims_path)
    deviations = read_deviations(paper_dir / "deviations.yaml", claims_file.claims)
    runs, skipped = load_runs(repro_dir / "runs", repro_dir / EVIDENCE)
    warnings: list[str] = []
    with Recipes(paper_dir, warnings) as recipes:
        comparison = compare(claims_file.claims, runs, stage, claims_file=shown_path(claims_path), recipes=recipes,
                             paper_allow=claims_file.allow, deviations=deviations, allow_dirty=allow_dirty)
    return Judged(claims_file.claims, deviations, runs, skipped, comparison, warnings)


def read_deviations(path: Path, claims: list[Claim]) -> list[dict[str, Any]]:
    """deviations.yaml, whose `affects` must name claims that exist (a typo would hide it)."""
    if not path.exists():
        return []
    deviations = load_deviations(path)
    known = {c.id for c in claims}
    for number, dev in enumerate(deviations, start=1):
        for claim_id in dev["affects"]:
            if claim_id not in known:
                raise UserError(
                    f"{shown_path(path)}: deviation {number} {dev['what']!r}: field 'affects': no claim "
                    f"{claim_id!r} in claims.yaml. Use a claim id from claims.yaml."
                )
    return deviations


def runs_found(runs: list[RunRecord], stage: str) -> str:
    """"0 reproduction runs, 4 prototype runs": the finished runs by stage, the reported one first."""
    counts = Counter(run.stage for run in runs)
    stages = [stage, *sorted(s for s in counts if s != stage)]
    return ", ".join(f"{counts[s]} {s} run{'s' if counts[s] != 1 else ''}" for s in stages)
