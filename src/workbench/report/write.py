"""Paper vs ours: read finished runs, compare them with confirmed claims, write the report.

Outputs, all in reproductions/<name>/ and all written atomically (temp file, then os.replace):
comparison.json (versioned, machine-readable), REPORT.md (for people), report.html (the same,
one self-contained styled page with the SVG figures inlined and the details folded), figures/
(each figure as a 200 dpi PNG and an SVG), and evidence/<stage>/<run>/:
the files of every run the report names (run/record.py, evidence_changes), so that a fresh clone,
which has no runs/, regenerates the same report from them.
The same runs and claims give byte-identical REPORT.md and comparison.json apart from
comparison.json's generated_at: every list is sorted and no clock or host enters REPORT.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import UserError
from workbench.files import atomic_write_many, shown_path
from workbench.project import read_paper_yaml
from workbench.report import analysis, figures
from workbench.report.compare import Comparison, dirty_runs_warning, is_beyond_paper, listed_runs
from workbench.report.comparison import answered_on_disk, comparison_dict, dump_json
from workbench.report.context import Figures, ReportContext
from workbench.report.drawing import Drawings
from workbench.report.headline import claim_tables
from workbench.report.html import render_report_html
from workbench.report.inputs import judge_paper, runs_found
from workbench.report.markdown import report_sections, sections_markdown
from workbench.run.record import EVIDENCE, RunRecord, evidence_changes, evidence_folder, remove_evidence_except, run_name, skip_reason

PAPER_KEYS = ("name", "arxiv_id", "version", "title", "authors", "year", "abs_url", "pdf_url")


def write_report(paper_dir: Path, repro_dir: Path, stage: str = "reproduction", *, allow_dirty: bool = False,
                 force: bool = False) -> dict[str, Any]:
    """Write comparison.json, REPORT.md, report.html, figures/ and evidence/ into repro_dir; return the comparison.

    Everything is computed before the first file is written, so a UserError leaves no partial
    report. When the runs found answer fewer claims than the comparison.json already there, it
    writes nothing and raises (a report never silently shrinks), unless `force`.
    """
    paper_dir, repro_dir = Path(paper_dir), Path(repro_dir)
    paper = _read_paper(paper_dir / "paper.yaml")
    if not paper.get("name"):
        paper["name"] = paper_dir.name
    judged = judge_paper(paper_dir, repro_dir, stage, allow_dirty)
    results = judged.comparison.results
    _refuse_to_shrink(repro_dir, sum(r.answered for r in results), judged.runs, stage, force)

    listed = _listed(judged.comparison, judged.runs, stage)
    ctx = ReportContext(paper, paper_dir, repro_dir, stage, judged.claims, judged.deviations, results, judged.runs,
                        judged.skipped, judged.comparison.commit, allow_dirty, listed)
    ctx.warnings += judged.warnings
    ctx.warnings += [r.note for r in results if r.note]
    if (dirty := dirty_runs_warning(judged.comparison)) is not None:
        ctx.warnings.append(dirty)
    ctx.warnings += [f"{shown_path(p)}: skipped: {skip_reason(p)}" for p in judged.skipped]
    if not judged.runs:
        ctx.warnings.insert(0, f"no finished runs in {shown_path(repro_dir / 'runs')} or {shown_path(repro_dir / EVIDENCE)} "
                               f"yet: every claim is missing. Run `workbench run {paper['name']} stage={stage} -m seed=0,1,2` first.")
    figs = _make_figures(ctx)
    comparison = comparison_dict(ctx)
    sections = report_sections(ctx, figs)
    markdown = sections_markdown(sections)
    html = render_report_html(sections, claim_tables(ctx), figs.files,
                              title=f"Reproduction report: {paper.get('title') or paper['name']}")

    _write_evidence(repro_dir, listed)
    figures_dir = repro_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_many({figures_dir / name: data for name, data in sorted(figs.files.items())})
    _remove_stale_figures(figures_dir, set(figs.files))
    atomic_write_many({repro_dir / "comparison.json": dump_json(comparison).encode(),
                       repro_dir / "REPORT.md": markdown.encode(), repro_dir / "report.html": html.encode()})
    return comparison


def _read_paper(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{shown_path(path)}: file not found. Run `workbench fetch <arxiv id>` to create it.")
    data = read_paper_yaml(path)
    return {key: data.get(key) for key in PAPER_KEYS}


def _refuse_to_shrink(repro_dir: Path, answered: int, runs: list[RunRecord], stage: str, force: bool) -> None:
    before = answered_on_disk(repro_dir)
    if answered < before and not force:
        raise UserError(
            f"{shown_path(repro_dir / 'comparison.json')} answers {before} claim(s), but the runs found answer only "
            f"{answered} ({runs_found(runs, stage)} in runs/ and evidence/); nothing was written. Bring the runs "
            f"back, or pass --force to write the smaller report."
        )


def _listed(comparison: Comparison, runs: list[RunRecord], stage: str) -> list[RunRecord]:
    """The runs the report names: those of the claims, and the stage's runs beyond the paper."""
    named = {run_name(r.path): r for r in listed_runs(comparison)}
    named.update({run_name(r.path): r for r in runs if is_beyond_paper(r) and r.stage == stage})
    return [named[k] for k in sorted(named)]


def _write_evidence(repro_dir: Path, listed: list[RunRecord]) -> None:
    """evidence/<stage>/<run>/ for every run the report names, and none for the runs it no longer names."""
    keep, writes, stale = set(), {}, []
    for run in listed:
        folder = evidence_folder(repro_dir, run.path)
        run_writes, run_stale = evidence_changes(run.path, folder)
        writes.update(run_writes)
        stale += run_stale
        keep.add(folder)
    atomic_write_many(writes)
    for path in stale:
        path.unlink(missing_ok=True)
    remove_evidence_except(repro_dir / EVIDENCE, keep)


def _make_figures(ctx: ReportContext) -> Figures:
    """Every section's figures, in this order: the warnings they add are listed in it."""
    figs, drawings = Figures(), Drawings()
    figs.curves = figures.learning_curves(ctx, drawings)
    figs.analyses = analysis.confusion_matrices(ctx, drawings)
    figs.paper_vs_ours = figures.paper_vs_ours(ctx, drawings)
    figs.sweeps = figures.sweeps(ctx, drawings)
    figs.worst = analysis.worst_examples(ctx, drawings)
    figs.attention = analysis.attention_maps(ctx, drawings)
    figs.files = drawings.draw_all()
    figs.paper = figures.paper_figures(ctx, figs.files)  # the paper's code, in this process
    return figs


def _remove_stale_figures(figures_dir: Path, keep: set[str]) -> None:
    """figures/ is generated: a figure from an earlier report with other claims would mislead."""
    for figure in sorted([*figures_dir.glob("*.png"), *figures_dir.glob("*.svg")]):
        if figure.name not in keep:
            figure.unlink()
