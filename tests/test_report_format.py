"""How the report writes numbers and lays out the claims: one formatter (3 significant figures),
"—" for a spread one run cannot have, and the claims grouped as the paper's own tables."""

from __future__ import annotations

import math

import pytest

from test_report import claim, write_paper, write_run
from workbench.report.format import axis_label, format_number, metric_name, plus_minus, signed
from workbench.report.headline import table_title
from workbench.report.write import write_report


@pytest.mark.parametrize(("x", "shown"), [
    (31.3612, "31.4"), (0.05477, "0.0548"), (0.0577, "0.0577"), (65.22, "65.2"), (36.98, "37"),
    (10233.3, "10200"), (99.96, "100"), (0.000381, "0.000381"), (2.4e-7, "2.4e-7"), (1234567.8, "1.23e6"),
    (94, "94"), (94.0, "94"), (5835.0, "5835"), (-0.64, "-0.64"), (0.0, "0"), (-0.0, "0"),
    (None, "—"), (math.nan, "—"), (math.inf, "—"),
])
def test_every_number_has_three_significant_figures_and_integers_stay_whole(x, shown):
    assert format_number(x) == shown


def test_value_and_spread_share_the_formatter_and_one_run_has_no_spread():
    # the spread to 2 significant figures, the mean to the same decimal place: not "31.37 ± 0.0577%"
    assert plus_minus(31.37, 0.0577, 5, "%") == "31.370 ± 0.058% (n=5)"
    assert plus_minus(65.21, 1.42, 5, "%") == "65.2 ± 1.4% (n=5)"
    assert plus_minus(0.0368, 0.000293, 5, "") == "0.03680 ± 0.00029 (n=5)"
    assert plus_minus(2.4e-6, 3e-7, 3, "") == "2.4e-6 ± 3e-7 (n=3)"  # too small for fixed decimals
    assert plus_minus(94.0, 0.0, 1, "%") == "94 ± —% (n=1)"  # one run: no spread, not "± 0"
    assert plus_minus(200.0, 0.0, 1, "epochs") == "200 ± — epochs (n=1)"
    assert plus_minus(94.0, 2.0, None, "%") == "94 ± 2%"
    assert signed(-0.64) == "−0.64" and signed(12.5) == "+12.5" and signed(0.0) == "0"


def test_metrics_are_named_in_words_with_their_unit():
    assert axis_label("test/acc", "%") == "test accuracy (%)"
    assert axis_label("trainset/loss") == "train loss"
    assert axis_label("test/energy_mse") == "test energy MSE"
    assert axis_label("fourier/n_key_freqs", "frequencies") == "Fourier number of key frequencies"
    assert metric_name("test/grok_epoch") == "test grok epoch"


def test_a_claims_source_table_names_its_group():
    assert (table_title(1), table_title(" 6"), table_title("§5.2"), table_title(None)) == ("Table 1", "Table 6", "§5.2",
                                                                                             "—")


def test_the_claims_are_grouped_by_the_papers_tables_in_the_papers_order(tmp_path):
    source = {"arxiv": "2011.14439", "table": 1, "row": "MNIST-1D", "column": "CNN"}
    claims = [
        claim("t1.cnn", source=source),
        claim("t1.mlp", value=68.0, select={"model": "mlp", "data": "standard"}, source={**source, "column": "MLP"}),
        claim("s3.loss", metric="test/loss", value=0.2, std=None, goal="min", tolerance={"kind": "abs", "value": 0.05},
              source={"arxiv": "2011.14439", "table": "§3"}),
    ]
    paper_dir = write_paper(tmp_path, claims=claims, deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaa0", acc=94.0, loss=0.2)
    write_run(repro, "20261123-120000-bbbbb0", model="mlp", acc=60.0)
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    table1, section3 = md.index("### Table 1"), md.index("### From the text")
    assert md.index("## Claims") < table1 < section3 < md.index("## Paper vs ours")
    claims_part = md[table1:md.index("## Paper vs ours")]
    assert "| ✅ | MNIST-1D | CNN | 94 ± 2% | 94 ± —% (n=1) | 0% | ±4% | **reproduced** (1 run) |" in claims_part
    assert "| ❌ |  | MLP | 68 ± 2% | 60 ± —% (n=1) | −8% | ±4% | **not reproduced (worse)** (1 run) |" in claims_part
    # from a section of the text, with no row or column: where it says so, and what it measures
    assert "|  | where | claim | paper | ours (mean ± std, n) | Δ | tolerance | verdict |" in claims_part
    assert "| §3 | test loss | 0.2 | 0.2 ± — (n=1) | 0 (×1) | ±0.05 |" in claims_part
    assert "`t1.cnn`" not in claims_part  # code ids are in the claim details, not the table
    assert "- `t1.cnn`: " in md[md.index("## Claim details"):]
