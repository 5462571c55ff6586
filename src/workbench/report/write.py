"""Paper vs ours: read finished runs, compare them with confirmed claims, write the report.

Outputs, all in reproductions/<name>/ and all written atomically (temp file, then os.replace):
comparison.json (versioned, machine-readable), REPORT.md (for people), report.html (the same,
one self-contained file with the figures inlined), figures/*.png.
The same runs and claims give byte-identical REPORT.md and comparison.json apart from
comparison.json's generated_at: every list is sorted and no clock or host enters REPORT.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.claims.schema import Claim, load_claims, load_deviations
from workbench.errors import UserError
from workbench.files import atomic_write_bytes, shown_path
from workbench.project import read_paper_yaml
from workbench.report import analysis, figures
from workbench.report.compare import compare
from workbench.report.comparison import comparison_dict, dump_json
from workbench.report.context import Figures, ReportContext
from workbench.report.html import render_html
from workbench.report.markdown import render_markdown
from workbench.run.record import load_runs, skip_reason

PAPER_KEYS = ("name", "arxiv_id", "version", "title", "authors", "year", "abs_url", "pdf_url")


def write_report(paper_dir: Path, repro_dir: Path, stage: str = "reproduction") -> dict[str, Any]:
    """Write comparison.json, REPORT.md and figures/*.png into repro_dir; return the comparison.

    Everything is computed before the first file is written, so a UserError leaves no partial report.
    """
    paper_dir, repro_dir = Path(paper_dir), Path(repro_dir)
    paper = _read_paper(paper_dir / "paper.yaml")
    if not paper.get("name"):
        paper["name"] = paper_dir.name
    claims = load_claims(paper_dir / "claims.yaml")
    deviations = _read_deviations(paper_dir / "deviations.yaml", claims)
    runs, skipped = load_runs(repro_dir / "runs")
    results = compare(claims, runs, stage, claims_file=shown_path(paper_dir / "claims.yaml"))

    ctx = ReportContext(paper, paper_dir, repro_dir, stage, claims, deviations, results, runs, skipped)
    ctx.warnings += [r.note for r in results if r.note]
    ctx.warnings += [f"{shown_path(p)}: skipped: {skip_reason(p)}" for p in skipped]
    if not runs:
        ctx.warnings.insert(0, f"no finished runs in {shown_path(repro_dir / 'runs')} yet: every claim is missing. "
                               f"Run `workbench run {paper['name']} stage={stage} -m seed=0,1,2` first.")
    figs = _make_figures(ctx)
    comparison = comparison_dict(ctx)
    markdown = render_markdown(ctx, figs)
    html = render_html(markdown, figs.pngs, title=f"Reproduction report: {paper.get('title') or paper['name']}")

    figures_dir = repro_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for name, png in sorted(figs.pngs.items()):
        atomic_write_bytes(figures_dir / name, png)
    _remove_stale_figures(figures_dir, set(figs.pngs))
    atomic_write_bytes(repro_dir / "comparison.json", dump_json(comparison).encode())
    atomic_write_bytes(repro_dir / "REPORT.md", markdown.encode())
    atomic_write_bytes(repro_dir / "report.html", html.encode())
    return comparison


def _read_paper(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{shown_path(path)}: file not found. Run `workbench fetch <arxiv id>` to create it.")
    data = read_paper_yaml(path)
    return {key: data.get(key) for key in PAPER_KEYS}


def _read_deviations(path: Path, claims: list[Claim]) -> list[dict[str, Any]]:
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


def _make_figures(ctx: ReportContext) -> Figures:
    """Every section's figures, in this order: the warnings they add are listed in it."""
    figs = Figures()
    figs.curves = figures.learning_curves(ctx, figs.pngs)
    figs.analyses = analysis.confusion_matrices(ctx, figs.pngs)
    figs.paper_vs_ours = figures.paper_vs_ours(ctx, figs.pngs)
    figs.sweeps = figures.sweeps(ctx, figs.pngs)
    figs.worst = analysis.worst_examples(ctx, figs.pngs)
    figs.attention = analysis.attention_maps(ctx, figs.pngs)
    figs.paper = figures.paper_figures(ctx, figs.pngs)
    return figs


def _remove_stale_figures(figures_dir: Path, keep: set[str]) -> None:
    """figures/ is generated: a PNG from an earlier report with other claims would mislead."""
    for png in figures_dir.glob("*.png"):
        if png.name not in keep:
            png.unlink()
