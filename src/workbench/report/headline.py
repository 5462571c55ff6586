"""REPORT.md's first sections: the headline, the claims and their verdicts, and the runs not averaged.

The headline says first what a reader would quote and what it rests on: the verdict counts, the
commit, the runs and seeds, and the deviations that make claims not comparable or change the recipe.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from workbench.claims.schema import Claim, tolerance_width
from workbench.report.compare import ClaimResult, Excluded, OffRecipe, Side, runs_of
from workbench.report.context import ReportContext
from workbench.report.format import (bound_text, cell, config_label, format_number, metric_name, plus_minus, quote, row,
                                     signed, source, text, unit_suffix, verdict_label)
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


VERDICT_ICONS = {"reproduced": "✅", "inconclusive": "⚠️", "not reproduced": "❌", "not comparable": "➖", "missing": "❔"}
TABLE_NOTE = ("Δ is ours − paper (× ours / paper where the claim is judged on the log scale); tolerance is the band "
              "around the paper's value that counts as reproduced. How verdicts are decided, and each claim's details: "
              "*Claim details*, below the figures.")
LEGEND = " · ".join(f"{VERDICT_ICONS[v]} {v}" for v in VERDICTS) + ". " + TABLE_NOTE


@dataclass(frozen=True)
class ClaimRow:
    """One claim as the claims table shows it: plain text, escaped by whoever renders it."""

    claim_id: str
    labels: tuple[str, ...]  # the paper's row and column (blank where the row above has the same)
    paper: str
    ours: str
    delta: str
    tolerance: str
    verdict: str  # one of VERDICTS
    verdict_text: str  # "not reproduced (worse)", "inconclusive: ~7 seeds would decide"
    one_run: bool

    @property
    def icon(self) -> str:
        return VERDICT_ICONS[self.verdict]


@dataclass(frozen=True)
class ClaimTable:
    """The claims of one of the paper's tables (or sections), in the paper's order."""

    title: str  # "Table 1", or FROM_THE_TEXT
    caption: str | None
    label_names: tuple[str, ...]  # ("row", "column"), ("row",), ("claim",) or ("where", "claim")
    rows: list[ClaimRow]


FROM_THE_TEXT = "From the text"  # claims from a section, a figure or nowhere said: one table, "where" first


def claim_tables(ctx: ReportContext) -> list[ClaimTable]:
    """The results grouped by the numbered table of the paper they come from, in order of first
    appearance; the claims the paper makes elsewhere (§5.2, a figure) together, each with its place."""
    groups: dict[str, list[ClaimResult]] = {}
    for result in ctx.results:
        table = result.claim.source.table
        groups.setdefault(table_title(table) if is_numbered(table) else FROM_THE_TEXT, []).append(result)
    return [_claim_table(title, results) for title, results in groups.items()]


def is_numbered(table: int | str | None) -> bool:
    return table is not None and str(table).strip().isdigit()


def table_title(table: int | str | None) -> str:
    """ "Table 1" for a table's number, the paper's own words otherwise ("§5.2"), "—" for none."""
    if table is None or str(table).strip() == "":
        return "—"
    return f"Table {str(table).strip()}" if is_numbered(table) else " ".join(str(table).split())


def _claim_table(title: str, results: list[ClaimResult]) -> ClaimTable:
    sources = [r.claim.source for r in results]
    if title == FROM_THE_TEXT:
        names: tuple[str, ...] = ("where", "claim")
    else:
        names = tuple(name for name in ("row", "column") if any(getattr(s, name) for s in sources)) or ("claim",)
    rows, above = [], ("",) * len(names)
    for r in results:
        labels = _labels(r.claim, names)
        # the row label is left blank under the same row, as a paper's table spans it; the last label always shows
        shown = tuple("" if i < len(names) - 1 and labels[: i + 1] == above[: i + 1] else label
                      for i, label in enumerate(labels))
        rows.append(_claim_row(r, shown))
        above = labels
    caption = sources[0].caption if all(s.caption == sources[0].caption for s in sources) else None
    return ClaimTable(title, caption, names, rows)


def _claim_row(r: ClaimResult, labels: tuple[str, ...]) -> ClaimRow:
    j = r.judgement
    one_run = r.answered and any(len(side.values) == 1 for side in r.sides)
    return ClaimRow(r.claim.id, labels, paper_cell(r.claim), ours_cell(r), delta_cell(r), tolerance_cell(r.claim),
                    r.verdict, verdict_label(j.verdict, j.direction, j.seeds_needed), one_run)


def _labels(c: Claim, names: tuple[str, ...]) -> tuple[str, ...]:
    """The paper's row and column of a claim; a claim without them is named by what it measures."""
    s = c.source
    if names == ("where", "claim"):
        return (table_title(s.table), " · ".join(p for p in (s.row, s.column) if p) or claim_name(c))
    if names == ("claim",):
        return (claim_name(c),)
    return (s.row or claim_name(c), s.column or "—")[: len(names)]


def claim_name(c: Claim) -> str:
    """What a claim measures, in words: "test accuracy", "train memorise epoch < test grok epoch"."""
    if c.kind == "value":
        return metric_name(c.metric)
    if c.kind == "order":
        return f"{metric_name(c.metric)} < {metric_name(c.versus_metric or c.metric)}"
    return f"{c.kind} of {metric_name(c.metric)}"


def claims(ctx: ReportContext) -> str:
    if not ctx.results:
        return "## Claims\n\nNo confirmed claims yet: confirm them in claims.yaml (`workbench claims <name>`)."
    blocks = ["## Claims", LEGEND]
    for table in claim_tables(ctx):
        header = ["", *table.label_names, "paper", "ours (mean ± std, n)", "Δ", "tolerance", "verdict"]
        lines = [row(*header), row(":-:", *("---" for _ in table.label_names), "---:", "---:", "---:", "---:", "---")]
        for r in table.rows:
            verdict = f"**{r.verdict_text}**" + (" (1 run)" if r.one_run else "")
            lines.append(row(r.icon, *(cell(label) for label in r.labels), cell(r.paper), cell(r.ours), r.delta,
                             cell(r.tolerance), verdict))
        caption = [f"*{cell(table.caption)}*"] if table.caption else []
        blocks.append("\n\n".join([f"### {cell(table.title)}", *caption, "\n".join(lines)]))
    return "\n\n".join(blocks)


def claim_details(ctx: ReportContext) -> str:
    """The verdict rule, then every claim: its quote, source, select, tolerance, intervals and seeds."""
    if not ctx.results:
        return ""
    return "## Claim details\n\n" + RULE + "\n\n" + "\n".join(claim_detail(ctx, r) for r in ctx.results)


def paper_cell(c: Claim) -> str:
    if c.kind == "value":
        return plus_minus(c.value, c.std, None, c.unit)
    low, high = (c.bound.min, c.bound.max) if c.bound is not None else (None, None)
    return bound_text(c.kind, low, high)


def ours_cell(r: ClaimResult) -> str:
    """Our mean ± std (n); a relative claim's statistic and the runs a side, an order's two means."""
    if r.versus is None:
        return side_text(r.side, r.claim.unit)
    a, b = r.side.stats, r.versus.stats
    if a is None or b is None:
        return "—"
    counts = f"(n={a.n} vs {b.n})"
    if r.claim.kind == "order":
        return f"{format_number(a.mean)} vs {format_number(b.mean)}{unit_suffix(r.claim.unit)} {counts}"
    return f"{r.claim.kind} {format_number(r.statistic)} {counts}"


def side_text(side: Side, unit: str) -> str:
    s = side.stats
    return plus_minus(s.mean, s.std, s.n, unit) if s else "—"


def delta_cell(r: ClaimResult) -> str:
    """Ours − paper for a value claim, and ours / paper beside it where the verdict is on the log scale."""
    c = r.claim
    if c.kind != "value" or r.stats is None:
        return "—"
    shown = signed(r.stats.mean - c.value) + unit_suffix(c.unit)
    if r.judgement.scale == "log" and c.value > 0 and r.stats.mean > 0:
        shown += f" (×{format_number(r.stats.mean / c.value)})"
    return shown


def tolerance_cell(c: Claim) -> str:
    return f"±{format_number(tolerance_width(c))}{unit_suffix(c.unit)}" if c.kind == "value" else "—"


def claim_detail(ctx: ReportContext, r: ClaimResult) -> str:
    c, j = r.claim, r.judgement
    head = f"- `{c.id}`: {quote(c.quote)} ({source(c)}); metric `{c.metric}`, goal {c.goal}, select `{config_label(c.select) or 'all runs'}`"
    if r.versus is not None:
        head += f", versus `{config_label(r.versus.select) or 'all runs'}` (metric `{r.versus.metric}`)"
    parts = [head]
    if c.kind == "value":
        parts.append(f"paper {plus_minus(c.value, c.std, c.n_seeds, c.unit)}")
        parts.append(f"tolerance ±{format_number(tolerance_width(c))}{unit_suffix(c.unit)} ({tolerance_kind(c)})")
    else:
        parts.append(f"ours {' vs '.join(side_text(side, c.unit) for side in r.sides)}")
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
    if c.note:
        parts.append(f"note: {c.note}")
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
    for side in (side for result in ctx.results for side in result.sides):  # a run is labelled by its own side
        for e in side.excluded:
            seen.setdefault(ctx.shown(e.run), (e, config_label(side.select)))
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
    for side in (side for result in ctx.results for side in result.sides):
        for o in side.off_recipe:
            seen.setdefault(ctx.shown(o.run), (o, config_label(side.select)))
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
