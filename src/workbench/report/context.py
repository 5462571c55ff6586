"""What one report is made from (ReportContext) and the figures made for it (Figures, by section)."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.claims.schema import Claim
from workbench.report.compare import ClaimResult, Commit
from workbench.report.format import config_label
from workbench.run.record import EVIDENCE, RunRecord, run_name


@dataclass
class ReportContext:
    """The paper, its claims and deviations, the runs and their comparison; warnings collect here.

    `listed` are the runs the report names (averaged, excluded, off the recipe, beyond the paper):
    their evidence is committed, and the report calls each by its evidence folder, so that the
    same report comes out of runs/ and of a fresh clone's evidence/.
    """

    paper: dict[str, Any]
    paper_dir: Path
    repro_dir: Path
    stage: str
    claims: list[Claim]
    deviations: list[dict[str, Any]]
    results: list[ClaimResult]
    runs: list[RunRecord]
    skipped: list[Path]
    commit: Commit | None = None
    allow_dirty: bool = False
    listed: list[RunRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line each; printed and listed in REPORT.md
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _overrides: dict[str, list[str]] = field(default_factory=dict)
    _analyses: dict[str, Any] = field(default_factory=dict)

    def metric_rows(self, run: RunRecord) -> list[dict[str, Any]]:
        """metrics.jsonl rows of a run, read once; a corrupt line is skipped with a warning."""
        key = str(run.path)
        if key not in self._rows:
            self._rows[key] = run.metric_rows(self.warnings)
        return self._rows[key]

    def overrides(self, run: RunRecord) -> list[str]:
        """overrides.yaml of a run, parsed once: the sweeps and the re-run commands both read it."""
        key = str(run.path)
        if key not in self._overrides:
            self._overrides[key] = run.overrides()
        return self._overrides[key]

    def analysis(self, run: RunRecord) -> Any:
        """analysis.json of a run, parsed once: confusion matrices, worst examples and attention read it."""
        key = str(run.path)
        if key not in self._analyses:
            self._analyses[key] = run.analysis()
        return self._analyses[key]

    def rel(self, path: Path) -> str:
        """A run's path relative to the reproduction folder, with forward slashes."""
        try:
            return path.relative_to(self.repro_dir).as_posix()
        except ValueError:
            return Path(os.path.relpath(path, self.repro_dir)).as_posix()

    def shown(self, run: RunRecord) -> str:
        """A run as the report names it: its evidence folder, relative to the reproduction folder."""
        return f"{EVIDENCE}/{run_name(run.path)}"

    def configurations(self, metric: str | None = None) -> dict[str, list[RunRecord]]:
        """The averaged runs of each configuration (a claim side's select), sorted by its label; with
        `metric`, of the sides that read it. A relative claim's versus runs count under their own select."""
        groups: dict[str, dict[str, RunRecord]] = defaultdict(dict)
        for side in (side for result in self.results for side in result.sides):
            if metric is None or side.metric == metric:
                groups[config_label(side.select)].update({run_name(r.path): r for r in side.runs})
        return {label: [runs[k] for k in sorted(runs)] for label, runs in sorted(groups.items())}


@dataclass
class Image:
    """A figure as REPORT.md shows it: its caption and its PNG's name in figures/ (its SVG beside it)."""

    caption: str
    png: str


@dataclass
class Confusion:
    """A configuration's confusion matrices from analysis.json, summed over its runs."""

    class_names: list[str]
    matrix: list[list[int]]
    runs: int
    png: str
    notes: list[str]  # runs left out of the sum, and why


@dataclass
class WorstExamples:
    """The most confidently wrong examples of a configuration, from one run's analysis.json."""

    label: str
    where: str  # the analysis.json they come from, relative to the reproduction folder
    examples: list[dict[str, Any]]
    png: str | None  # drawn only when every example has a numeric "input"


@dataclass
class Figures:
    """Every figure of a report: the bytes of each file in figures/ (name.png and name.svg), and what each
    section shows (by PNG name)."""

    files: dict[str, bytes] = field(default_factory=dict)
    curves: dict[str, str] = field(default_factory=dict)  # metric -> png name
    analyses: dict[str, Confusion] = field(default_factory=dict)  # configuration label -> confusion
    paper_vs_ours: list[Image] = field(default_factory=list)  # captioned by metric
    sweeps: list[Image] = field(default_factory=list)
    worst: list[WorstExamples] = field(default_factory=list)
    attention: list[Image] = field(default_factory=list)
    paper: list[Image] = field(default_factory=list)  # the paper's own figures.py, captioned by title
