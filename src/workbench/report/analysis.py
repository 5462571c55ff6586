"""What the report reads from analysis.json (keys documented in workbench/run/experiment.py).

- confusion matrices ("confusion_matrix", "class_names"), summed over a configuration's runs;
- the worst-classified examples ("worst_examples") and attention maps ("attention"), from the
  lowest-seed run of each configuration that wrote them.

Each is checked before it is drawn: a malformed value is a note or a warning, never a crash.
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any

from workbench.report.context import Confusion, Image, ReportContext, WorstExamples
from workbench.report.drawing import Drawings, new_figure
from workbench.report.figures import PALETTE
from workbench.report.format import format_number, slug, text
from workbench.run.record import RunRecord

MAX_WORST = 8
MAX_HEADS = 8


# --- confusion matrices ------------------------------------------------------------------------


def confusion_matrices(ctx: ReportContext, drawings: Drawings) -> dict[str, Confusion]:
    """Configuration label -> its summed confusion matrix, for the configurations that have one."""
    found = {}
    drawers = ConfusionDrawers()
    for label, runs in ctx.configurations().items():
        confusion = _sum_confusion(ctx, runs, f"confusion_{slug(label)}.png")
        if confusion is not None:
            drawings.add(confusion.png, partial(drawers.drawn, confusion, label), tight=False)
            found[label] = confusion
    return found


class ConfusionDrawers:
    """One ConfusionFigure per list of classes, built where it is first drawn (in each worker
    process, which draws its figures one after another) and redrawn for the next configuration."""

    def __init__(self) -> None:
        self.by_classes: dict[tuple[str, ...], ConfusionFigure] = {}

    def drawn(self, confusion: Confusion, label: str) -> Any:
        names = tuple(confusion.class_names)
        if names not in self.by_classes:
            self.by_classes[names] = ConfusionFigure(confusion.class_names)
        return self.by_classes[names].drawn(confusion, label)


def _sum_confusion(ctx: ReportContext, runs: list[RunRecord], png_name: str) -> Confusion | None:
    """Sum the confusion matrices of runs that wrote analysis.json; mismatched ones are noted."""
    total: Confusion | None = None
    notes: list[str] = []
    for run in runs:
        data = ctx.analysis(run)
        if data is None:
            continue
        matrix, names = _valid_matrix(data)
        where = "/".join(run.path.parts[-2:])
        if matrix is None:
            notes.append(f"{where}/analysis.json has no valid square confusion_matrix; left out")
        elif total is None:
            total = Confusion(names, matrix, 1, png_name, notes)
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


class ConfusionFigure:
    """A confusion-matrix figure built once for a list of classes and redrawn for each configuration.

    Building a figure (its axes, colorbar, tick labels and k² cell texts) costs as much as drawing
    it, and every configuration with the same classes has the same layout: only the image, the
    colour scale, the cell texts and the title change, and the drawn bytes are those of a new figure.
    """

    def __init__(self, class_names: list[str]) -> None:
        k = len(class_names)
        self.fig, self.ax = new_figure(max(4.0, 0.45 * k + 2), max(3.5, 0.45 * k + 1.5))
        # cells, not a picture: "none" draws the same PNG without resampling it (5% of the figure) and
        # writes the k x k image itself into the SVG, shown pixelated
        self.image = self.ax.imshow([[0] * k for _ in range(k)], cmap="Blues", interpolation="none")
        self.fig.colorbar(self.image, ax=self.ax)
        self.ax.set_xticks(range(k), class_names, fontsize=8)
        self.ax.set_yticks(range(k), class_names, fontsize=8)
        self.ax.set_xlabel("predicted")
        self.ax.set_ylabel("true")
        # numbers in the cells stay readable up to about 20 classes
        self.cells = {(i, j): self.ax.text(j, i, "", ha="center", va="center", fontsize=7)
                      for i, j in itertools.product(range(k), range(k))} if k <= 20 else {}
        self.fig.subplots_adjust(left=0.1, right=0.98, bottom=0.1, top=0.93)  # fixed: tight_layout costs a third

    def drawn(self, confusion: Confusion, label: str) -> Any:
        """The figure, showing this configuration's summed matrix."""
        self.image.set_data(confusion.matrix)
        self.image.autoscale()  # the colour scale spans this matrix, as a new imshow's would
        self.ax.set_title(f"{label or 'all runs'}: confusion, {confusion.runs} run(s) summed", fontsize=9)
        peak = max(max(row) for row in confusion.matrix) or 1
        for (i, j), cell in self.cells.items():
            value = confusion.matrix[i][j]
            cell.set_text(str(value))
            cell.set_color("white" if value > peak / 2 else "black")
        return self.fig


# --- worst examples ----------------------------------------------------------------------------


def _first_analysis_with(ctx: ReportContext, key: str) -> list[tuple[str, RunRecord, Any]]:
    """(configuration label, run, analysis[key]) for the lowest-seed run of each configuration that has it."""
    found = []
    for label, runs in ctx.configurations().items():
        for run in sorted(runs, key=lambda r: (r.seed is None, r.seed or 0)):
            data = ctx.analysis(run)
            if isinstance(data, dict) and data.get(key) is not None:
                found.append((label, run, data[key]))
                break
    return found


def _valid_examples(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list) or not all(isinstance(e, dict) and {"true", "predicted"} <= set(e) for e in value):
        return None
    return value[:MAX_WORST]


def worst_examples(ctx: ReportContext, drawings: Drawings) -> list[WorstExamples]:
    """Up to MAX_WORST examples per configuration, drawn when every one has a numeric "input"."""
    found = []
    for label, run, value in _first_analysis_with(ctx, "worst_examples"):
        examples = _valid_examples(value)
        where = f"{ctx.shown(run)}/analysis.json"
        if examples is None:
            ctx.warnings.append(f"{where}: 'worst_examples' is not a list of {{true, predicted, ...}}; left out")
            continue
        name = None
        if all(_signal(e) is not None for e in examples) and examples:
            name = f"worst_{slug(label)}.png"
            drawings.add(name, partial(_worst_figure, examples, label))
        found.append(WorstExamples(label, where, examples, name))
    return found


def _signal(example: dict[str, Any]) -> list[float] | None:
    x = example.get("input")
    if isinstance(x, list) and x and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
        return [float(v) for v in x]
    return None


def _worst_figure(examples: list[dict[str, Any]], label: str) -> Any:
    cols = min(4, len(examples))
    rows = math.ceil(len(examples) / cols)
    fig, _ = new_figure(2.6 * cols, 1.9 * rows)
    fig.clear()
    for i, e in enumerate(examples):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot(_signal(e), color=PALETTE[0], linewidth=1)
        confidence = e.get("confidence")
        shown = f" ({format_number(100 * confidence)}%)" if isinstance(confidence, (int, float)) else ""
        ax.set_title(f"#{text(e.get('index'))}: {text(e['true'])} → {text(e['predicted'])}{shown}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{label or 'all runs'}: most confidently wrong (true → predicted)", fontsize=9)
    return fig


# --- attention maps ----------------------------------------------------------------------------


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


def attention_maps(ctx: ReportContext, drawings: Drawings) -> list[Image]:
    """One figure per configuration whose analysis.json holds attention maps, a panel per head."""
    images = []
    for label, run, value in _first_analysis_with(ctx, "attention"):
        parsed = _valid_attention(value)
        where = f"{ctx.shown(run)}/analysis.json"
        if parsed is None:
            ctx.warnings.append(f"{where}: 'attention' is not {{title, tokens, maps: heads × query × key}}; left out")
            continue
        name = f"attention_{slug(label)}.png"
        drawings.add(name, partial(_attention_figure, *parsed, label))
        images.append(Image(f"{label or 'all runs'}: {parsed[0]} (from `{where}`)", name))
    return images


def _attention_figure(title: str, tokens: list[str], maps: list[list[list[float]]], label: str) -> Any:
    heads = maps[:MAX_HEADS]
    n, m = len(heads[0]), len(tokens)
    size = max(2.2, min(5.0, 0.3 * m + 1.0))
    fig, _ = new_figure(size * len(heads) + 0.6, size + 0.8)
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
    return fig
