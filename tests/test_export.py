"""comparison.json against its JSON Schema, the HF model-index export, and `report --all`."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from conftest import REPO, workbench
from test_report import write_paper, write_run
from workbench.errors import UserError
from workbench.report.comparison import comparison_schema, validate_comparison
from workbench.report.export import hf_model_index
from workbench.report.write import write_report


@pytest.fixture
def reported(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, acc in enumerate([93.0, 94.0, 95.0]):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=acc)
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=80.0 + seed)
    write_run(repro, "20261123-130000-cccccc", seed=3, status="diverged", acc=float("nan"))
    return tmp_path, paper_dir, repro, write_report(paper_dir, repro)


def test_the_committed_mnist1d_comparison_matches_the_schema():
    data = json.loads((REPO / "reproductions" / "mnist1d" / "comparison.json").read_text())
    validate_comparison(data)
    assert data["summary"]["total"] == len(data["claims"]) == 12  # Table 1: 8 cells and 4 shuffling claims


def test_a_generated_comparison_matches_the_schema(reported):
    *_, data = reported
    validate_comparison(data)
    assert comparison_schema()["properties"]["schema_version"] == {"const": 2}
    assert comparison_schema(1)["properties"]["schema_version"] == {"const": 1}  # the committed v1 reports still read


@pytest.mark.parametrize("break_it, where", [
    (lambda d: d["claims"][0].update(verdict="sort of"), "claims/0/verdict"),
    (lambda d: d["claims"][1]["ours"].pop("n"), "claims/1/ours"),
    (lambda d: d["summary"].update(total="8"), "summary/total"),
    (lambda d: d.pop("stage"), "(top level)"),
])
def test_a_broken_comparison_names_where(reported, break_it, where):
    *_, data = reported
    broken = copy.deepcopy(data)
    break_it(broken)
    with pytest.raises(UserError, match=re.escape(f"comparison.json: does not match its schema at {where}:")):
        validate_comparison(broken)


def test_an_unknown_schema_version_says_so(reported):
    *_, data = reported
    with pytest.raises(UserError, match="schema_version 3 is unknown"):
        validate_comparison({**data, "schema_version": 3})


def test_hf_model_index_has_one_result_per_reproduced_claim(reported):
    *_, data = reported
    index = hf_model_index(data)["model-index"]
    reproduced = [c for c in data["claims"] if c["verdict"] == "reproduced"]
    assert sum(len(m["results"]) for m in index) == len(reproduced) == 2  # the mlp claim is not reproduced, left out
    [cnn] = [m for m in index if m["name"] == "mnist1d-data-standard_model-cnn"]
    metrics = [r["metrics"][0] for r in cnn["results"]]
    assert {m["type"] for m in metrics} == {"test/acc", "test/loss"}
    acc = next(m for m in metrics if m["type"] == "test/acc")
    assert acc["value"] == pytest.approx(94.0) and acc["verified"] is False
    assert cnn["results"][0]["source"]["url"] == "https://arxiv.org/abs/2011.14439v2"


def test_export_cli_writes_the_yaml(reported):
    root, _, repro, _ = reported
    proc = workbench(root, "export", "mnist1d", "--format", "hf")
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load((repro / "export" / "hf" / "model-index.yaml").read_text())
    assert len(data["model-index"]) == 1 and "2 reproduced claim(s)" in proc.stdout


def test_export_before_any_report_is_one_clear_error(tmp_path):
    write_paper(tmp_path)
    proc = workbench(tmp_path, "export", "mnist1d", "--format", "hf")
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("error: reproductions/mnist1d/comparison.json: not found. "
                                   "Run `workbench report mnist1d` first.")
    proc = workbench(tmp_path, "export", "mnist1d", "--format", "onnx")
    assert "unknown format" in proc.stderr


def test_report_all_writes_an_index_of_every_paper(reported):
    root, *_ = reported
    proc = workbench(root, "report", "--all")
    assert proc.returncode == 0, proc.stderr
    md = (root / "reproductions" / "INDEX.md").read_text()
    assert "| [mnist1d](mnist1d/REPORT.md) | Scaling Down Deep Learning | 2 / 3 | 2 reproduced, 1 not reproduced |" in md
    html = (root / "reproductions" / "index.html").read_text()
    assert 'href="mnist1d/report.html"' in html and "2 / 3" in html
