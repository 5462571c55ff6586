"""Paper vs ours: read finished runs, compare them with confirmed claims, write the report.

Outputs, all in reproductions/<name>/ and all written atomically (temp file, then os.replace):
comparison.json (versioned, machine-readable), REPORT.md (for people), report.html (the same,
one self-contained file with the figures inlined), figures/*.png.
The same runs and claims give byte-identical REPORT.md and comparison.json apart from
comparison.json's generated_at: every list is sorted and no clock or host enters REPORT.md.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from html import escape as escape_html
from typing import Any

import markdown as markdown_lib
import yaml

from workbench.claims.schema import Claim, load_claims, load_deviations, run_matches, tolerance_width
from workbench.errors import UserError
from workbench.files import atomic_write_bytes, json_safe, shown_path
from workbench.project import read_paper_yaml
from workbench.run.record import RunRecord, load_runs, read_json_quietly, read_yaml_quietly, skip_reason
from workbench.report.stats import VERDICTS, SeedStats, summarize, verdict, welch_p

SCHEMA_VERSION = 1
PAPER_KEYS = ("name", "arxiv_id", "version", "title", "authors", "year", "abs_url", "pdf_url")


# --- comparison --------------------------------------------------------------------------------


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
    note = _unlogged_metric_note(claim, completed, claims_file)
    excluded = [Excluded(r, r.status) for r in matching if r.status != "completed"]
    used, values = [], []
    for run in _latest_per_seed(completed, excluded):
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


def _latest_per_seed(completed: list[RunRecord], excluded: list[Excluded]) -> list[RunRecord]:
    """Keep one run per seed, the newest folder (names start with a timestamp), so n counts seeds."""
    by_seed: dict[Any, RunRecord] = {}
    for run in completed:  # sorted by path, so later wins
        key = run.seed if run.seed is not None else str(run.path)
        if key in by_seed:
            excluded.append(Excluded(by_seed[key], "superseded"))
        by_seed[key] = run
    # by seed, not by folder: parallel launchers finish seeds in any order
    return sorted(by_seed.values(), key=lambda r: (r.seed is None, r.seed if r.seed is not None else 0, str(r.path)))


def _unlogged_metric_note(claim: Claim, completed: list[RunRecord], claims_file: str) -> str | None:
    if not completed or any(claim.metric in (r.summary.get("metrics") or {}) for r in completed):
        return None
    logged = sorted(set(itertools.chain.from_iterable(r.logged_metrics() for r in completed)))
    example = "/".join(completed[0].path.parts[-2:])
    return (
        f"{claims_file}: claim {claim.id!r}: metric {claim.metric!r} is not in summary.json of any of "
        f"the {len(completed)} matching completed run(s) (e.g. {example}); they log: "
        f"{', '.join(logged) or 'nothing'}. Set the claim's 'metric' to one of these."
    )


# --- writing the report ------------------------------------------------------------------------


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

    ctx = _Context(paper, paper_dir, repro_dir, stage, claims, deviations, results, runs, skipped)
    ctx.warnings += [r.note for r in results if r.note]
    ctx.warnings += [f"{shown_path(p)}: skipped: {skip_reason(p)}" for p in skipped]
    if not runs:
        ctx.warnings.insert(0, f"no finished runs in {shown_path(repro_dir / 'runs')} yet: every claim is missing. "
                               f"Run `workbench run {paper['name']} stage={stage} -m seed=0,1,2` first.")
    figures = _make_figures(ctx)
    comparison = _comparison_dict(ctx)
    markdown = _render_markdown(ctx, figures)
    html = render_html(markdown, figures.pngs, title=f"Reproduction report: {paper.get('title') or paper['name']}")

    figures_dir = repro_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for name, png in sorted(figures.pngs.items()):
        atomic_write_bytes(figures_dir / name, png)
    _remove_stale_figures(figures_dir, set(figures.pngs))
    atomic_write_bytes(repro_dir / "comparison.json", _dump_json(comparison).encode())
    atomic_write_bytes(repro_dir / "REPORT.md", markdown.encode())
    atomic_write_bytes(repro_dir / "report.html", html.encode())
    return comparison


HTML_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 .2rem; }
pre { background: #f3f3f3; padding: .6rem; overflow-x: auto; }
"""


def render_html(markdown_text: str, pngs: dict[str, bytes], title: str) -> str:
    """REPORT.md as one self-contained page: figures inlined as data URIs, readable offline."""
    body = markdown_lib.markdown(markdown_text, extensions=["tables", "fenced_code"])
    for name, png in sorted(pngs.items()):
        data = base64.b64encode(png).decode("ascii")
        body = body.replace(f'src="figures/{name}"', f'src="data:image/png;base64,{data}"')
    return (f"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape_html(title)}</title>\n<style>{HTML_STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


@dataclass
class _Context:
    paper: dict[str, Any]
    paper_dir: Path
    repro_dir: Path
    stage: str
    claims: list[Claim]
    deviations: list[dict[str, Any]]
    results: list[ClaimResult]
    runs: list[RunRecord]
    skipped: list[Path]
    warnings: list[str] = field(default_factory=list)  # one line each; printed and listed in REPORT.md
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def metric_rows(self, run: RunRecord) -> list[dict[str, Any]]:
        """metrics.jsonl rows of a run, read once; a corrupt line is skipped with a warning."""
        key = str(run.path)
        if key not in self._rows:
            self._rows[key] = run.metric_rows(self.warnings)
        return self._rows[key]

    def rel(self, path: Path) -> str:
        """A run's path relative to the reproduction folder, with forward slashes."""
        try:
            return path.relative_to(self.repro_dir).as_posix()
        except ValueError:
            return Path(os.path.relpath(path, self.repro_dir)).as_posix()

    def configurations(self) -> dict[str, list[ClaimResult]]:
        """Results grouped by their select (the configuration they ran), sorted by its label."""
        groups: dict[str, list[ClaimResult]] = defaultdict(list)
        for result in self.results:
            groups[_config_label(result.claim.select)].append(result)
        return dict(sorted(groups.items()))


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






def _remove_stale_figures(figures_dir: Path, keep: set[str]) -> None:
    """figures/ is generated: a PNG from an earlier report with other claims would mislead."""
    for png in figures_dir.glob("*.png"):
        if png.name not in keep:
            png.unlink()


# --- comparison.json ---------------------------------------------------------------------------


def _comparison_dict(ctx: _Context) -> dict[str, Any]:
    counts = Counter(r.verdict for r in ctx.results)
    return json_safe(
        {
            "schema_version": SCHEMA_VERSION,
            "paper": ctx.paper,
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "stage": ctx.stage,
            "claims": [_claim_entry(ctx, r) for r in ctx.results],
            "not_confirmed": [c.id for c in ctx.claims if c.status == "candidate"],
            "warnings": list(ctx.warnings),
            "summary": {
                "reproduced": counts["reproduced"],
                "total": len(ctx.results),
                "by_verdict": {v: counts[v] for v in VERDICTS},
            },
        }
    )


def _claim_entry(ctx: _Context, result: ClaimResult) -> dict[str, Any]:
    claim, s = result.claim, result.stats
    return {
        "id": claim.id,
        "metric": claim.metric,
        "unit": claim.unit,
        "goal": claim.goal,
        "select": dict(sorted(claim.select.items())),
        "paper": {"value": claim.value, "std": claim.std, "n": claim.n_seeds},
        "ours": {
            "mean": s.mean if s else None,
            "std": s.std if s else None,
            "n": s.n if s else 0,
            "ci95": list(s.ci95) if s else None,
        },
        "verdict": result.verdict,
        "tolerance": {**claim.tolerance.model_dump(exclude_none=True), "width": tolerance_width(claim)},
        "runs": [ctx.rel(r.path) for r in result.runs],
        "excluded": [{"run": ctx.rel(e.run.path), "status": e.status} for e in result.excluded],
        "welch_p": result.welch_p,
        "note": result.note,
    }




def _dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- figures -----------------------------------------------------------------------------------


@dataclass
class _Figures:
    pngs: dict[str, bytes] = field(default_factory=dict)
    curves: dict[str, str] = field(default_factory=dict)  # metric -> png name
    analyses: dict[str, _Analysis] = field(default_factory=dict)  # config label -> analysis
    # report_extras: section -> [(caption, png name or markdown block)]
    extra: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _Analysis:
    class_names: list[str]
    matrix: list[list[int]]
    runs: int
    png: str
    notes: list[str]


def _make_figures(ctx: _Context) -> _Figures:
    figs = _Figures()
    for metric in sorted({r.claim.metric for r in ctx.results}):
        png = _learning_curve_png(ctx, metric)
        if png is not None:
            name = f"curve_{_slug(metric)}.png"
            figs.pngs[name], figs.curves[metric] = png, name
    for label, results in ctx.configurations().items():
        analysis = _sum_confusion(_runs_of(results), f"confusion_{_slug(label)}.png")
        if analysis is not None:
            figs.pngs[analysis.png] = _confusion_png(analysis, label)
            figs.analyses[label] = analysis
    from workbench.report import extras as report_extras  # it builds on this module

    report_extras.add_figures(ctx, figs)
    return figs


def _runs_of(results: Iterable[ClaimResult]) -> list[RunRecord]:
    """The distinct runs averaged for these results, sorted by path."""
    unique = {str(r.path): r for result in results for r in result.runs}
    return [unique[k] for k in sorted(unique)]


def _curve(ctx: _Context, run: RunRecord, metric: str) -> list[tuple[float, float]]:
    """(step, value) of a metric from the run's metrics.jsonl."""
    points = []
    for row in ctx.metric_rows(run):
        value = _row_metrics(row).get(metric)
        if value is not None and math.isfinite(value):
            points.append((float(row["step"]), value))
    return points


def _row_metrics(row: dict[str, Any]) -> dict[str, float]:
    """A metrics.jsonl row under the names a claim may use: "test/acc", "test_acc", "acc"."""
    split = row.get("split")
    out: dict[str, float] = {}
    for key, value in row.items():
        if key in ("step", "split") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out.setdefault(key, float(value))
        if isinstance(split, str):
            out[f"{split}/{key}"] = float(value)
            out[f"{split}_{key}"] = float(value)
    return out


def _mean_curve(ctx: _Context, runs: list[RunRecord], metric: str) -> tuple[list[float], list[float], list[float]]:
    """Mean and std (ddof=1; 0 for one seed) over seeds at each step that any seed logged."""
    by_step: dict[float, list[float]] = defaultdict(list)
    for run in runs:
        for step, value in _curve(ctx, run, metric):
            by_step[step].append(value)
    steps = sorted(by_step)
    spread = [_mean_std(by_step[s]) for s in steps]
    return steps, [m for m, _ in spread], [d for _, d in spread]


def _mean_std(xs: list[float]) -> tuple[float, float]:
    """For curves only: float arithmetic; summarize's exact rounding and t quantile cost 50x more."""
    mean = math.fsum(xs) / len(xs)
    if len(xs) < 2:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def _learning_curve_png(ctx: _Context, metric: str) -> bytes | None:
    fig, ax = _new_figure(9.5, 4.2)
    colors = iter(_palette())
    plotted = False
    for label, results in ctx.configurations().items():
        mine = [r for r in results if r.claim.metric == metric]
        if not mine:
            continue
        runs = _runs_of(mine)
        steps, means, stds = _mean_curve(ctx, runs, metric)
        color = next(colors)
        if steps:
            ax.plot(steps, means, color=color, label=f"{label or 'all runs'} (n={len(runs)})")
            ax.fill_between(steps, [m - d for m, d in zip(means, stds)], [m + d for m, d in zip(means, stds)],
                            color=color, alpha=0.2, linewidth=0)
            plotted = True
        for claim in sorted({r.claim.id: r.claim for r in mine}.values(), key=lambda c: c.id):
            ax.axhline(claim.value, color=color, linestyle="--", linewidth=1)
    if not plotted:
        return None
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: mean ± std over seeds (dashed: paper)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return _png(fig)


def _sum_confusion(runs: list[RunRecord], png: str) -> _Analysis | None:
    """Sum the confusion matrices of runs that wrote analysis.json; mismatched ones are noted."""
    total: _Analysis | None = None
    notes: list[str] = []
    for run in runs:
        data = run.analysis()
        if data is None:
            continue
        matrix, names = _valid_matrix(data)
        where = "/".join(run.path.parts[-2:])
        if matrix is None:
            notes.append(f"{where}/analysis.json has no valid square confusion_matrix; left out")
        elif total is None:
            total = _Analysis(names, matrix, 1, png, notes)
        elif names != total.class_names:
            notes.append(f"{where}/analysis.json has other classes than the first run; left out")
        else:
            total.matrix = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(total.matrix, matrix)]
            total.runs += 1
    return total


def _valid_matrix(data: Any) -> tuple[list[list[int]] | None, list[str]]:
    if not isinstance(data, dict):
        return None, []
    matrix = data.get("confusion_matrix")
    if not isinstance(matrix, list) or not matrix:
        return None, []
    k = len(matrix)
    if not all(isinstance(row, list) and len(row) == k for row in matrix):
        return None, []
    if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for row in matrix for x in row):
        return None, []
    names = data.get("class_names")
    names = [str(n) for n in names] if isinstance(names, list) and len(names) == k else [str(i) for i in range(k)]
    return matrix, names


def _confusion_png(analysis: _Analysis, label: str) -> bytes:
    k = len(analysis.class_names)
    fig, ax = _new_figure(max(4.0, 0.45 * k + 2), max(3.5, 0.45 * k + 1.5))
    image = ax.imshow(analysis.matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(k), analysis.class_names, fontsize=8)
    ax.set_yticks(range(k), analysis.class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{label or 'all runs'}: confusion, {analysis.runs} run(s) summed", fontsize=9)
    if k <= 20:  # numbers in the cells stay readable up to about 20 classes
        peak = max(max(row) for row in analysis.matrix) or 1
        for i, j in itertools.product(range(k), range(k)):
            value = analysis.matrix[i][j]
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                    color="white" if value > peak / 2 else "black")
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.1, top=0.93)  # fixed: tight_layout costs a third
    return _png(fig, tight=False)


def _new_figure(width: float, height: float):
    """An Agg figure without pyplot: no global backend switch, safe in a CLI and in threads."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig, tight: bool = True) -> bytes:
    buf = io.BytesIO()
    if tight:
        fig.tight_layout()
    # no version stamp: stable bytes; light compression: encoding is a tenth of the report's time
    fig.savefig(buf, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _palette() -> Iterable[str]:
    return itertools.cycle(["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
                            "#e377c2", "#7f7f7f", "#bcbd22"])  # matplotlib's tab10


# --- REPORT.md ---------------------------------------------------------------------------------


def _render_markdown(ctx: _Context, figs: _Figures) -> str:
    from workbench.report import extras  # it builds on this module

    sections = [
        _md_header(ctx),
        _md_claims(ctx),
        _md_not_confirmed(ctx),
        _md_excluded(ctx),
        _md_deviations(ctx),
        _md_cost(ctx),
        _md_figures(figs),
        extras.md_paper_vs_ours(figs),
        extras.md_sweeps(figs),
        _md_error_analysis(ctx, figs),
        extras.md_worst_examples(figs),
        extras.md_attention(figs),
        extras.md_paper_figures(figs),
        extras.md_beyond_paper(ctx),
        extras.md_warnings(ctx),
        _md_provenance(ctx),
        _md_rerun(ctx),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


def _md_header(ctx: _Context) -> str:
    p = ctx.paper
    version = str(p.get("version") or "").lstrip("v")  # paper.yaml holds the number (2), or "v2"
    arxiv = f"{p.get('arxiv_id') or '?'}" + (f"v{version}" if version else "")
    link = f"[arXiv:{arxiv}]({p['abs_url']})" if p.get("abs_url") else f"arXiv:{arxiv}"
    authors = p.get("authors")
    authors = ", ".join(map(str, authors)) if isinstance(authors, list) else (authors or "")
    byline = " — ".join(x for x in (link, f"{authors} ({p['year']})" if p.get("year") else authors) if x)
    counts = Counter(r.verdict for r in ctx.results)
    n_runs = len({str(r.path) for res in ctx.results for r in res.runs})
    breakdown = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    return "\n".join([
        f"# Reproduction report: {p.get('title') or p['name']}",
        "",
        byline,
        "",
        f"**{counts['reproduced']} of {len(ctx.results)} claims reproduced**"
        + (f" ({breakdown})" if breakdown else "")
        + f", from {n_runs} completed run(s) at stage `{ctx.stage}`." + _md_deviation_note(ctx),
    ])


def _md_deviation_note(ctx: _Context) -> str:
    """A verdict is only as good as the recipe behind it: say up front how many claims a deviation touches."""
    claim_ids = {r.claim.id for r in ctx.results}
    touched = {c for d in ctx.deviations for c in (d.get("affects") or []) if c in claim_ids}
    if not touched:
        return ""
    return (f" Deviations from the paper's recipe touch {len(touched)} of these {len(claim_ids)} claims: "
            f"read *Deviations from the paper* below before the verdicts.")


def _md_claims(ctx: _Context) -> str:
    if not ctx.results:
        return "## Claims\n\nNo confirmed claims yet: confirm them in claims.yaml (`workbench claims <name>`)."
    rows = [_row("claim", "paper", "ours (mean ± std, n)", "verdict"), _row("---", "---", "---", "---")]
    for r in ctx.results:
        c = r.claim
        ours = _pm(r.stats.mean, r.stats.std, r.stats.n, c.unit) if r.stats else "—"
        rows.append(_row(f"`{c.id}`", _pm(c.value, c.std, c.n_seeds, c.unit), ours, f"**{r.verdict}**"))
    rule = (
        "Verdicts: *reproduced* when |ours − paper| ≤ tolerance; otherwise *inconclusive* when our 95% "
        "t interval still reaches the tolerance band (too few seeds to tell), else *better* or *worse* "
        "by the claim's goal; *missing* when no completed run matches."
    )
    details = "\n".join(_claim_detail(ctx, r) for r in ctx.results)
    return "## Claims\n\n" + "\n".join(rows) + "\n\n" + rule + "\n\n" + details


def _claim_detail(ctx: _Context, r: ClaimResult) -> str:
    c = r.claim
    tol = tolerance_width(c)
    parts = [
        f"- `{c.id}`: {_quote(c.quote)} ({_source(c)}); metric `{c.metric}`, goal {c.goal}, "
        f"select `{_config_label(c.select) or 'all runs'}`; tolerance ±{format_number(tol)}{unit_suffix(c.unit)} "
        f"({_tolerance_kind(c)})"
    ]
    if r.stats and r.stats.n > 1:
        lo, hi = r.stats.ci95
        parts.append(f"95% CI [{format_number(lo)}, {format_number(hi)}]")
    if r.welch_p is not None:
        parts.append(f"Welch p = {r.welch_p:.3g}")
    seeds = ", ".join(str(run.seed) for run in r.runs if run.seed is not None)
    parts.append(f"seeds: {seeds}" if seeds else "no completed matching run")
    affected = [d["what"] for d in ctx.deviations if c.id in d["affects"]]
    if affected:
        parts.append("deviations: " + "; ".join(affected))
    return "; ".join(parts) + "."


def _tolerance_kind(c: Claim) -> str:
    if c.tolerance.kind == "paper_std":
        return f"{format_number(c.tolerance.k)} × paper std"
    if c.tolerance.kind == "rel":
        return f"{format_number(c.tolerance.value * 100)}% of the value"
    return "absolute"


def _md_not_confirmed(ctx: _Context) -> str:
    candidates = [c for c in ctx.claims if c.status == "candidate"]
    if not candidates:
        return ""
    rows = [_row("claim", "quote", "paper"), _row("---", "---", "---")]
    rows += [_row(f"`{c.id}`", _quote(c.quote), _pm(c.value, c.std, c.n_seeds, c.unit)) for c in candidates]
    return (
        f"## Not yet confirmed\n\n{len(candidates)} candidate claim(s), not compared; confirm or reject "
        f"them in claims.yaml (`workbench claims {ctx.paper['name']}`).\n\n" + "\n".join(rows)
    )


def _md_excluded(ctx: _Context) -> str:
    seen: dict[str, tuple[Excluded, str]] = {}
    for result in ctx.results:
        for e in result.excluded:
            seen.setdefault(ctx.rel(e.run.path), (e, _config_label(result.claim.select)))
    lines = ["## Runs excluded"]
    if seen:
        rows = [_row("run", "configuration", "seed", "status", "message"), _row("---", "---", "---", "---", "---")]
        for rel in sorted(seen):
            e, label = seen[rel]
            message = e.run.summary.get("message") or ""
            rows.append(_row(f"`{rel}`", label or "all runs", _text(e.run.seed), e.status, _cell(message)))
        lines += ["", "Matching runs that are listed but not averaged.", "", *rows]
    else:
        lines += ["", "None: every matching run completed and was averaged."]
    if ctx.skipped:
        lines += ["", "Skipped (not read at all):", ""]
        lines += [f"- `{ctx.rel(p)}`: {skip_reason(p)}" for p in ctx.skipped]
    return "\n".join(lines)


def _md_deviations(ctx: _Context) -> str:
    if not ctx.deviations:
        return "## Deviations from the paper\n\nNone recorded in deviations.yaml."
    rows = [_row("what", "paper", "we do", "why", "affects"), _row("---", "---", "---", "---", "---")]
    for d in ctx.deviations:
        affects = ", ".join(f"`{a}`" for a in d["affects"]) or "—"
        rows.append(_row(_cell(d["what"]), _cell(d["paper"]), _cell(d["we_do"]), _cell(d["why"]), affects))
    return "## Deviations from the paper\n\n" + "\n".join(rows)


def _md_cost(ctx: _Context) -> str:
    configs = ctx.configurations()
    if not configs:
        return ""
    rows = [
        _row("configuration", "runs", "wall time (s)", "steps/s", "parameters", "peak memory (MB)"),
        _row("---", "---:", "---:", "---:", "---:", "---:"),
    ]
    for label, results in configs.items():
        runs = _runs_of(results)
        rows.append(_row(
            label or "all runs", str(len(runs)),
            *(format_number(_mean_of(runs, key)) for key in ("wall_time_s", "steps_per_s", "params", "peak_memory_mb")),
        ))
    return "## Cost\n\nMeans over the completed runs of each configuration.\n\n" + "\n".join(rows)


def _mean_of(runs: list[RunRecord], key: str) -> float | None:
    xs = [float(v) for r in runs if isinstance(v := r.summary.get(key), (int, float)) and not isinstance(v, bool)]
    return math.fsum(xs) / len(xs) if xs else None


def _md_figures(figs: _Figures) -> str:
    if not figs.curves:
        return "## Learning curves\n\nNo metrics.jsonl points for the claimed metrics."
    images = [f"![{metric}](figures/{name})" for metric, name in sorted(figs.curves.items())]
    intro = "Mean over seeds per configuration; dashed lines are the paper's values."
    return "## Learning curves\n\n" + intro + "\n\n" + "\n\n".join(images)


def _md_error_analysis(ctx: _Context, figs: _Figures) -> str:
    if not figs.analyses:
        return ""
    blocks = ["## Error analysis"]
    for label, a in sorted(figs.analyses.items()):
        blocks.append(_analysis_block(label or "all runs", a))
    return "\n\n".join(blocks)


def _analysis_block(label: str, a: _Analysis) -> str:
    rows = [_row("class", "samples", "correct", "accuracy (%)", "most often predicted instead"),
            _row("---", "---:", "---:", "---:", "---")]
    for i, name in enumerate(a.class_names):
        total, correct = sum(a.matrix[i]), a.matrix[i][i]
        wrong = [(count, j) for j, count in enumerate(a.matrix[i]) if j != i and count > 0]
        worst = max(wrong, key=lambda cj: (cj[0], -cj[1]), default=None)
        rows.append(_row(
            _cell(name), str(total), str(correct), format_number(100.0 * correct / total) if total else "—",
            f"{_cell(a.class_names[worst[1]])} ({worst[0]})" if worst else "—",
        ))
    lines = [f"### {label}", "", f"Confusion matrix summed over {a.runs} run(s); rows are true classes.",
             "", f"![confusion matrix, {label}](figures/{a.png})", "", *rows]
    lines += [f"\nNote: {note}." for note in a.notes]
    return "\n".join(lines)


def _md_provenance(ctx: _Context) -> str:
    runs = _runs_of(ctx.results)
    if not runs:
        return "## Provenance\n\nNo completed runs were compared."
    shas: Counter[tuple[str, str]] = Counter()
    for run in runs:
        git = run.provenance().get("git")
        git = git if isinstance(git, dict) else {}
        shas[(str(git.get("sha") or "unknown"), _text(git.get("dirty")))] += 1
    rows = [_row("git sha", "dirty", "runs"), _row("---", "---", "---:")]
    rows += [_row(f"`{sha}`", dirty, str(n)) for (sha, dirty), n in sorted(shas.items())]
    first = runs[0].provenance()
    packages = first.get("packages") if isinstance(first.get("packages"), dict) else {}
    pkg_rows = [_row("package", "version"), _row("---", "---")]
    pkg_rows += [_row(name, _text(version)) for name, version in sorted(packages.items())]
    env = f"Python {_text(first.get('python'))}, device {_text(first.get('device'))}, as in `{ctx.rel(runs[0].path)}`."
    return "## Provenance\n\n" + "\n".join(rows) + "\n\n" + env + "\n\n" + "\n".join(pkg_rows)


def _md_rerun(ctx: _Context) -> str:
    name = ctx.paper["name"]
    commands = [_run_command(name, ctx.stage, selects, seeds) for selects, seeds in _rerun_plan(ctx)]
    commands.append(f"workbench report {name}")
    return "## How to re-run\n\n```bash\n" + "\n".join(commands) + "\n```"


def _rerun_plan(ctx: _Context) -> list[tuple[list[dict[str, Any]], list[int]]]:
    """One multirun when the selects form a full grid over the same keys, else one per select."""
    by_label: dict[str, tuple[dict[str, Any], set[int]]] = {}
    for result in ctx.results:
        label = _config_label(result.claim.select)
        select, seeds = by_label.setdefault(label, (dict(result.claim.select), set()))
        seeds.update(r.seed for r in result.runs if r.seed is not None)
        seeds.update(e.run.seed for e in result.excluded if e.run.seed is not None)
    if not by_label:
        return []
    selects = [by_label[k][0] for k in sorted(by_label)]
    all_seeds = sorted(set().union(*(s for _, s in by_label.values())))
    if _is_grid(selects):
        return [(selects, all_seeds)]
    return [([by_label[k][0]], sorted(by_label[k][1])) for k in sorted(by_label)]


def _is_grid(selects: list[dict[str, Any]]) -> bool:
    keys = {tuple(sorted(s)) for s in selects}
    if len(keys) != 1:
        return False
    (names,) = keys
    axes = [sorted({_text(s[k]) for s in selects}) for k in names]
    wanted = {tuple(combo) for combo in itertools.product(*axes)}
    return wanted == {tuple(_text(s[k]) for k in names) for s in selects}


def _run_command(paper: str, stage: str, selects: list[dict[str, Any]], seeds: list[int]) -> str:
    keys = sorted({k for s in selects for k in s})
    stage_value = ",".join(sorted({_text(s["stage"]) for s in selects if "stage" in s})) or stage
    overrides = [f"{k}={','.join(sorted({_text(s[k]) for s in selects}))}" for k in keys if k != "stage"]
    seed_list = ",".join(str(s) for s in seeds) or "0,1,2"
    return " ".join([f"workbench run {paper} stage={stage_value} -m", *overrides, f"seed={seed_list}"])


# --- formatting --------------------------------------------------------------------------------


def _config_label(select: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in sorted(select.items()))


def _slug(text: str) -> str:
    """A file-name part: "test/acc" → "test_acc", "data=standard, model=cnn" → "data-standard_model-cnn"."""
    text = text.replace("=", "-").replace(", ", "_").replace("/", "_")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-_") or "all"


def format_number(x: float | int | None) -> str:
    """A number for a table: integers as such, else at most 2 decimals from 1 up, 3 significant below."""
    if x is None or isinstance(x, bool) or not math.isfinite(float(x)):
        return "—"
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


def unit_suffix(unit: str) -> str:
    return unit if unit in ("%", "") else f" {unit}"


def _pm(mean: float, std: float | None, n: int | None, unit: str) -> str:
    text = format_number(mean) + (f" ± {format_number(std)}" if std is not None else "") + unit_suffix(unit)
    return text + (f" (n={n})" if n else "")


def _text(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    return "—" if x is None else str(x)


def _cell(text: Any) -> str:
    """Table-safe: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _quote(text: str) -> str:
    return f"“{_cell(text)}”"


def _source(c: Claim) -> str:
    s = c.source
    parts = [f"arXiv {s.arxiv}"]
    located = (("table", s.table), ("row", s.row), ("column", s.column))
    parts += [f"{name} {value}" for name, value in located if value is not None]
    if s.file:
        parts.append(f"{s.file}:{s.line}" if s.line else s.file)
    return ", ".join(parts)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"
