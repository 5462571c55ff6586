"""The report's figures from metrics and claims, and the matplotlib helpers every figure uses.

- learning curves: per claimed metric, the mean ± std over seeds of each configuration against
  the step, from metrics.jsonl, with the paper's values dashed;
- paper vs ours per value claim: the paper's value ± its std, our mean with the 90% and 95%
  intervals the verdict rests on, and the tolerance band, one figure per metric;
- sweeps: a numeric override with 3+ values across the runs the report names
  (optim.lr=1e-3,1e-2,1e-1), the claimed metric against it, mean ± std over seeds per series;
- a paper's own figures: `papers/<name>/figures.py` defines
  `figures(runs: list[dict]) -> dict[str, matplotlib.figure.Figure]`, the runs the report names
  (their evidence is committed, so a fresh clone draws the same figures), each a dict with
  "path" (Path of the run folder), "config", "summary", "seed" and "status"; its metrics.jsonl
  rows come from `workbench.read_metrics(run)`.

Each function stores its PNGs in `pngs` (file name -> bytes) and returns what its REPORT.md
section shows. A PNG carries no version stamp, so the same runs give the same bytes.
"""

from __future__ import annotations

import io
import itertools
import math
import sys
import traceback
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

from workbench.claims.schema import tolerance_width
from workbench.files import shown_path
from workbench.project import load_paper_module
from workbench.report.compare import ClaimResult, is_beyond_paper, runs_of
from workbench.report.context import Image, ReportContext
from workbench.report.format import slug
from workbench.report.stats import summarize
from workbench.run.record import RunRecord

VERDICT_COLORS = {"reproduced": "#2ca02c", "not reproduced": "#d62728", "inconclusive": "#ff7f0e",
                  "not comparable": "#9467bd", "missing": "#7f7f7f"}
NOT_SWEPT = ("seed", "stage", "debug", "logger", "paths", "hydra", "trainer.threads", "trainer.progress",
             "trainer.device")


# --- matplotlib --------------------------------------------------------------------------------


def new_figure(width: float, height: float) -> tuple[Any, Any]:
    """An Agg figure and its one axes, without pyplot: no global backend switch, safe in a CLI and in threads."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def png(fig: Any, tight: bool = True) -> bytes:
    """The figure as PNG bytes, the same bytes for the same figure."""
    buf = io.BytesIO()
    if tight:
        fig.tight_layout()
    # no version stamp: stable bytes; light compression: encoding is a tenth of the report's time
    fig.savefig(buf, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def palette() -> Iterable[str]:
    """matplotlib's tab10 colours, round and round."""
    return itertools.cycle(["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
                            "#e377c2", "#7f7f7f", "#bcbd22"])


# --- learning curves ---------------------------------------------------------------------------


def learning_curves(ctx: ReportContext, pngs: dict[str, bytes]) -> dict[str, str]:
    """One figure per claimed metric that metrics.jsonl has points of; returns metric -> png name."""
    curves = {}
    for metric in sorted({r.claim.metric for r in ctx.results}):
        drawn = _learning_curve_png(ctx, metric)
        if drawn is not None:
            name = f"curve_{slug(metric)}.png"
            pngs[name], curves[metric] = drawn, name
    return curves


def _curve(ctx: ReportContext, run: RunRecord, metric: str) -> list[tuple[float, float]]:
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


def _mean_curve(ctx: ReportContext, runs: list[RunRecord], metric: str) -> tuple[list[float], list[float], list[float]]:
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


def _learning_curve_png(ctx: ReportContext, metric: str) -> bytes | None:
    fig, ax = new_figure(9.5, 4.2)
    colors = iter(palette())
    plotted = False
    for label, results in ctx.configurations().items():
        mine = [r for r in results if r.claim.metric == metric]
        if not mine:
            continue
        runs = runs_of(mine)
        steps, means, stds = _mean_curve(ctx, runs, metric)
        color = next(colors)
        if steps:
            ax.plot(steps, means, color=color, label=f"{label or 'all runs'} (n={len(runs)})")
            ax.fill_between(steps, [m - d for m, d in zip(means, stds)], [m + d for m, d in zip(means, stds)],
                            color=color, alpha=0.2, linewidth=0)
            plotted = True
        for claim in sorted({r.claim.id: r.claim for r in mine if r.claim.kind == "value"}.values(), key=lambda c: c.id):
            ax.axhline(claim.value, color=color, linestyle="--", linewidth=1)
    if not plotted:
        return None
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: mean ± std over seeds (dashed: paper)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return png(fig)


# --- paper vs ours -----------------------------------------------------------------------------


def paper_vs_ours(ctx: ReportContext, pngs: dict[str, bytes]) -> list[Image]:
    """One figure per claimed metric (and unit), every value claim of it a row."""
    by_metric: dict[tuple[str, str], list[ClaimResult]] = defaultdict(list)
    for result in (r for r in ctx.results if r.claim.kind == "value"):
        by_metric[(result.claim.metric, result.claim.unit)].append(result)
    images = []
    for (metric, unit), results in sorted(by_metric.items()):
        name = f"claims_{slug(metric)}.png"
        pngs[name] = _paper_vs_ours_png(metric, unit, results)
        images.append(Image(metric, name))
    return images


def _paper_vs_ours_png(metric: str, unit: str, results: list[ClaimResult]) -> bytes:
    fig, ax = new_figure(9.0, 1.2 + 0.45 * len(results))
    for y, r in enumerate(results):
        c = r.claim
        tol = tolerance_width(c)
        ax.fill_betweenx([y - 0.35, y + 0.35], c.value - tol, c.value + tol, color="#e8e8e8", linewidth=0)
        ax.errorbar(c.value, y - 0.12, xerr=c.std or 0.0, fmt="s", color="black", capsize=3, markersize=5,
                    label="paper ± std" if y == 0 else None)
        if r.stats is not None:
            color, mean = VERDICT_COLORS[r.verdict], r.stats.mean
            for interval, width in ((r.judgement.interval95, 1.0), (r.judgement.interval90, 3.0)):
                if interval is not None and all(math.isfinite(x) for x in interval):
                    ax.hlines(y + 0.12, interval[0], interval[1], color=color, linewidth=width)
            ax.plot(mean, y + 0.12, "o", color=color, markersize=5, label=f"ours, {r.verdict}")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_yticks(range(len(results)), [r.claim.id for r in results], fontsize=8)
    ax.set_ylim(len(results) - 0.5, -0.5)
    ax.set_xlabel(f"{metric}{' (' + unit + ')' if unit else ''}")
    ax.set_title("paper vs ours: ours is the mean, its 90% (thick) and 95% (thin) intervals; grey is the band",
                 fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return png(fig)


# --- sweeps ------------------------------------------------------------------------------------


def _overrides(run: RunRecord) -> dict[str, str]:
    """overrides.yaml as typed ("optim.lr=0.01"), as key -> value text; + and ~ prefixes dropped."""
    out = {}
    for item in run.overrides():
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


def sweeps(ctx: ReportContext, pngs: dict[str, bytes]) -> list[Image]:
    """Each claimed metric against each numeric override the named runs set to 3 or more values."""
    runs = [r for r in ctx.listed if r.status == "completed" and r.stage == ctx.stage and not is_beyond_paper(r)]
    overrides = {str(r.path): _overrides(r) for r in runs}
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
            drawn = _sweep_png(key, metric, runs, overrides)
            if drawn is not None:
                name = f"sweep_{slug(key)}_{slug(metric)}.png"
                pngs[name] = drawn
                images.append(Image(f"{metric} against {key}", name))
    return images


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
    fig, ax = new_figure(8.0, 4.0)
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
    return png(fig)


# --- the paper's own figures -------------------------------------------------------------------


def paper_figures(ctx: ReportContext, pngs: dict[str, bytes]) -> list[Image]:
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
            pngs[name] = png(fig, tight=False)  # the paper's layout is the paper's choice
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
