"""figures.py draws the solution, error map and slices from a run's analysis.json."""

from __future__ import annotations

import io
import json

from matplotlib.figure import Figure

from workbench import load_config, quick_fit, seed_everything

from .experiment import build
from .figures import error_curve, figures


def fake_run(tmp_path, seed: int, status: str = "completed") -> dict:
    seed_everything(seed)
    experiment = build(load_config("pinn_burgers", ["stage=prototype"]))
    folder = tmp_path / f"run-{seed}"
    folder.mkdir()
    (folder / "analysis.json").write_text(json.dumps(experiment.analysis()))
    return {"path": str(folder), "config": {}, "summary": {"status": status}, "seed": seed, "status": status}


def test_figures_from_the_lowest_completed_seed(tmp_path):
    figs = figures([fake_run(tmp_path, 1), fake_run(tmp_path, 0, "diverged")])
    assert set(figs) == {"burgers_solution.png", "burgers_slices.png"}
    assert all(isinstance(f, Figure) for f in figs.values())
    assert len(figs["burgers_solution.png"].axes) == 6  # three maps and their colour bars
    assert [ax.get_title() for ax in figs["burgers_slices.png"].axes] == ["t = 0.25", "t = 0.50", "t = 0.75"]
    assert figures([]) == {}
    for fig in figs.values():  # they must also render
        fig.savefig(io.BytesIO(), format="png")


def test_error_against_iterations_from_the_runs_metrics(tmp_path):
    seed_everything(0)
    experiment = build(load_config("pinn_burgers", ["stage=prototype", "optim.max_iter=5"]))
    quick_fit(experiment, tmp_path, max_steps=3, eval_every=1, log_every=1, threads=1)
    run = {"path": str(tmp_path), "config": {"dtype": "float32", "optim": {"name": "lbfgs"}}, "seed": 0, "status": "completed"}
    label, points = error_curve(run)
    assert [iterations for iterations, _ in points] == [5, 10, 15] and all(0 < e < 2 for _, e in points)
    assert "float32, lbfgs" in label
    figs = figures([run])  # no analysis.json: only the curve
    assert set(figs) == {"burgers_error_vs_iterations.png"}
    figs["burgers_error_vs_iterations.png"].savefig(io.BytesIO(), format="png")
