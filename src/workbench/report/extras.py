"""The report's analysis beyond the claims table and learning curves.

- paper vs ours per claim: the paper's value ± its std, our mean with its 95% t interval, and
  the tolerance band, one figure per metric;
- sweeps: a numeric override with 3+ values across runs (optim.lr=1e-3,1e-2,1e-1), the claimed
  metric against it, mean ± std over seeds per series;
- worst-classified examples and attention maps, from analysis.json (keys documented in
  workbench/experiment.py);
- a paper's own figures: `papers/<name>/figures.py` defines
  `figures(runs: list[dict]) -> dict[str, matplotlib.figure.Figure]`, each run a dict with
  "path" (Path of the run folder), "config", "summary", "seed" and "status";
- beyond the paper: runs whose config has `data.beyond_paper: "<what it adds>"`, mean ± std of
  their metrics, never a verdict;
- warnings about the inputs (skipped runs, corrupt metrics.jsonl lines, unlogged metrics).
"""

from __future__ import annotations

import math
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

from workbench.claims.schema import tolerance_width
from workbench.files import shown_path
from workbench.project import load_paper_module
from workbench.report.write import (
    ClaimResult,
    RunRecord,
    _cell,
    _config_label,
    _Context,
    _Figures,
    format_number,
    _new_figure,
    _png,
    _row,
    _runs_of,
    _slug,
    _text,
    is_beyond_paper,
)
from workbench.report.stats import summarize

VERDICT_COLORS = {"reproduced": "#2ca02c", "better": "#1f77b4", "worse": "#d62728", "inconclusive": "#ff7f0e",
                  "missing": "#7f7f7f"}
NOT_SWEPT = ("seed", "stage", "debug", "logger", "paths", "hydra", "trainer.threads", "trainer.progress",
             "trainer.device")
MAX_WORST = 8
MAX_HEADS = 8


def add_figures(ctx: _Context, figs: _Figures) -> None:
    _paper_vs_ours(ctx, figs)
    _sweeps(ctx, figs)
    _worst_examples(ctx, figs)
    _attention(ctx, figs)
    _paper_figures(ctx, figs)


# --- paper vs ours -----------------------------------------------------------------------------


def _paper_vs_ours(ctx: _Context, figs: _Figures) -> None:
    by_metric: dict[tuple[str, str], list[ClaimResult]] = defaultdict(list)
    for result in ctx.results:
        by_metric[(result.claim.metric, result.claim.unit)].append(result)
    for (metric, unit), results in sorted(by_metric.items()):
        name = f"claims_{_slug(metric)}.png"
        figs.pngs[name] = _paper_vs_ours_png(metric, unit, results)
        figs.extra["paper_vs_ours"].append((metric, name))


def _paper_vs_ours_png(metric: str, unit: str, results: list[ClaimResult]) -> bytes:
    fig, ax = _new_figure(9.0, 1.2 + 0.45 * len(results))
    for y, r in enumerate(results):
        c = r.claim
        tol = tolerance_width(c)
        ax.fill_betweenx([y - 0.35, y + 0.35], c.value - tol, c.value + tol, color="#e8e8e8", linewidth=0)
        ax.errorbar(c.value, y - 0.12, xerr=c.std or 0.0, fmt="s", color="black", capsize=3, markersize=5,
                    label="paper ± std" if y == 0 else None)
        if r.stats is not None:
            lo, hi = r.stats.ci95
            xerr = [[r.stats.mean - lo], [hi - r.stats.mean]] if math.isfinite(lo) and math.isfinite(hi) else None
            ax.errorbar(r.stats.mean, y + 0.12, xerr=xerr, fmt="o", color=VERDICT_COLORS[r.verdict], capsize=3,
                        markersize=5, label=f"ours, {r.verdict}")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_yticks(range(len(results)), [r.claim.id for r in results], fontsize=8)
    ax.set_ylim(len(results) - 0.5, -0.5)
    ax.set_xlabel(f"{metric}{' (' + unit + ')' if unit else ''}")
    ax.set_title("paper vs ours: ours is mean with 95% t interval; grey is the tolerance band", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def md_paper_vs_ours(figs: _Figures) -> str:
    items = figs.extra.get("paper_vs_ours")
    if not items:
        return ""
    images = [f"![paper vs ours, {metric}](figures/{name})" for metric, name in items]
    return "## Paper vs ours\n\n" + "\n\n".join(images)


# --- sweeps ------------------------------------------------------------------------------------


def _overrides(run: RunRecord) -> dict[str, str]:
    """overrides.yaml as typed ("optim.lr=0.01"), as key -> value text; + and ~ prefixes dropped."""
    out = {}
    for item in run.overrides():
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.lstrip("+~")] = value
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _sweeps(ctx: _Context, figs: _Figures) -> None:
    runs = [r for r in ctx.runs if r.status == "completed" and r.stage == ctx.stage and not is_beyond_paper(r)]
    overrides = {str(r.path): _overrides(r) for r in runs}
    values_of: dict[str, set[float]] = defaultdict(set)
    for ov in overrides.values():
        for key, text in ov.items():
            number = _number(text)
            if number is not None and not key.startswith(NOT_SWEPT):
                values_of[key].add(number)
    swept = sorted(k for k, values in values_of.items() if len(values) >= 3)
    for key in swept:
        for metric in sorted({r.claim.metric for r in ctx.results}):
            png = _sweep_png(key, metric, runs, overrides)
            if png is not None:
                name = f"sweep_{_slug(key)}_{_slug(metric)}.png"
                figs.pngs[name] = png
                figs.extra["sweeps"].append((f"{metric} against {key}", name))


def _sweep_png(key: str, metric: str, runs: list[RunRecord], overrides: dict[str, dict[str, str]]) -> bytes | None:
    """One line per series (the other overrides, seed aside), mean ± std over seeds at each value."""
    series: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        ov = overrides[str(run.path)]
        x, y = _number(ov.get(key, "")), run.metric(metric)
        if x is None or y is None or not math.isfinite(y):
            continue
        label = ", ".join(f"{k}={v}" for k, v in sorted(ov.items()) if k != key and not k.startswith(NOT_SWEPT))
        series[label][x].append(y)
    if not series:
        return None
    fig, ax = _new_figure(8.0, 4.0)
    xs_all = []
    for label, points in sorted(series.items()):
        xs = sorted(points)
        xs_all += xs
        stats = [summarize(points[x]) for x in xs]
        ax.errorbar(xs, [s.mean for s in stats], yerr=[s.std for s in stats], marker="o", capsize=3,
                    label=f"{label or 'all runs'}")
    if min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 100:
        ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {key}: mean ± std over seeds", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return _png(fig)


def md_sweeps(figs: _Figures) -> str:
    items = figs.extra.get("sweeps")
    if not items:
        return ""
    return "## Sweeps\n\n" + "\n\n".join(f"![{caption}](figures/{name})" for caption, name in items)


# --- analysis.json: worst examples and attention ----------------------------------------------


def _first_analysis_with(ctx: _Context, key: str) -> list[tuple[str, RunRecord, Any]]:
    """(configuration label, run, analysis[key]) for the lowest-seed run of each configuration that has it."""
    found = []
    for label, results in ctx.configurations().items():
        for run in sorted(_runs_of(results), key=lambda r: (r.seed is None, r.seed or 0)):
            data = run.analysis()
            if isinstance(data, dict) and data.get(key) is not None:
                found.append((label, run, data[key]))
                break
    return found


def _valid_examples(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list) or not all(isinstance(e, dict) and {"true", "predicted"} <= set(e) for e in value):
        return None
    return value[:MAX_WORST]


def _worst_examples(ctx: _Context, figs: _Figures) -> None:
    for label, run, value in _first_analysis_with(ctx, "worst_examples"):
        examples = _valid_examples(value)
        where = f"{ctx.rel(run.path)}/analysis.json"
        if examples is None:
            ctx.warnings.append(f"{where}: 'worst_examples' is not a list of {{true, predicted, ...}}; left out")
            continue
        name = None
        if all(_signal(e) is not None for e in examples) and examples:
            name = f"worst_{_slug(label)}.png"
            figs.pngs[name] = _worst_png(examples, label)
        figs.extra["worst"].append((label, _worst_block(label, where, examples, name)))


def _signal(example: dict[str, Any]) -> list[float] | None:
    x = example.get("input")
    if isinstance(x, list) and x and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
        return [float(v) for v in x]
    return None


def _worst_png(examples: list[dict[str, Any]], label: str) -> bytes:
    cols = min(4, len(examples))
    rows = math.ceil(len(examples) / cols)
    fig, _ = _new_figure(2.6 * cols, 1.9 * rows)
    fig.clear()
    for i, e in enumerate(examples):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot(_signal(e), color="#1f77b4", linewidth=1)
        confidence = e.get("confidence")
        shown = f" ({format_number(100 * confidence)}%)" if isinstance(confidence, (int, float)) else ""
        ax.set_title(f"#{_text(e.get('index'))}: {_text(e['true'])} → {_text(e['predicted'])}{shown}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{label or 'all runs'}: most confidently wrong (true → predicted)", fontsize=9)
    return _png(fig)


def _worst_block(label: str, where: str, examples: list[dict[str, Any]], png: str | None) -> str:
    rows = [_row("example", "true", "predicted", "confidence"), _row("---:", "---", "---", "---:")]
    for e in examples:
        confidence = e.get("confidence")
        rows.append(_row(_text(e.get("index")), _cell(e["true"]), _cell(e["predicted"]),
                         format_number(100 * confidence) + "%" if isinstance(confidence, (int, float)) else "—"))
    lines = [f"### {label or 'all runs'}", "", f"From `{where}`.", ""]
    if png:
        lines += [f"![worst examples, {label}](figures/{png})", ""]
    return "\n".join(lines + rows)


def md_worst_examples(figs: _Figures) -> str:
    items = figs.extra.get("worst")
    if not items:
        return ""
    return "## Worst-classified examples\n\n" + "\n\n".join(block for _, block in items)


def _valid_attention(value: Any) -> tuple[str, list[str], list[list[list[float]]]] | None:
    """The analysis.json "attention" contract: {"title": str, "tokens": [str], "maps": heads × query × key}."""
    if not isinstance(value, dict):
        return None
    tokens, maps = value.get("tokens"), value.get("maps")
    if not isinstance(tokens, list) or not isinstance(maps, list) or not maps:
        return None
    m = len(tokens)
    for head in maps:
        if not isinstance(head, list) or not head or len(head) > m:
            return None
        for row in head:
            if not isinstance(row, list) or len(row) != m or not all(isinstance(v, (int, float)) for v in row):
                return None
    return str(value.get("title") or ""), [str(t) for t in tokens], maps


def _attention(ctx: _Context, figs: _Figures) -> None:
    for label, run, value in _first_analysis_with(ctx, "attention"):
        parsed = _valid_attention(value)
        where = f"{ctx.rel(run.path)}/analysis.json"
        if parsed is None:
            ctx.warnings.append(f"{where}: 'attention' is not {{title, tokens, maps: heads × query × key}}; left out")
            continue
        name = f"attention_{_slug(label)}.png"
        figs.pngs[name] = _attention_png(*parsed, label)
        figs.extra["attention"].append((f"{label or 'all runs'}: {parsed[0]} (from `{where}`)", name))


def _attention_png(title: str, tokens: list[str], maps: list[list[list[float]]], label: str) -> bytes:
    heads = maps[:MAX_HEADS]
    n, m = len(heads[0]), len(tokens)
    size = max(2.2, min(5.0, 0.3 * m + 1.0))
    fig, _ = _new_figure(size * len(heads) + 0.6, size + 0.8)
    fig.clear()
    queries = tokens[m - n:]  # fewer queries than keys: the last n positions ask
    for h, weights in enumerate(heads):
        ax = fig.add_subplot(1, len(heads), h + 1)
        ax.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
        ax.set_xticks(range(m), tokens, fontsize=7, rotation=90)
        ax.set_yticks(range(n), queries if h == 0 else [""] * n, fontsize=7)
        ax.set_title(f"head {h}", fontsize=8)
        ax.set_xlabel("key", fontsize=7)
    fig.suptitle(f"{label or 'all runs'}: {title}" if title else (label or "attention"), fontsize=9)
    return _png(fig)


def md_attention(figs: _Figures) -> str:
    items = figs.extra.get("attention")
    if not items:
        return ""
    blocks = [f"{caption}\n\n![attention, {caption}](figures/{name})" for caption, name in items]
    return "## Attention maps\n\nRows are queries, columns keys; one panel per head.\n\n" + "\n\n".join(blocks)


# --- the paper's own figures -------------------------------------------------------------------


def _paper_figures(ctx: _Context, figs: _Figures) -> None:
    path = ctx.paper_dir / "figures.py"
    if not path.is_file():
        return
    where = shown_path(path)
    try:
        made = _load_figures_function(path)(_runs_for_paper(ctx))
    except Exception as exc:  # the paper's code: report it, still write the report
        last = traceback.extract_tb(exc.__traceback__)[-1]
        ctx.warnings.append(f"{where}: figures() raised {type(exc).__name__}: {exc} (at {Path(last.filename).name}:"
                            f"{last.lineno}); its figures are left out")
        return
    if not isinstance(made, dict):
        ctx.warnings.append(f"{where}: figures() must return a dict of name -> matplotlib Figure, got "
                            f"{type(made).__name__}; left out")
        return
    for title, fig in sorted(made.items(), key=lambda kv: str(kv[0])):
        if not hasattr(fig, "savefig"):
            ctx.warnings.append(f"{where}: figures()[{title!r}] is a {type(fig).__name__}, not a matplotlib Figure; left out")
            continue
        title = str(title).removesuffix(".png")
        name = f"paper_{_slug(title)}.png"
        try:
            figs.pngs[name] = _png(fig, tight=False)  # the paper's layout is the paper's choice
        except Exception as exc:
            ctx.warnings.append(f"{where}: figures()[{title!r}] could not be drawn ({type(exc).__name__}: {exc}); left out")
            continue
        finally:
            _close(fig)
        figs.extra["paper"].append((title, name))


def _load_figures_function(path: Path):
    function = getattr(load_paper_module(path.parent, "figures"), "figures", None)
    if not callable(function):
        raise AttributeError("it defines no function figures(runs)")
    return function


def _runs_for_paper(ctx: _Context) -> list[dict[str, Any]]:
    """The runs of the reported stage, newest first (a prototype run must not stand in for the recipe)."""
    runs = sorted((r for r in ctx.runs if r.stage == ctx.stage), key=lambda r: r.path.name, reverse=True)
    return [{"path": r.path, "config": r.config, "summary": r.summary, "seed": r.seed, "status": r.status}
            for r in runs]


def _close(fig: Any) -> None:
    """A pyplot figure stays in pyplot's registry until closed; ours (no pyplot) need nothing."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)


def md_paper_figures(figs: _Figures) -> str:
    items = figs.extra.get("paper")
    if not items:
        return ""
    return ("## Paper figures\n\nDrawn by the paper's own `figures.py`.\n\n"
            + "\n\n".join(f"### {title}\n\n![{title}](figures/{name})" for title, name in items))


# --- beyond the paper --------------------------------------------------------------------------


def md_beyond_paper(ctx: _Context) -> str:
    runs = [r for r in ctx.runs if is_beyond_paper(r) and r.stage == ctx.stage]
    if not runs:
        return ""
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        groups[" ".join(str(run.config["data"]["beyond_paper"]).split())].append(run)
    rows = [_row("what", "runs", "metric", "mean ± std (n)"), _row("---", "---:", "---", "---")]
    notes = []
    for what, members in sorted(groups.items()):
        done = [r for r in members if r.status == "completed"]
        for r in members:
            if r.status != "completed":
                notes.append(f"- `{ctx.rel(r.path)}` ({_cell(what)}): {r.status}, not averaged")
        metrics = sorted({k for r in done for k in r.logged_metrics()})
        for metric in metrics:
            values = [v for r in done if (v := r.metric(metric)) is not None and math.isfinite(v)]
            if values:
                s = summarize(values)
                rows.append(_row(_cell(what), str(len(done)), f"`{metric}`", f"{format_number(s.mean)} ± {format_number(s.std)} (n={s.n})"))
        if not metrics:
            rows.append(_row(_cell(what), str(len(done)), "—", "no completed run"))
    intro = ("Runs the paper never made (config `data.beyond_paper`), shown as measured: there is no claim to "
             "compare them with, so no verdict.")
    return "## Beyond the paper\n\n" + intro + "\n\n" + "\n".join(rows + ([""] + notes if notes else []))


# --- warnings ----------------------------------------------------------------------------------


def md_warnings(ctx: _Context) -> str:
    if not ctx.warnings:
        return ""
    return "## Warnings about the inputs\n\n" + "\n".join(f"- {_cell(w)}" for w in ctx.warnings)

