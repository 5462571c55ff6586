"""Reproduction tier: PINN Burgers (§3.1), one run through `workbench run` and `workbench report`.

CI cannot afford the committed reproduction's one L-BFGS-B call to scipy's own stop (about 5000
iterations, 10 minutes), so this run stops after 1000 iterations and checks the error has fallen to the few-percent range on
the way to the paper's 6.7e-4; the full run's verdict is in reproductions/pinn_burgers/REPORT.md.
"""

from __future__ import annotations

import json

import pytest

from conftest import allow_overrides, workbench

pytestmark = pytest.mark.repro


def test_pinn_burgers_relative_error_falls(project):
    allow_overrides(project, "pinn_burgers", "optim.max_iter")  # a shortened recipe, in this copy only
    proc = workbench(project, "run", "pinn_burgers", "stage=reproduction", "seed=0", "logger=none",
                     "trainer.threads=1", "optim.max_iter=1000", timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = workbench(project, "report", "pinn_burgers")
    assert report.returncode == 0, report.stderr
    comparison = json.loads((project / "reproductions" / "pinn_burgers" / "comparison.json").read_text())
    claim = next(c for c in comparison["claims"] if c["id"] == "sec3_1.burgers.rel_l2")
    print(json.dumps({"rel_l2": claim["ours"]["mean"], "verdict": claim["verdict"]}))
    assert claim["ours"]["n"] == 1
    assert claim["ours"]["mean"] < 0.05  # from ~1 at initialisation
    # a few percent is far outside a factor 2 of 6.7e-4: one run that far off is not reproduced
    if claim["ours"]["mean"] > 2e-3:
        assert claim["verdict"] == "not reproduced" and claim["direction"] == "worse"
