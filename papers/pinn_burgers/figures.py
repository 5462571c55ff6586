"""The paper's Fig. 1 from our runs (arXiv 1711.10561, §3.1): exact vs predicted u(t, x), the
error map, and slices at t = 0.25, 0.50, 0.75.

`figures(runs)` takes run dicts (keys "path", "config", "summary", "seed", "status") and draws
the completed run with the lowest seed that wrote analysis.json (experiment.analysis()).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def figures(runs: list[dict[str, Any]]) -> dict[str, Figure]:
    done = sorted((r for r in runs if r.get("status") == "completed" and (Path(r["path"]) / "analysis.json").is_file()),
                  key=lambda r: int(r.get("seed") or 0))
    if not done:
        return {}
    a = json.loads((Path(done[0]["path"]) / "analysis.json").read_text())
    return {"burgers_solution.png": solution_and_error(a), "burgers_slices.png": slices(a)}


def solution_and_error(a: dict[str, Any]) -> Figure:
    x, t = np.array(a["x"]), np.array(a["t"])
    exact, pred = np.array(a["u_exact"]), np.array(a["u_pred"])
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    extent = [t.min(), t.max(), x.min(), x.max()]
    for ax, field, title, cmap in ((axes[0], exact, "exact u(t, x) (Hopf–Cole)", "rainbow"),
                                   (axes[1], pred, "PINN prediction", "rainbow"),
                                   (axes[2], np.abs(pred - exact), "|prediction − exact|", "magma")):
        image = ax.imshow(field.T, origin="lower", aspect="auto", extent=extent, cmap=cmap)
        fig.colorbar(image, ax=ax)
        ax.set_title(title)
        ax.set_xlabel("t")
    axes[1].plot(a["t_u"], a["x_u"], "kx", ms=3, clip_on=False, label=f"data ({len(a['t_u'])} points)")
    axes[1].legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("x")
    return fig


def slices(a: dict[str, Any]) -> Figure:
    x, t = np.array(a["x"]), np.array(a["t"])
    exact, pred = np.array(a["u_exact"]), np.array(a["u_pred"])
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, when in zip(axes, (0.25, 0.50, 0.75)):  # Fig. 1's slices (Burgers.py: t[25], t[50], t[75])
        i = int(np.argmin(np.abs(t - when)))
        ax.plot(x, exact[i], "b-", lw=2, label="exact")
        ax.plot(x, pred[i], "r--", lw=2, label="prediction")
        ax.set_title(f"t = {t[i]:.2f}")
        ax.set_xlabel("x")
    axes[0].set_ylabel("u(t, x)")
    axes[0].legend(fontsize=8)
    return fig
