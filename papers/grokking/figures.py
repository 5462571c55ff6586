"""Report figures for grokking (arXiv 2301.05217): Fig. 1-style train/test curves on a log epoch
axis, and the embedding's Fourier spectrum with the key frequencies marked (Fig. 3, left).

`figures(runs)` is called by the report with the runs of this paper; each run is a dict with
"path" (its run folder), "config", "summary", "seed" and "status". It reads the metrics.jsonl
rows with workbench.read_metrics (a torn last line is skipped) and analysis.json from the folder,
and draws nothing for a run that lacks them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from workbench import read_metrics  # noqa: E402

# (split in metrics.jsonl, label): "train" rows are means over log_every steps, the rest evaluations.
CURVES = [("train", "train"), ("test", "test")]
# Okabe and Ito's colour-blind-safe vermillion and blue, as in the report's own figures; seeds by line style
SPLIT_COLORS = {"train": "#D55E00", "test": "#0072B2"}
SEED_STYLES = ["-", ":", "-.", (0, (5, 1))]
KEY_COLOR, OTHER_COLOR = "#D55E00", "#999999"


def figures(runs: list[dict[str, Any]]) -> dict[str, Figure]:
    readable = [r for r in runs if read_metrics(r)]
    out: dict[str, Figure] = {}
    if readable:
        out["training_curves"] = training_curves(readable)
    with_analysis = [r for r in readable if (Path(r["path"]) / "analysis.json").is_file()]
    if with_analysis:
        out["fourier_spectrum"] = fourier_spectrum(with_analysis)
    return out


def metric_series(run: dict[str, Any]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """{split: {metric: [(step, value), ...]}} from a run's metrics.jsonl."""
    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for row in read_metrics(run):
        for name, value in row.items():
            if name not in ("step", "split") and isinstance(value, (int, float)):
                series.setdefault(row["split"], {}).setdefault(name, []).append((row["step"], value))
    return series


def training_curves(runs: list[dict[str, Any]]) -> Figure:
    """Loss (log scale) and accuracy against epoch (log scale), train and test, one line a seed."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for i, run in enumerate(runs):
        series = metric_series(run)
        for split, label in CURVES:
            for ax, metric in ((loss_ax, "loss"), (acc_ax, "acc")):
                points = series.get(split, {}).get(metric, [])
                if points:
                    steps, values = zip(*points)
                    ax.plot(steps, values, color=SPLIT_COLORS[split], linestyle=SEED_STYLES[i % len(SEED_STYLES)],
                            label=f"{label} (seed {run.get('seed')})")
    loss_ax.set_yscale("log")
    for ax, name in ((loss_ax, "cross-entropy loss (nats, log scale)"), (acc_ax, "accuracy (fraction)")):
        ax.set_xscale("log")
        ax.set_xlabel("epoch (full-batch step)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Modular addition mod p: memorisation, then grokking (cf. paper Fig. 1)")
    fig.tight_layout()
    return fig


def fourier_spectrum(runs: list[dict[str, Any]]) -> Figure:
    """Norm of the token embedding per Fourier frequency k at the end of each run; key frequencies
    (the fewest holding the configured share of the energy) marked and labelled."""
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.2 * len(runs)), squeeze=False)
    for ax, run in zip(axes[:, 0], runs):
        fourier = json.loads((Path(run["path"]) / "analysis.json").read_text(encoding="utf-8"))["fourier"]
        ks, norms, keys = fourier["frequencies"], fourier["embedding_norms"], set(fourier["key_frequencies"])
        ax.bar(ks, norms, color=[KEY_COLOR if k in keys else OTHER_COLOR for k in ks])
        for k in sorted(keys):
            ax.annotate(str(k), (k, norms[k - 1]), ha="center", va="bottom", fontsize=8, color=KEY_COLOR)
        ax.set_xlabel("frequency k (w_k = 2πk/p)")
        ax.set_ylabel("‖W_E in cos/sin k‖")
        ax.set_title(f"seed {run.get('seed')}: key frequencies {sorted(keys)} "
                     f"(fewest holding {fourier['share']:.0%} of the energy; vermillion)")
    fig.tight_layout()
    return fig
