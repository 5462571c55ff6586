"""The paper's Fig. 1 from our runs (arXiv 1711.10561, §3.1): exact vs predicted u(t, x), the
error map, and slices at t = 0.25, 0.50, 0.75; and the relative L2 error against L-BFGS iterations.

`figures(runs)` takes run dicts (keys "path", "config", "summary", "seed", "status") and draws
the completed run with the lowest seed that wrote analysis.json (experiment.analysis()), and
the error curve of every run that logged optim/iterations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from workbench import read_metrics

PAPER_REL_L2 = 6.7e-4  # §3.1; claims.yaml sec3_1.burgers.rel_l2 (tolerance: a factor of 2)


def figures(runs: list[dict[str, Any]]) -> dict[str, Figure]:
    figs = {}
    curves = [c for c in (error_curve(r) for r in runs) if c[1]]
    if curves:
        figs["burgers_error_vs_iterations.png"] = error_against_iterations(curves)
    done = sorted((r for r in runs if r.get("status") == "completed" and (Path(r["path"]) / "analysis.json").is_file()),
                  key=lambda r: int(r.get("seed") or 0))
    if done:
        a = json.loads((Path(done[0]["path"]) / "analysis.json").read_text())
        figs |= {"burgers_solution.png": solution_and_error(a), "burgers_slices.png": slices(a)}
    return figs


def error_curve(run: dict[str, Any]) -> tuple[str, list[tuple[float, float]]]:
    """(label, [(L-BFGS iterations so far, test rel L2)]): the trace scipy's calls left in analysis.json
    (every TRACE_EVERY iterations), or else one point per evaluation from the run's metrics."""
    rows = read_metrics(run)
    iterations = {r["step"]: r["iterations"] for r in rows if r.get("split") == "optim" and "iterations" in r}
    points = [(iterations[r["step"]], r["rel_l2"]) for r in rows
              if r.get("split") == "test" and "rel_l2" in r and r["step"] in iterations]
    analysis = Path(run["path"]) / "analysis.json"
    trace = json.loads(analysis.read_text()).get("error_trace") if analysis.is_file() else None
    if trace:
        points = sorted({(float(i), float(e)) for i, e, _ in trace} | set(points))
    config = run.get("config") or {}
    optim = (config.get("optim") or {}).get("name", "?")
    label = f"{Path(run['path']).name}: seed {run.get('seed')}, {config.get('dtype', '?')}, {optim} ({run.get('status')})"
    return label, points


def error_against_iterations(curves: list[tuple[str, list[tuple[float, float]]]]) -> Figure:
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.axhspan(PAPER_REL_L2 / 2, PAPER_REL_L2 * 2, color="0.85", label="paper's 6.7e-4, within a factor 2")
    ax.axhline(PAPER_REL_L2, color="k", lw=1)
    for label, points in curves:
        ax.plot(*zip(*points), marker=".", ms=4, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("L-BFGS iterations")
    ax.set_ylabel("relative L2 error of u")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return fig


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
