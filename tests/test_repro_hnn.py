"""Reproduction tier: HNN Table 1, task 1 (ideal mass-spring), baseline and HNN with seed 0,
end to end through `workbench run` and `workbench report`, verdicts asserted.

Seed 0 rebuilds the official data set draw for draw, so the numbers are close to the official
README's (train 3.71e-2 / 3.69e-2, test 3.67e-2 / 3.59e-2, energy 1.71e-1 / 3.84e-4).
"""

from __future__ import annotations

import json

import pytest

from conftest import allow_overrides, workbench

pytestmark = pytest.mark.repro


def test_hnn_spring_table1_seed0(project):
    allow_overrides(project, "hnn", "trainer.eval_every")  # evaluate once, at the end: same numbers, less time
    proc = workbench(project, "run", "hnn", "stage=reproduction", "-m", "model=baseline,hnn", "data=spring",
                     "seed=0", "logger=none", "trainer.threads=1", "trainer.eval_every=2000",
                     timeout=900)  # sequential: under hydra/launcher=joblib the baseline lands elsewhere (a known bug)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = workbench(project, "report", "hnn")
    assert report.returncode == 0, report.stderr
    comparison = json.loads((project / "reproductions" / "hnn" / "comparison.json").read_text())
    claims = {c["id"]: c for c in comparison["claims"]}
    print(json.dumps({cid: (c["ours"]["mean"], c["verdict"]) for cid, c in claims.items() if ".spring." in cid}, indent=1))
    # One seed: the paper's std stands in for the spread, so a value in the band's outer part is
    # inconclusive, and which CPU ran it moves seed 0 that far: its baseline train loss was 0.0371
    # on an AMD EPYC (the committed evidence; seeds 0-4 there 0.0365-0.0371) and 0.0379 on an Intel
    # Xeon (inconclusive), in a band of 0.033-0.041. So: never "not reproduced", and every loss well
    # inside the band.
    for model in ("baseline", "hnn"):
        for column in ("train", "test", "energy"):
            assert claims[f"table1.spring.{model}.{column}"]["verdict"] in {"reproduced", "inconclusive"}, (model, column)
        for column in ("train", "test"):
            claim = claims[f"table1.spring.{model}.{column}"]
            assert abs(claim["ours"]["mean"] - claim["paper"]["value"]) < 0.8 * claim["tolerance"]["width"], (model, column)
    assert claims["table1.spring.energy_ratio"]["verdict"] == "reproduced"
    ours = {cid: c["ours"]["mean"] for cid, c in claims.items() if ".spring." in cid}
    # the paper's point: the HNN conserves energy hundreds of times better at the same loss
    assert ours["table1.spring.hnn.energy"] < ours["table1.spring.baseline.energy"] / 100
    assert abs(ours["table1.spring.hnn.test"] - ours["table1.spring.baseline.test"]) < 0.005
