"""The report's figures from metrics and claims, and the matplotlib helpers every figure uses.

- learning curves: per claimed metric, the mean ± std over seeds of each configuration against
  the step, from metrics.jsonl, with the paper's values dashed black;
- paper vs ours per value claim: the paper's value ± its std, our mean with the 90% and 95%
  intervals the verdict rests on, and the tolerance band, one figure per metric;
- sweeps: a numeric override with 3+ values across the runs the report names
  (optim.lr=1e-3,1e-2,1e-1), the claimed metric against it, mean ± std over seeds per series;
- a paper's own figures: `papers/<name>/figures.py` defines
  `figures(runs: list[dict]) -> dict[str, matplotlib.figure.Figure]`, the runs the report names
  (their evidence is committed, so a fresh clone draws the same figures), each a dict with
  "path" (Path of the run folder), "config", "summary", "seed" and "status"; its metrics.jsonl
  rows come from `workbench.read_metrics(run)`.

Each function hands its figures to a Drawings (report/drawing.py: each is drawn as a 200 dpi PNG
and an SVG, in worker processes where there are cores) and returns what its REPORT.md section
shows; the paper's own figures are drawn here, in the report's process. Neither carries a version stamp or a random id, so the
same runs give the same bytes. The axes name metrics in words with the claims' unit; positive
values spanning more than two decades get a log axis, where a spread is drawn as the range the
seeds reached (never below zero); a metric that does not change over steps gets no curve; the
paper's values are dashed black; the colours are Okabe and Ito's colour-blind-safe palette.
"""

from __future__ import annotations

import math
import sys
import textwrap
import traceback
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

from workbench.claims.schema import tolerance_width
from workbench.files import shown_path
from workbench.project import load_paper_module
from workbench.report.compare import ClaimResult, is_beyond_paper
from workbench.report.context import Image, ReportContext
from workbench.report.drawing import Drawings, new_figure, store
from workbench.report.format import axis_label, config_label, metric_name, slug, text
from workbench.report.headline import table_title
from workbench.report.stats import summarize
from workbench.run.record import RunRecord

# Okabe & Ito's colour-blind-safe palette (black left out: it is the paper's); verdicts use the same colours.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
PAPER_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.2}
VERDICT_COLORS = {"reproduced": "#009E73", "not reproduced": "#D55E00", "inconclusive": "#E69F00",
                  "not comparable": "#CC79A7", "missing": "#999999"}
MAX_LINES = 4  # configurations in one learning-curve panel; past it, small multiples
MAX_LABEL = 60  # characters of a claim's label beside its row
LOG_SPAN = 100.0  # positive values spanning more than two decades get a log axis
NOT_SWEPT = ("seed", "stage", "debug", "logger", "paths", "hydra", "trainer.threads", "trainer.progress",
             "trainer.device")


# --- matplotlib ---------------------------------------------------------------------------------


def spans_decades(values: Iterable[float], span: float = LOG_SPAN) -> bool:
    """Whether values are all positive and span more than two decades: then a log axis shows them."""
    xs = [v for v in values if math.isfinite(v)]
    return bool(xs) and min(xs) > 0 and max(xs) / min(xs) > span


def colours(labels: Iterable[str]) -> dict[str, str]:
    """One palette colour per label in sorted order, cycling past seven."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}


def legend_outside(ax: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))  # one entry per label: "paper" is drawn once per configuration
    if "paper" in unique:
        unique["paper"] = unique.pop("paper")  # last, after ours
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


# --- learning curves ---------------------------------------------------------------------------


def learning_curves(ctx: ReportContext, drawings: Drawings) -> dict[str, str]:
    """One figure per claimed metric that changes over steps in metrics.jsonl; returns metric -> png name.
    A metric logged once, or with one value throughout (grok_epoch), is a scalar: paper vs ours shows it."""
    names = {}
    for metric in sorted({side.metric for r in ctx.results for side in r.sides}):
        curves = {label: _mean_curve(ctx, runs, metric) for label, runs in ctx.configurations(metric).items()}
        curves = {label: c for label, c in curves.items() if not c.is_scalar}
        if curves:
            names[metric] = f"curve_{slug(metric)}.png"
            drawings.add(names[metric], partial(_learning_curve_figure, ctx, metric, curves), large=True)
    return names


def _curve(ctx: ReportContext, run: RunRecord, metric: str) -> list[tuple[float, float]]:
    """(step, value) of a metric from the run's metrics.jsonl."""
    points = []
    for row in ctx.metric_rows(run):
        value = _row_value(row, metric)
        if value is not None and math.isfinite(value):
            points.append((float(row["step"]), value))
    return points


def _row_value(row: dict[str, Any], metric: str) -> float | None:
    """A metrics.jsonl row's value under a name a claim may use: "test/acc", "test_acc", "acc".
    A split's name ("test/acc") wins over a bare key of the same name; otherwise the first key does.
    One lookup, not a dict of every name: a report reads tens of thousands of rows."""
    split = row.get("split")
    found = None
    for key, value in row.items():
        if key in ("step", "split") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if key == metric and found is None:
            found = float(value)
        if isinstance(split, str) and metric in (f"{split}/{key}", f"{split}_{key}"):
            found = float(value)
    return found


@dataclass
class Curve:
    """A configuration's metric over steps: the mean over seeds, and the band drawn around it."""

    steps: list[float]
    means: list[float]
    below: list[float]  # mean − std
    above: list[float]  # mean + std
    lowest: list[float]  # min over seeds: a log axis shows the range, never a band below zero
    highest: list[float]
    runs: int

    @property
    def is_scalar(self) -> bool:
        return len(set(self.steps)) < 2 or len(set(self.means)) < 2


def _mean_curve(ctx: ReportContext, runs: list[RunRecord], metric: str) -> Curve:
    """Mean over seeds at each step any seed logged, with mean ± std (ddof=1) and the min and max."""
    by_step: dict[float, list[float]] = defaultdict(list)
    for run in runs:
        for step, value in _curve(ctx, run, metric):
            by_step[step].append(value)
    steps = sorted(by_step)
    spread = [_mean_std(by_step[s]) for s in steps]
    return Curve(steps, [m for m, _ in spread], [m - d for m, d in spread], [m + d for m, d in spread],
                 [min(by_step[s]) for s in steps], [max(by_step[s]) for s in steps], len(runs))


def _mean_std(xs: list[float]) -> tuple[float, float]:
    """For curves only: float arithmetic; summarize's exact rounding and t quantile cost 50x more."""
    mean = math.fsum(xs) / len(xs)
    if len(xs) < 2:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def _paper_values(ctx: ReportContext, metric: str) -> dict[str, list[float]]:
    """Configuration label -> the paper's values of the value claims on this metric."""
    found: dict[str, set[float]] = defaultdict(set)
    for r in ctx.results:
        if r.claim.kind == "value" and r.claim.metric == metric:
            found[config_label(r.claim.select)].add(float(r.claim.value))
    return {label: sorted(values) for label, values in found.items()}


def _unit_of(ctx: ReportContext, metric: str) -> str:
    """The unit the value claims on a metric give it (a relative claim's unit is its statistic's)."""
    claims = [r.claim for r in ctx.results if r.claim.metric == metric]
    units = {c.unit for c in claims if c.kind == "value" and c.unit} or {c.unit for c in claims if c.unit}
    return units.pop() if len(units) == 1 else ""


def _panels(selects: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Panel title -> {configuration label -> its line's label}. Past MAX_LINES configurations, one
    panel per value of the select key with the fewest values (data=standard | data=shuffled), each
    line named by the rest of its select, so that a line keeps its colour from panel to panel."""
    keys = set.intersection(*(set(s) for s in selects.values())) if selects else set()
    counts = {k: len({text(s[k]) for s in selects.values()}) for k in keys}
    split = sorted((n, k) for k, n in counts.items() if n >= 2)
    if len(selects) <= MAX_LINES or not split:
        return {"": {label: label or "all runs" for label in selects}}
    key = split[0][1]
    panels: dict[str, dict[str, str]] = defaultdict(dict)
    for label, select in selects.items():
        rest = config_label({k: v for k, v in select.items() if k != key})
        panels[f"{key}={text(select[key])}"][label] = rest or "all runs"
    return dict(sorted(panels.items()))


def _learning_curve_figure(ctx: ReportContext, metric: str, curves: dict[str, Curve]) -> Any:
    paper = _paper_values(ctx, metric)
    selects = {config_label(side.select): side.select for r in ctx.results for side in r.sides}
    panels = _panels({label: selects.get(label, {}) for label in curves})
    values = [v for c in curves.values() for v in (*c.lowest, *c.highest)]
    values += [v for label in curves for v in paper.get(label, [])]
    log_y = spans_decades(values)
    log_x = spans_decades(s for c in curves.values() for s in c.steps)
    fig, _ = new_figure(3.0 + 5.0 * len(panels) if len(panels) > 1 else 9.5, 4.2)
    fig.clear()
    axes = [fig.add_subplot(1, len(panels), i + 1) for i in range(len(panels))]
    colour_of = colours(name for lines in panels.values() for name in lines.values())
    for ax, (title, lines) in zip(axes, panels.items()):
        for label, name in sorted(lines.items(), key=lambda kv: kv[1]):
            _draw_curve(ax, curves[label], paper.get(label, []), colour_of[name], f"{name} (n={curves[label].runs})",
                        log_y)
        ax.set_xscale("log" if log_x else "linear")
        ax.set_yscale("log" if log_y else "linear")
        ax.set_xlabel("training step" + (" (log scale)" if log_x else ""))
        if title:
            ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    _share_y(axes)
    axes[0].set_ylabel(axis_label(metric, _unit_of(ctx, metric)) + (" (log scale)" if log_y else ""))
    band = "min–max" if log_y else "± std"
    title = f"{metric_name(metric)}: mean over seeds, band {band}; dashed black: the paper"
    if len(axes) > 1:
        fig.suptitle(title, fontsize=10)
    else:
        axes[0].set_title(title, fontsize=10)
    legend_outside(axes[-1])
    return fig


def _draw_curve(ax: Any, c: Curve, paper: list[float], colour: str, label: str, log_y: bool) -> None:
    ax.plot(c.steps, c.means, color=colour, linewidth=1.6, label=label)
    low, high = (c.lowest, c.highest) if log_y else (c.below, c.above)
    ax.fill_between(c.steps, low, high, color=colour, alpha=0.18, linewidth=0)
    for value in paper:
        ax.axhline(value, label="paper", **PAPER_STYLE)
        ax.annotate("paper", (0.995, value), xycoords=("axes fraction", "data"), xytext=(0, 1.5),
                    textcoords="offset points", fontsize=7, color=colour, ha="right", va="bottom")


def _share_y(axes: list[Any]) -> None:
    """Panels side by side on one y range, so that their heights compare."""
    if len(axes) < 2:
        return
    low = min(ax.get_ylim()[0] for ax in axes)
    high = max(ax.get_ylim()[1] for ax in axes)
    for ax in axes:
        ax.set_ylim(low, high)


# --- paper vs ours -----------------------------------------------------------------------------


def paper_vs_ours(ctx: ReportContext, drawings: Drawings) -> list[Image]:
    """One figure per claimed metric (and unit), every value claim of it a row."""
    by_metric: dict[tuple[str, str], list[ClaimResult]] = defaultdict(list)
    for result in (r for r in ctx.results if r.claim.kind == "value"):
        by_metric[(result.claim.metric, result.claim.unit)].append(result)
    images = []
    for (metric, unit), results in sorted(by_metric.items()):
        name = f"claims_{slug(metric)}.png"
        drawings.add(name, partial(_paper_vs_ours_figure, metric, unit, results), large=True)
        images.append(Image(axis_label(metric, unit), name))
    return images


def _claim_label(r: ClaimResult) -> str:
    """A claim as the paper's table names it: "MNIST-1D · CNN"; where it gives neither, the table or section."""
    parts = [p for p in (r.claim.source.row, r.claim.source.column) if p]
    where = table_title(r.claim.source.table)
    label = " · ".join(parts) if parts else (r.claim.id if where == "—" else where)
    return textwrap.shorten(label, MAX_LABEL, placeholder="…")  # a long label would squeeze the plot away


def _extent(results: list[ClaimResult]) -> list[float]:
    """Every number a paper-vs-ours row draws: the value, its std and band edges, our mean and intervals."""
    xs = []
    for r in results:
        c = r.claim
        tol = tolerance_width(c)
        xs += [c.value, c.value - tol, c.value + tol, c.value - (c.std or 0.0), c.value + (c.std or 0.0)]
        if r.stats is not None:
            xs.append(r.stats.mean)
            xs += [x for iv in (r.judgement.interval90, r.judgement.interval95) if iv is not None for x in iv]
    return [x for x in xs if math.isfinite(x)]


def _paper_vs_ours_figure(metric: str, unit: str, results: list[ClaimResult]) -> Any:
    fig, ax = new_figure(9.0, 1.3 + 0.45 * len(results))
    positives = [x for x in _extent(results) if x > 0]
    centres = [r.claim.value for r in results] + [r.stats.mean for r in results if r.stats is not None]
    judged_on_log = all(r.judgement.scale == "log" for r in results)  # a decade apart is far, for a loss
    log_x = bool(positives) and spans_decades(centres, 10.0 if judged_on_log else LOG_SPAN)
    floor = min(positives) / 2 if log_x else -math.inf  # a log axis shows a range reaching zero or below cut here

    def clip(x: float) -> float:
        return max(x, floor)

    for y, r in enumerate(results):
        c = r.claim
        tol = tolerance_width(c)
        ax.fill_betweenx([y - 0.35, y + 0.35], clip(c.value - tol), c.value + tol, color="#e8e8e8", linewidth=0,
                         label="tolerance band")
        std = c.std or 0.0
        ax.hlines(y - 0.12, clip(c.value - std), c.value + std, color="black", linewidth=1.2)
        ax.plot(c.value, y - 0.12, "s", color="black", markersize=5, label="paper ± std")
        if r.stats is not None:
            colour, mean = VERDICT_COLORS[r.verdict], r.stats.mean
            for interval, width in ((r.judgement.interval95, 1.0), (r.judgement.interval90, 3.0)):
                if interval is not None and all(math.isfinite(x) for x in interval):
                    ax.hlines(y + 0.12, clip(interval[0]), interval[1], color=colour, linewidth=width)
            ax.plot(mean, y + 0.12, "o", color=colour, markersize=5, label=f"ours, {r.verdict}")
    legend_outside(ax)
    ax.set_yticks(range(len(results)), [_claim_label(r) for r in results], fontsize=8)
    ax.set_ylim(len(results) - 0.5, -0.5)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(axis_label(metric, unit) + (" (log scale)" if log_x else ""))
    ax.set_title(f"{metric_name(metric)}, paper vs ours: our mean with its 90% (thick) and 95% (thin) intervals",
                 fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


# --- sweeps ------------------------------------------------------------------------------------


def _overrides(ctx: ReportContext, run: RunRecord) -> dict[str, str]:
    """overrides.yaml as typed ("optim.lr=0.01"), as key -> value text; + and ~ prefixes dropped."""
    out = {}
    for item in ctx.overrides(run):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.lstrip("+~")] = value
    return out


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def sweeps(ctx: ReportContext, drawings: Drawings) -> list[Image]:
    """Each claimed metric against each numeric override the named runs set to 3 or more values."""
    runs = [r for r in ctx.listed if r.status == "completed" and r.stage == ctx.stage and not is_beyond_paper(r)]
    overrides = {str(r.path): _overrides(ctx, r) for r in runs}
    values_of: dict[str, set[float]] = defaultdict(set)
    for ov in overrides.values():
        for key, value in ov.items():
            number = _number(value)
            if number is not None and not key.startswith(NOT_SWEPT):
                values_of[key].add(number)
    swept = sorted(k for k, values in values_of.items() if len(values) >= 3)
    images = []
    for key in swept:
        for metric in sorted({r.claim.metric for r in ctx.results}):
            series = _sweep_series(key, metric, runs, overrides)
            if series:
                name = f"sweep_{slug(key)}_{slug(metric)}.png"
                drawings.add(name, partial(_sweep_figure, key, metric, _unit_of(ctx, metric), series), large=True)
                images.append(Image(f"{metric} against {key}", name))
    return images


def _sweep_series(key: str, metric: str, runs: list[RunRecord],
                  overrides: dict[str, dict[str, str]]) -> dict[str, dict[float, list[float]]]:
    """Series label (the other overrides, seed aside) -> swept value -> the metric of each seed's run."""
    series: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        ov = overrides[str(run.path)]
        x, y = _number(ov.get(key, "")), run.metric(metric)
        if x is None or y is None or not math.isfinite(y):
            continue
        label = ", ".join(f"{k}={v}" for k, v in sorted(ov.items()) if k != key and not k.startswith(NOT_SWEPT))
        series[label][x].append(y)
    return {label: dict(points) for label, points in series.items()}


def _sweep_figure(key: str, metric: str, unit: str, series: dict[str, dict[float, list[float]]]) -> Any:
    """One line per series, mean ± std over seeds at each value."""
    fig, ax = new_figure(8.0, 4.0)
    colour_of = colours(series)
    log_x = spans_decades(x for points in series.values() for x in points)
    log_y = spans_decades(y for points in series.values() for ys in points.values() for y in ys)
    for label, points in sorted(series.items()):
        xs = sorted(points)
        stats = [summarize(points[x]) for x in xs]
        means = [st.mean for st in stats]
        # on a log axis mean − std may reach zero: the bar stops at the lowest seed instead
        low = [max(st.mean - st.std, min(points[x])) if log_y else st.mean - st.std for x, st in zip(xs, stats)]
        high = [st.mean + st.std for st in stats]
        ax.errorbar(xs, means, yerr=[[m - lo for m, lo in zip(means, low)], [h - m for m, h in zip(means, high)]],
                    marker="o", capsize=3, color=colour_of[label], label=f"{label or 'all runs'}")
    ax.set_xscale("log" if log_x else "linear")
    ax.set_yscale("log" if log_y else "linear")
    ax.set_xlabel(key)
    ax.set_ylabel(axis_label(metric, unit) + (" (log scale)" if log_y else ""))
    ax.set_title(f"{metric_name(metric)} against {key}: mean ± std over seeds", fontsize=9)
    legend_outside(ax)
    ax.grid(alpha=0.3)
    return fig


# --- the paper's own figures -------------------------------------------------------------------


def paper_figures(ctx: ReportContext, files: dict[str, bytes]) -> list[Image]:
    """What papers/<name>/figures.py draws; its failures are warnings, never a failed report."""
    path = ctx.paper_dir / "figures.py"
    if not path.is_file():
        return []
    where = shown_path(path)
    try:
        made = _load_figures_function(path)(_runs_for_paper(ctx))
    except Exception as exc:  # the paper's code: report it, still write the report
        last = traceback.extract_tb(exc.__traceback__)[-1]
        ctx.warnings.append(f"{where}: figures() raised {type(exc).__name__}: {exc} (at {Path(last.filename).name}:"
                            f"{last.lineno}); its figures are left out")
        return []
    if not isinstance(made, dict):
        ctx.warnings.append(f"{where}: figures() must return a dict of name -> matplotlib Figure, got "
                            f"{type(made).__name__}; left out")
        return []
    images = []
    for title, fig in sorted(made.items(), key=lambda kv: str(kv[0])):
        if not hasattr(fig, "savefig"):
            ctx.warnings.append(f"{where}: figures()[{title!r}] is a {type(fig).__name__}, not a matplotlib Figure; left out")
            continue
        title = str(title).removesuffix(".png")
        name = f"paper_{slug(title)}.png"
        try:
            store(files, name, fig, tight=False)  # the paper's layout is the paper's choice
        except Exception as exc:
            ctx.warnings.append(f"{where}: figures()[{title!r}] could not be drawn ({type(exc).__name__}: {exc}); left out")
            continue
        finally:
            _close(fig)
        images.append(Image(title, name))
    return images


def _load_figures_function(path: Path) -> Callable[[list[dict[str, Any]]], Any]:
    function = getattr(load_paper_module(path.parent, "figures"), "figures", None)
    if not callable(function):
        raise AttributeError("it defines no function figures(runs)")
    return function


def _runs_for_paper(ctx: ReportContext) -> list[dict[str, Any]]:
    """The named runs of the reported stage, newest first (a prototype run must not stand in for the recipe)."""
    runs = sorted((r for r in ctx.listed if r.stage == ctx.stage), key=lambda r: r.path.name, reverse=True)
    return [{"path": r.path, "config": r.config, "summary": r.summary, "seed": r.seed, "status": r.status}
            for r in runs]


def _close(fig: Any) -> None:
    """A pyplot figure stays in pyplot's registry until closed; ours (no pyplot) need nothing."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
