"""REPORT.md's first sections: the headline, the claims and their verdicts, and the runs not averaged.

The headline says first what a reader would quote and what it rests on: the verdict counts, the
commit, the runs and seeds, and the deviations that make claims not comparable or change the recipe.
"""

from __future__ import annotations

from collections import Counter

from workbench.claims.schema import Claim, tolerance_width
from workbench.report.compare import ClaimResult, Excluded, OffRecipe, Side, runs_of
from workbench.report.context import ReportContext
from workbench.report.format import (bound_text, cell, config_label, format_number, plus_minus, quote, row, source,
                                     text, unit_suffix, verdict_label)
from workbench.report.verdict import VERDICTS
from workbench.run.record import skip_reason

MAX_DIFFERENCES = 4  # keys shown per off-recipe run; the rest are counted
MAX_NAMED = 3  # claims a headline deviation names; more are counted

RULE = (
    "Verdicts (docs/claims.md, \"Verdicts\"): *reproduced* when our 90% interval lies inside the tolerance band "
    "(or a relative claim's bound); *not reproduced* when our 95% interval lies wholly outside it, *better* or "
    "*worse* by the claim's goal; otherwise *inconclusive*, with the seeds that would decide it; *not comparable* "
    "when a deviation says our runs measure something else; *missing* when no on-recipe completed run answers it. "
    "With one run the spread is the paper's std where it gives one. Losses and errors are judged on the log scale."
)


def header(ctx: ReportContext) -> str:
    p = ctx.paper
    version = str(p.get("version") or "").lstrip("v")  # paper.yaml holds the number (2), or "v2"
    arxiv = f"{p.get('arxiv_id') or '?'}" + (f"v{version}" if version else "")
    link = f"[arXiv:{arxiv}]({p['abs_url']})" if p.get("abs_url") else f"arXiv:{arxiv}"
    authors = p.get("authors")
    authors = ", ".join(map(str, authors)) if isinstance(authors, list) else (authors or "")
    byline = " — ".join(x for x in (link, f"{authors} ({p['year']})" if p.get("year") else authors) if x)
    counts = Counter(r.verdict for r in ctx.results)
    breakdown = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    lines = [
        f"# Reproduction report: {p.get('title') or p['name']}", "", byline, "",
        f"**{counts['reproduced']} of {len(ctx.results)} claims reproduced**" + (f" ({breakdown})" if breakdown else "")
        + f", {runs_and_commit(ctx)}.",
    ]
    lines += [f"\n{line}" for line in deviation_lines(ctx)]
    return "\n".join(lines)


def runs_and_commit(ctx: ReportContext) -> str:
    runs = runs_of(ctx.results)
    seeds = sorted({r.seed for r in runs if r.seed is not None})
    seed_text = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" if seeds else "no seeds recorded"
    said = f"from {len(runs)} completed run(s) ({seed_text}) at stage `{ctx.stage}`"
    if ctx.commit is None:
        return said + ", no commit (no run answers a claim)"
    said += f", commit `{ctx.commit.short}`" if ctx.commit.sha else ", runs without provenance (commit unknown)"
    if ctx.commit.dirty:
        said += " **with uncommitted changes** (counted because of --allow-dirty)"
    return said


def deviation_lines(ctx: ReportContext) -> list[str]:
    """A verdict is only as good as the recipe behind it: say up front which deviations touch which claims."""
    ids = {r.claim.id for r in ctx.results}
    unfit, recipe = [], []
    for dev in ctx.deviations:
        touched = [c for c in dev.get("affects") or [] if c in ids]
        if touched:
            claims_named = ", ".join(f"`{c}`" for c in touched) if len(touched) <= MAX_NAMED else f"{len(touched)} claims"
            named = f"*{cell(dev['what'])}* ({claims_named})"
            (unfit if dev.get("comparable", True) is False else recipe).append(named)
    lines = []
    if unfit:
        lines.append("Not comparable (a deviation says our runs measure something else): " + "; ".join(unfit) + ".")
    if recipe:
        lines.append("Deviations from the paper's recipe touch these claims: " + "; ".join(recipe)
                     + ". Read *Deviations from the paper* below before the verdicts.")
    return lines


def claims(ctx: ReportContext) -> str:
    if not ctx.results:
        return "## Claims\n\nNo confirmed claims yet: confirm them in claims.yaml (`workbench claims <name>`)."
    rows = [row("claim", "paper", "ours (mean ± std, n)", "verdict"), row("---", "---", "---", "---")]
    for r in ctx.results:
        rows.append(row(f"`{r.claim.id}`", paper_cell(r.claim), ours_cell(r), verdict_cell(r)))
    details = "\n".join(claim_detail(ctx, r) for r in ctx.results)
    return "## Claims\n\n" + "\n".join(rows) + "\n\n" + RULE + "\n\n" + details


def paper_cell(c: Claim) -> str:
    if c.kind == "value":
        return plus_minus(c.value, c.std, c.n_seeds, c.unit)
    low, high = (c.bound.min, c.bound.max) if c.bound is not None else (None, None)
    return bound_text(c.kind, low, high)


def ours_cell(r: ClaimResult) -> str:
    side = side_text(r.side, r.claim.unit)
    if r.versus is None:
        return side
    shown = f"{r.claim.kind} {format_number(r.statistic)}; " if r.statistic is not None else ""
    return f"{shown}{side} vs {side_text(r.versus, r.claim.unit)}"


def side_text(side: Side, unit: str) -> str:
    s = side.stats
    return plus_minus(s.mean, s.std, s.n, unit) if s else "—"


def verdict_cell(r: ClaimResult) -> str:
    j = r.judgement
    one_run = " (1 run)" if r.answered and any(len(side.values) == 1 for side in r.sides) else ""
    return f"**{verdict_label(j.verdict, j.direction, j.seeds_needed)}**{one_run}"


def claim_detail(ctx: ReportContext, r: ClaimResult) -> str:
    c, j = r.claim, r.judgement
    head = f"- `{c.id}`: {quote(c.quote)} ({source(c)}); metric `{c.metric}`, goal {c.goal}, select `{config_label(c.select) or 'all runs'}`"
    if r.versus is not None:
        head += f", versus `{config_label(r.versus.select) or 'all runs'}` (metric `{r.versus.metric}`)"
    parts = [head]
    if c.kind == "value":
        parts.append(f"tolerance ±{format_number(tolerance_width(c))}{unit_suffix(c.unit)} ({tolerance_kind(c)})")
    parts.append(f"{j.scale} scale")
    for level, interval in (("90%", j.interval90), ("95%", j.interval95)):
        if interval is not None:
            parts.append(f"{level} interval [{format_number(interval[0])}, {format_number(interval[1])}]")
    if j.spread == "paper std":
        parts.append("spread: the paper's std")
    if r.welch_p is not None:
        parts.append(f"Welch p = {r.welch_p:.3g}")
    seeds = " vs ".join(", ".join(str(run.seed) for run in side.runs if run.seed is not None) for side in r.sides)
    parts.append(f"seeds: {seeds}" if r.runs else "no completed on-recipe run")
    if j.note:
        parts.append(j.note)
    affected = [d["what"] for d in ctx.deviations if c.id in d["affects"]]
    if affected:
        parts.append("deviations: " + "; ".join(affected))
    return "; ".join(parts) + "."


def tolerance_kind(c: Claim) -> str:
    if c.tolerance.kind == "paper_std":
        return f"{format_number(c.tolerance.k)} × paper std"
    if c.tolerance.kind == "rel":
        return f"{format_number(c.tolerance.value * 100)}% of the value"
    return "absolute"


def not_confirmed(ctx: ReportContext) -> str:
    candidates = [c for c in ctx.claims if c.status == "candidate"]
    if not candidates:
        return ""
    rows = [row("claim", "quote", "paper"), row("---", "---", "---")]
    rows += [row(f"`{c.id}`", quote(c.quote), paper_cell(c)) for c in candidates]
    return (
        f"## Not yet confirmed\n\n{len(candidates)} candidate claim(s), not compared; confirm or reject "
        f"them in claims.yaml (`workbench claims {ctx.paper['name']}`).\n\n" + "\n".join(rows)
    )


def excluded(ctx: ReportContext) -> str:
    seen: dict[str, tuple[Excluded, str]] = {}
    for result in ctx.results:
        for e in result.excluded:
            seen.setdefault(ctx.shown(e.run), (e, config_label(result.claim.select)))
    lines = ["## Runs excluded"]
    if seen:
        rows = [row("run", "configuration", "seed", "status", "message"), row("---", "---", "---", "---", "---")]
        for shown in sorted(seen):
            e, label = seen[shown]
            message = e.run.summary.get("message") or ""
            rows.append(row(f"`{shown}`", label or "all runs", text(e.run.seed), e.status, cell(message)))
        lines += ["", "Matching runs on the recipe that are listed but not averaged (*other commit*: not the "
                      "commit of this report; *dirty tree*: uncommitted changes, counted only with --allow-dirty).",
                  "", *rows]
    else:
        lines += ["", "None: every matching run on the recipe completed and was averaged."]
    if ctx.skipped:
        lines += ["", "Skipped (not read at all):", ""]
        lines += [f"- `{ctx.rel(p)}`: {skip_reason(p)}" for p in ctx.skipped]
    return "\n".join(lines)


def off_recipe(ctx: ReportContext) -> str:
    seen: dict[str, tuple[OffRecipe, str]] = {}
    for result in ctx.results:
        for o in result.off_recipe:
            seen.setdefault(ctx.shown(o.run), (o, config_label(result.claim.select)))
    if not seen:
        return ""
    rows = [row("run", "configuration", "seed", "status", "off the recipe"), row("---", "---", "---", "---", "---")]
    for shown in sorted(seen):
        o, label = seen[shown]
        changed = [str(d) for d in o.differences]
        more = len(changed) - MAX_DIFFERENCES
        keys = "; ".join(changed[:MAX_DIFFERENCES]) + (f"; and {more} more" if more > 0 else "")
        rows.append(row(f"`{shown}`", label or "all runs", text(o.run.seed), o.run.status, cell(keys)))
    intro = ("Runs a claim's select matches whose config leaves the recipe (the stage's config as composed from "
             "conf/) outside the allow-list (seed, device, threads, logger, launcher, paths and claims.yaml's "
             "`allow`). They answer no claim and are never averaged.")
    return "## Runs off the recipe\n\n" + intro + "\n\n" + "\n".join(rows)
