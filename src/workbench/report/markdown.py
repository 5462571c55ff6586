"""REPORT.md, section by section, from the report context and its figures.

No clock or host enters it and every list is sorted, so the same runs and claims give the same
bytes. After the headline and the claims (report/headline.py) it holds the runs left out and
those off the recipe, the deviations, the cost, the figures, the error analysis, the runs beyond
the paper (config `data.beyond_paper`: mean ± std of their metrics, never a verdict), the
warnings about the inputs, provenance and how to re-run (from the averaged runs' overrides.yaml).
"""

from __future__ import annotations

import math
import shlex
from collections import Counter, defaultdict

from workbench.report import headline
from workbench.report.compare import is_beyond_paper, runs_of
from workbench.report.context import Confusion, Figures, ReportContext, WorstExamples
from workbench.report.format import cell, format_number, row, text
from workbench.report.stats import summarize
from workbench.run.record import RunRecord


def render_markdown(ctx: ReportContext, figs: Figures) -> str:
    sections = [
        headline.header(ctx),
        headline.claims(ctx),
        headline.not_confirmed(ctx),
        headline.excluded(ctx),
        headline.off_recipe(ctx),
        _deviations(ctx),
        _cost(ctx),
        _learning_curves(figs),
        _paper_vs_ours(figs),
        _sweeps(figs),
        _error_analysis(figs),
        _worst_examples(figs),
        _attention(figs),
        _paper_figures(figs),
        _beyond_paper(ctx),
        _warnings(ctx),
        _provenance(ctx),
        _rerun(ctx),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


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
    for label, results in configs.items():
        runs = runs_of(results)
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
        return "## Learning curves\n\nNo metrics.jsonl points for the claimed metrics."
    images = [f"![{metric}](figures/{name})" for metric, name in sorted(figs.curves.items())]
    intro = "Mean over seeds per configuration; dashed lines are the paper's values."
    return "## Learning curves\n\n" + intro + "\n\n" + "\n\n".join(images)


def _paper_vs_ours(figs: Figures) -> str:
    if not figs.paper_vs_ours:
        return ""
    images = [f"![paper vs ours, {image.caption}](figures/{image.png})" for image in figs.paper_vs_ours]
    return "## Paper vs ours\n\n" + "\n\n".join(images)


def _sweeps(figs: Figures) -> str:
    if not figs.sweeps:
        return ""
    return "## Sweeps\n\n" + "\n\n".join(f"![{image.caption}](figures/{image.png})" for image in figs.sweeps)


def _error_analysis(figs: Figures) -> str:
    if not figs.analyses:
        return ""
    blocks = ["## Error analysis"]
    for label, confusion in sorted(figs.analyses.items()):
        blocks.append(_confusion_block(label or "all runs", confusion))
    return "\n\n".join(blocks)


def _confusion_block(label: str, a: Confusion) -> str:
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
    lines = [f"### {label}", "", f"Confusion matrix summed over {a.runs} run(s); rows are true classes.",
             "", f"![confusion matrix, {label}](figures/{a.png})", "", *rows]
    lines += [f"\nNote: {note}." for note in a.notes]
    return "\n".join(lines)


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
                rows.append(row(cell(what), str(len(done)), f"`{metric}`", f"{format_number(s.mean)} ± {format_number(s.std)} (n={s.n})"))
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
        seeds_of[_overrides_but_seed(run)].update({run.seed} if run.seed is not None else set())
    commands = [_run_command(name, overrides, sorted(seeds)) for overrides, seeds in sorted(seeds_of.items())]
    if not commands:
        commands = [f"workbench run {name} stage={ctx.stage} -m seed=0,1,2"]
    if ctx.commit is not None and ctx.commit.sha:
        commands.insert(0, f"# the runs were made at commit {ctx.commit.sha}")
    commands.append(f"workbench report {name}")
    return "## How to re-run\n\n```bash\n" + "\n".join(commands) + "\n```"


def _overrides_but_seed(run: RunRecord) -> tuple[str, ...]:
    """The run's overrides as typed, without seed and seeds; `stage=<stage>` where it has no overrides.yaml."""
    kept = tuple(o for o in run.overrides() if o.split("=", 1)[0].lstrip("+~") not in ("seed", "seeds"))
    return kept if run.overrides() else (f"stage={run.stage}",)


def _run_command(paper: str, overrides: tuple[str, ...], seeds: list[int]) -> str:
    seed = [f"seed={','.join(map(str, seeds))}"] if seeds else []
    return " ".join(["workbench run", paper, "-m", *(shlex.quote(o) for o in overrides), *seed])
