"""REPORT.md, section by section, from the report context and its figures.

No clock or host enters it and every list is sorted, so the same runs and claims give the same
bytes. Besides the claims table it holds the runs left out, the deviations, the cost, the
figures, the error analysis, the runs beyond the paper (config `data.beyond_paper`: mean ± std
of their metrics, never a verdict), the warnings about the inputs, provenance and how to re-run.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from typing import Any

from workbench.claims.schema import Claim, tolerance_width
from workbench.report.compare import ClaimResult, Excluded, is_beyond_paper, runs_of
from workbench.report.context import Confusion, Figures, ReportContext, WorstExamples
from workbench.report.format import cell, config_label, format_number, plus_minus, quote, row, source, text, unit_suffix
from workbench.report.stats import VERDICTS, summarize
from workbench.run.record import RunRecord, skip_reason


def render_markdown(ctx: ReportContext, figs: Figures) -> str:
    sections = [
        _header(ctx),
        _claims(ctx),
        _not_confirmed(ctx),
        _excluded(ctx),
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


# --- the claims --------------------------------------------------------------------------------


def _header(ctx: ReportContext) -> str:
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
        + f", from {n_runs} completed run(s) at stage `{ctx.stage}`." + _deviation_note(ctx),
    ])


def _deviation_note(ctx: ReportContext) -> str:
    """A verdict is only as good as the recipe behind it: say up front how many claims a deviation touches."""
    claim_ids = {r.claim.id for r in ctx.results}
    touched = {c for d in ctx.deviations for c in (d.get("affects") or []) if c in claim_ids}
    if not touched:
        return ""
    return (f" Deviations from the paper's recipe touch {len(touched)} of these {len(claim_ids)} claims: "
            f"read *Deviations from the paper* below before the verdicts.")


def _claims(ctx: ReportContext) -> str:
    if not ctx.results:
        return "## Claims\n\nNo confirmed claims yet: confirm them in claims.yaml (`workbench claims <name>`)."
    rows = [row("claim", "paper", "ours (mean ± std, n)", "verdict"), row("---", "---", "---", "---")]
    for r in ctx.results:
        c = r.claim
        ours = plus_minus(r.stats.mean, r.stats.std, r.stats.n, c.unit) if r.stats else "—"
        rows.append(row(f"`{c.id}`", plus_minus(c.value, c.std, c.n_seeds, c.unit), ours, f"**{r.verdict}**"))
    rule = (
        "Verdicts: *reproduced* when |ours − paper| ≤ tolerance; otherwise *inconclusive* when our 95% "
        "t interval still reaches the tolerance band (too few seeds to tell), else *better* or *worse* "
        "by the claim's goal; *missing* when no completed run matches."
    )
    details = "\n".join(_claim_detail(ctx, r) for r in ctx.results)
    return "## Claims\n\n" + "\n".join(rows) + "\n\n" + rule + "\n\n" + details


def _claim_detail(ctx: ReportContext, r: ClaimResult) -> str:
    c = r.claim
    tol = tolerance_width(c)
    parts = [
        f"- `{c.id}`: {quote(c.quote)} ({source(c)}); metric `{c.metric}`, goal {c.goal}, "
        f"select `{config_label(c.select) or 'all runs'}`; tolerance ±{format_number(tol)}{unit_suffix(c.unit)} "
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


def _not_confirmed(ctx: ReportContext) -> str:
    candidates = [c for c in ctx.claims if c.status == "candidate"]
    if not candidates:
        return ""
    rows = [row("claim", "quote", "paper"), row("---", "---", "---")]
    rows += [row(f"`{c.id}`", quote(c.quote), plus_minus(c.value, c.std, c.n_seeds, c.unit)) for c in candidates]
    return (
        f"## Not yet confirmed\n\n{len(candidates)} candidate claim(s), not compared; confirm or reject "
        f"them in claims.yaml (`workbench claims {ctx.paper['name']}`).\n\n" + "\n".join(rows)
    )


def _excluded(ctx: ReportContext) -> str:
    seen: dict[str, tuple[Excluded, str]] = {}
    for result in ctx.results:
        for e in result.excluded:
            seen.setdefault(ctx.rel(e.run.path), (e, config_label(result.claim.select)))
    lines = ["## Runs excluded"]
    if seen:
        rows = [row("run", "configuration", "seed", "status", "message"), row("---", "---", "---", "---", "---")]
        for rel in sorted(seen):
            e, label = seen[rel]
            message = e.run.summary.get("message") or ""
            rows.append(row(f"`{rel}`", label or "all runs", text(e.run.seed), e.status, cell(message)))
        lines += ["", "Matching runs that are listed but not averaged.", "", *rows]
    else:
        lines += ["", "None: every matching run completed and was averaged."]
    if ctx.skipped:
        lines += ["", "Skipped (not read at all):", ""]
        lines += [f"- `{ctx.rel(p)}`: {skip_reason(p)}" for p in ctx.skipped]
    return "\n".join(lines)


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
                notes.append(f"- `{ctx.rel(r.path)}` ({cell(what)}): {r.status}, not averaged")
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
    env = f"Python {text(first.get('python'))}, device {text(first.get('device'))}, as in `{ctx.rel(runs[0].path)}`."
    return "## Provenance\n\n" + "\n".join(rows) + "\n\n" + env + "\n\n" + "\n".join(pkg_rows)


def _rerun(ctx: ReportContext) -> str:
    name = ctx.paper["name"]
    commands = [_run_command(name, ctx.stage, selects, seeds) for selects, seeds in _rerun_plan(ctx)]
    commands.append(f"workbench report {name}")
    return "## How to re-run\n\n```bash\n" + "\n".join(commands) + "\n```"


def _rerun_plan(ctx: ReportContext) -> list[tuple[list[dict[str, Any]], list[int]]]:
    """One multirun when the selects form a full grid over the same keys, else one per select."""
    by_label: dict[str, tuple[dict[str, Any], set[int]]] = {}
    for result in ctx.results:
        label = config_label(result.claim.select)
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
    axes = [sorted({text(s[k]) for s in selects}) for k in names]
    wanted = {tuple(combo) for combo in itertools.product(*axes)}
    return wanted == {tuple(text(s[k]) for k in names) for s in selects}


def _run_command(paper: str, stage: str, selects: list[dict[str, Any]], seeds: list[int]) -> str:
    keys = sorted({k for s in selects for k in s})
    stage_value = ",".join(sorted({text(s["stage"]) for s in selects if "stage" in s})) or stage
    overrides = [f"{k}={','.join(sorted({text(s[k]) for s in selects}))}" for k in keys if k != "stage"]
    seed_list = ",".join(str(s) for s in seeds) or "0,1,2"
    return " ".join([f"workbench run {paper} stage={stage_value} -m", *overrides, f"seed={seed_list}"])
