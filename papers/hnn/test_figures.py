"""figures.py makes the phase-portrait and energy figures from run dicts and their analysis.json."""

from __future__ import annotations

import io
import json

from matplotlib.figure import Figure

from workbench import load_config, seed_everything

from .experiment import build
from .figures import figures


def fake_run(tmp_path, model: str, seed: int, status: str = "completed") -> dict:
    seed_everything(seed)
    cfg = load_config("hnn", ["stage=prototype", f"model={model}", "analysis.points=20", "analysis.t_end=2.0"])
    folder = tmp_path / f"{model}-{seed}"
    folder.mkdir()
    (folder / "analysis.json").write_text(json.dumps(build(cfg).analysis()))
    config = {"choices": {"model": model, "data": "spring", "stage": "prototype"}}
    return {"path": str(folder), "config": config, "summary": {"status": status}, "seed": seed, "status": status}


def test_figures_pair_baseline_and_hnn_per_task(tmp_path):
    runs = [fake_run(tmp_path, "baseline", 0), fake_run(tmp_path, "hnn", 0), fake_run(tmp_path, "hnn", 1, "diverged")]
    figs = figures(runs)
    assert set(figs) == {"phase_spring.png", "energy_spring.png"}
    assert all(isinstance(f, Figure) for f in figs.values())
    energy_axes = figs["energy_spring.png"].axes[0]
    assert [line.get_label() for line in energy_axes.get_lines()] == ["ground truth", "Baseline NN", "Hamiltonian NN"]
    assert len(figs["phase_spring.png"].axes) == 3
    for fig in figs.values():  # they must also render
        fig.savefig(io.BytesIO(), format="png")


def test_no_pair_no_figure(tmp_path):
    assert figures([fake_run(tmp_path, "hnn", 0)]) == {}
    assert figures([]) == {}
