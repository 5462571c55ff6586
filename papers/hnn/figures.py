"""The paper's figures from our runs (arXiv 1906.01563, Fig. 1 and the notebooks' integration
figure): phase portraits and energy over time, baseline NN vs HNN, one pair per task.

`figures(runs)` takes run dicts (keys "path", "config", "summary", "seed", "status") and reads
each completed run's analysis.json (experiment.analysis()). For each task it uses the lowest seed
that has both a baseline and an HNN run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

# Okabe and Ito's colour-blind-safe vermillion and blue, as in the report's own figures
COLORS = {"true": "black", "baseline": "#D55E00", "hnn": "#0072B2"}
TITLES = {"baseline": "Baseline NN", "hnn": "Hamiltonian NN"}


def figures(runs: list[dict[str, Any]]) -> dict[str, Figure]:
    figs: dict[str, Figure] = {}
    for task, pair in sorted(pairs_by_task(runs).items()):
        figs[f"phase_{task}.png"] = phase_portraits(task, pair)
        figs[f"energy_{task}.png"] = energy_over_time(task, pair)
    return figs


def pairs_by_task(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """task -> {"baseline": analysis, "hnn": analysis}, from the lowest seed that has both."""
    found: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for run in runs:
        if run.get("status") != "completed":
            continue
        analysis_path = Path(run["path"]) / "analysis.json"
        if not analysis_path.is_file():
            continue
        config = run.get("config") or {}
        choices = config.get("choices") or {}
        task = choices.get("data") or config.get("data", {}).get("name")
        model = choices.get("model") or config.get("model", {}).get("name")
        if task is None or model not in TITLES:
            continue
        found.setdefault((task, int(run.get("seed") or 0)), {})[model] = json.loads(analysis_path.read_text())
    pairs: dict[str, dict[str, dict[str, Any]]] = {}
    for (task, _seed), pair in sorted(found.items()):
        if task not in pairs and set(pair) == set(TITLES):
            pairs[task] = pair
    return pairs


def phase_portraits(task: str, pair: dict[str, dict[str, Any]]) -> Figure:
    """Fig. 1 style: the data with the true field, then each model's field and its rollout."""
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    ref = pair["hnn"]
    grid, true_field = np.array(ref["grid"]), np.array(ref["true_field"])
    train = np.array(ref["train_x"])
    axes[0].quiver(grid[:, 0], grid[:, 1], true_field[:, 0], true_field[:, 1], color="0.6")
    axes[0].scatter(train[:, 0], train[:, 1], c=np.linspace(0, 1, len(train)), cmap="coolwarm", s=12, label="noisy data")
    axes[0].set_title(f"{task}: data and true field")
    true_path = np.array(ref["true_path"])
    for ax, model in zip(axes[1:], ("baseline", "hnn")):
        a = pair[model]
        field, path = np.array(a["model_field"]), np.array(a["model_path"])
        ax.quiver(grid[:, 0], grid[:, 1], field[:, 0], field[:, 1], color="0.6")
        ax.plot(true_path[:, 0], true_path[:, 1], color=COLORS["true"], lw=1, ls="--", label="ground truth")
        ax.plot(path[:, 0], path[:, 1], color=COLORS[model], lw=1.5, label=f"{TITLES[model]} rollout")
        ax.set_title(f"{TITLES[model]}, t ∈ [0, {a['t'][-1]:g}]")
        ax.legend(fontsize=7, loc="upper right")
    for ax in axes:
        ax.set_xlabel("q")
        ax.set_aspect("equal", adjustable="box")
    axes[0].set_ylabel("p")
    return fig


def energy_over_time(task: str, pair: dict[str, dict[str, Any]]) -> Figure:
    """The notebooks' "Total energy" panel: H along the true path and along each model's rollout."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    t = np.array(pair["hnn"]["t"])
    ax.plot(t, pair["hnn"]["true_energy"], color=COLORS["true"], lw=2, label="ground truth")
    for model in ("baseline", "hnn"):
        ax.plot(np.array(pair[model]["t"]), pair[model]["model_energy"], color=COLORS[model], lw=1.5, label=TITLES[model])
    ax.set_xlabel("time t (the task's units)")
    ax.set_ylabel("total energy H(q, p)")
    q0, p0 = pair["hnn"]["true_path"][0]
    ax.set_title(f"{task}: energy along a rollout from (q, p) = ({q0:.2f}, {p0:.2f})")
    ax.legend(fontsize=8)
    return fig
