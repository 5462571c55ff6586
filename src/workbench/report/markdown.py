"""REPORT.md, section by section, from the report context and its figures.

No clock or host enters it and every list is sorted, so the same runs and claims give the same
bytes. A reader sees first the headline and the claims table (report/headline.py), then the
figures and the error analysis; below them the details, which report.html folds: each claim's
details, the deviations, the runs left out and those off the recipe, the runs beyond the paper
(config `data.beyond_paper`: mean ± std of their metrics, never a verdict), the cost, the warnings
about the inputs, provenance and how to re-run (from the averaged runs' overrides.yaml).
"""

from __future__ import annotations

import math
import shlex
from collections import Counter, defaultdict
from dataclasses import dataclass

from workbench.report import headline
from workbench.report.compare import is_beyond_paper, runs_of
from workbench.report.context import Confusion, Figures, ReportContext, WorstExamples
from workbench.report.format import cell, format_number, plus_minus, row, text
from workbench.report.stats import summarize
from workbench.run.record import RunRecord


@dataclass(frozen=True)
class Section:
    """One section of REPORT.md ("## title" and its body; the header has none); report.html folds the
    `folded` ones (the details a reader opens when the table and the figures raise a question)."""

    markdown: str
    folded: bool = False
    claims: bool = False  # the claims table: report.html draws it from headline.claim_tables, with badges

    @property
    def title(self) -> str:
        first = self.markdown.split("\n", 1)[0]
        return first.removeprefix("## ") if first.startswith("## ") else ""

    @property
    def body(self) -> str:
        return self.markdown.split("\n", 1)[1].strip() if self.title else self.markdown


def report_sections(ctx: ReportContext, figs: Figures) -> list[Section]:
    """The headline, the claims table and the figures; then the details, folded in report.html."""
    shown = [
        _paper_vs_ours(figs),
        _learning_curves(figs),
        _sweeps(figs),
        _paper_figures(figs),
        _error_analysis(figs),
        _worst_examples(figs),
        _attention(figs),
    ]
    folded = [
        headline.claim_details(ctx),
        _deviations(ctx),
        _per_class(figs),
        headline.not_confirmed(ctx),
        headline.excluded(ctx),
        headline.off_recipe(ctx),
        _beyond_paper(ctx),
        _cost(ctx),
        _warnings(ctx),
        _provenance(ctx),
        _rerun(ctx),
    ]
    top = [Section(headline.header(ctx)), Section(headline.claims(ctx), claims=bool(ctx.results))]
    return top + [Section(s) for s in shown if s] + [Section(s, folded=True) for s in folded if s]


def render_markdown(ctx: ReportContext, figs: Figures) -> str:
    return sections_markdown(report_sections(ctx, figs))


def sections_markdown(sections: list[Section]) -> str:
    return "\n\n".join(s.markdown for s in sections).rstrip() + "\n"


# --- deviations and cost -----------------------------------------------------------------------


def _deviations(ctx: ReportContext) -> str:
    if not ctx.deviations:
        return "## Deviations from the paper\n\nNone recorded in deviations.yaml."
    rows = [row("what", "paper", "we do", "why", "affects"), row("---", "---", "---", "---", "---")]
    for d in ctx.deviations:
        affects = ", ".join(f"`{a}`" for a in d["affects"]) or "—"
        rows.append(row(cell(d["what"]), cell(d["paper"]), cell(d["we_do"]), cell(d["why"]), affects))
    return "## Deviations from the paper\n\n" + "\n".join(rows)


def _cost(ctx: ReportContext) -> str:
    configs = ctx.configurations()
    if not configs:
        return ""
    rows = [
        row("configuration", "runs", "wall time (s)", "steps/s", "parameters", "peak memory (MB)"),
        row("---", "---:", "---:", "---:", "---:", "---:"),
    ]
    for label, runs in configs.items():
        rows.append(row(
            label or "all runs", str(len(runs)),
            *(format_number(_mean_of(runs, key)) for key in ("wall_time_s", "steps_per_s", "params", "peak_memory_mb")),
        ))
    return "## Cost\n\nMeans over the completed runs of each configuration.\n\n" + "\n".join(rows)


def _mean_of(runs: list[RunRecord], key: str) -> float | None:
    xs = [float(v) for r in runs if isinstance(v := r.summary.get(key), (int, float)) and not isinstance(v, bool)]
    return math.fsum(xs) / len(xs) if xs else None


# --- figures -----------------------------------------------------------------------------------


def _learning_curves(figs: Figures) -> str:
    if not figs.curves:
        return ("## Learning curves\n\nNo claimed metric changes over the steps in metrics.jsonl (a metric logged "
                "once is in *Paper vs ours*).")
    images = [f"![{metric}](figures/{name})" for metric, name in sorted(figs.curves.items())]
    intro = ("Mean over seeds per configuration; dashed black lines are the paper's values. Metrics logged once "
             "(or constant over steps) are in *Paper vs ours* only.")
    return "## Learning curves\n\n" + intro + "\n\n" + "\n\n".join(images)


def _paper_vs_ours(figs: Figures) -> str:
    if not figs.paper_vs_ours:
        return ""
    images = [f"![paper vs ours, {image.caption}](figures/{image.png})" for image in figs.paper_vs_ours]
    intro = ("Each row a claim: the paper's value ± its std (black), the tolerance band (grey), our mean and its "
             "90% and 95% intervals, coloured by verdict. Every figure is also in figures/ as SVG.")
    return "## Paper vs ours\n\n" + intro + "\n\n" + "\n\n".join(images)


def _sweeps(figs: Figures) -> str:
    if not figs.sweeps:
        return ""
    return "## Sweeps\n\n" + "\n\n".join(f"![{image.caption}](figures/{image.png})" for image in figs.sweeps)


def _error_analysis(figs: Figures) -> str:
    """The confusion matrices as figures; their per-class tables are in _per_class, below the figures."""
    if not figs.analyses:
        return ""
    blocks = ["## Error analysis", "Confusion matrices summed over each configuration's runs; rows are true classes. "
              "Per-class accuracy: *Error analysis per class*, below."]
    for label, a in sorted(figs.analyses.items()):
        label = label or "all runs"
        notes = "".join(f"\n\nNote: {note}." for note in a.notes)
        blocks.append(f"### {label}\n\n![confusion matrix, {label}](figures/{a.png}){notes}")
    return "\n\n".join(blocks)


def _per_class(figs: Figures) -> str:
    if not figs.analyses:
        return ""
    blocks = ["## Error analysis per class"]
    blocks += [_class_table(label or "all runs", a) for label, a in sorted(figs.analyses.items())]
    return "\n\n".join(blocks)


def _class_table(label: str, a: Confusion) -> str:
    rows = [row("class", "samples", "correct", "accuracy (%)", "most often predicted instead"),
            row("---", "---:", "---:", "---:", "---")]
    for i, name in enumerate(a.class_names):
        total, correct = sum(a.matrix[i]), a.matrix[i][i]
        wrong = [(count, j) for j, count in enumerate(a.matrix[i]) if j != i and count > 0]
        worst = max(wrong, key=lambda cj: (cj[0], -cj[1]), default=None)
        rows.append(row(
            cell(name), str(total), str(correct), format_number(100.0 * correct / total) if total else "—",
            f"{cell(a.class_names[worst[1]])} ({worst[0]})" if worst else "—",
        ))
    return "\n".join([f"### {label}", "", f"Summed over {a.runs} run(s).", "", *rows])


def _worst_examples(figs: Figures) -> str:
    if not figs.worst:
        return ""
    return "## Worst-classified examples\n\n" + "\n\n".join(_worst_block(worst) for worst in figs.worst)


def _worst_block(worst: WorstExamples) -> str:
    rows = [row("example", "true", "predicted", "confidence"), row("---:", "---", "---", "---:")]
    for e in worst.examples:
        confidence = e.get("confidence")
        rows.append(row(text(e.get("index")), cell(e["true"]), cell(e["predicted"]),
                        format_number(100 * confidence) + "%" if isinstance(confidence, (int, float)) else "—"))
    lines = [f"### {worst.label or 'all runs'}", "", f"From `{worst.where}`.", ""]
    if worst.png:
        lines += [f"![worst examples, {worst.label}](figures/{worst.png})", ""]
    return "\n".join(lines + rows)


def _attention(figs: Figures) -> str:
    if not figs.attention:
        return ""
    blocks = [f"{image.caption}\n\n![attention, {image.caption}](figures/{image.png})" for image in figs.attention]
    return "## Attention maps\n\nRows are queries, columns keys; one panel per head.\n\n" + "\n\n".join(blocks)


def _paper_figures(figs: Figures) -> str:
    if not figs.paper:
        return ""
    return ("## Paper figures\n\nDrawn by the paper's own `figures.py`.\n\n"
            + "\n\n".join(f"### {image.caption}\n\n![{image.caption}](figures/{image.png})" for image in figs.paper))


# --- beyond the paper, warnings ----------------------------------------------------------------


def _beyond_paper(ctx: ReportContext) -> str:
    runs = [r for r in ctx.runs if is_beyond_paper(r) and r.stage == ctx.stage]
    if not runs:
        return ""
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        groups[" ".join(str(run.config["data"]["beyond_paper"]).split())].append(run)
    rows = [row("what", "runs", "metric", "mean ± std (n)"), row("---", "---:", "---", "---")]
    notes = []
    for what, members in sorted(groups.items()):
        done = [r for r in members if r.status == "completed"]
        for r in members:
            if r.status != "completed":
                notes.append(f"- `{ctx.shown(r)}` ({cell(what)}): {r.status}, not averaged")
        metrics = sorted({k for r in done for k in r.logged_metrics()})
        for metric in metrics:
            values = [v for r in done if (v := r.metric(metric)) is not None and math.isfinite(v)]
            if values:
                s = summarize(values)
                rows.append(row(cell(what), str(len(done)), f"`{metric}`", plus_minus(s.mean, s.std, s.n, "")))
        if not metrics:
            rows.append(row(cell(what), str(len(done)), "—", "no completed run"))
    intro = ("Runs the paper never made (config `data.beyond_paper`), shown as measured: there is no claim to "
             "compare them with, so no verdict.")
    return "## Beyond the paper\n\n" + intro + "\n\n" + "\n".join(rows + ([""] + notes if notes else []))


def _warnings(ctx: ReportContext) -> str:
    """Skipped runs, corrupt metrics.jsonl lines, unlogged metrics, malformed analysis.json, figures.py errors."""
    if not ctx.warnings:
        return ""
    return "## Warnings about the inputs\n\n" + "\n".join(f"- {cell(w)}" for w in ctx.warnings)


# --- provenance and how to re-run --------------------------------------------------------------


def _provenance(ctx: ReportContext) -> str:
    runs = runs_of(ctx.results)
    if not runs:
        return "## Provenance\n\nNo completed runs were compared."
    shas: Counter[tuple[str, str]] = Counter()
    for run in runs:
        git = run.provenance().get("git")
        git = git if isinstance(git, dict) else {}
        shas[(str(git.get("sha") or "unknown"), text(git.get("dirty")))] += 1
    rows = [row("git sha", "dirty", "runs"), row("---", "---", "---:")]
    rows += [row(f"`{sha}`", dirty, str(n)) for (sha, dirty), n in sorted(shas.items())]
    first = runs[0].provenance()
    packages = first.get("packages") if isinstance(first.get("packages"), dict) else {}
    pkg_rows = [row("package", "version"), row("---", "---")]
    pkg_rows += [row(name, text(version)) for name, version in sorted(packages.items())]
    env = f"Python {text(first.get('python'))}, device {text(first.get('device'))}, as in `{ctx.shown(runs[0])}`."
    return "## Provenance\n\n" + "\n".join(rows) + "\n\n" + env + "\n\n" + "\n".join(pkg_rows)


def _rerun(ctx: ReportContext) -> str:
    """One command per set of overrides (seed aside) that the averaged runs were made with, from
    their own overrides.yaml, so that it repeats what is behind the numbers."""
    name = ctx.paper["name"]
    seeds_of: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for run in runs_of(ctx.results):
        seeds_of[_overrides_but_seed(ctx, run)].update({run.seed} if run.seed is not None else set())
    commands = [_run_command(name, overrides, sorted(seeds)) for overrides, seeds in sorted(seeds_of.items())]
    if not commands:
        commands = [f"workbench run {name} stage={ctx.stage} -m seed=0,1,2"]
    if ctx.commit is not None and ctx.commit.sha:
        commands.insert(0, f"# the runs were made at commit {ctx.commit.sha}")
    commands.append(f"workbench report {name}")
    return "## How to re-run\n\n```bash\n" + "\n".join(commands) + "\n```"


def _overrides_but_seed(ctx: ReportContext, run: RunRecord) -> tuple[str, ...]:
    """The run's overrides as typed, without seed and seeds; `stage=<stage>` where it has no overrides.yaml."""
    overrides = ctx.overrides(run)
    kept = tuple(o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in ("seed", "seeds"))
    return kept if overrides else (f"stage={run.stage}",)


def _run_command(paper: str, overrides: tuple[str, ...], seeds: list[int]) -> str:
    seed = [f"seed={','.join(map(str, seeds))}"] if seeds else []
    return " ".join(["workbench run", paper, "-m", *(shlex.quote(o) for o in overrides), *seed])
