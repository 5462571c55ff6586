"""`workbench claims`: the listing at 80 columns, unread cells, tables without candidates, and
--confirm/--reject with globs, blocks, --metric, --tolerance and --select templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from workbench.claims.review import Review, apply_review, fill_select, matching_ids, parse_tolerance, show
from workbench.claims.schema import load_claims
from workbench.errors import UserError
from workbench.project import Paper

HEADER = "# Claims read by fetch; the comments stay.\n"


def candidate(claim_id: str, table: int, row: str, column: str, value: float, line: int) -> dict:
    return {"id": claim_id, "quote": f"{row} | {column} | {value}",
            "source": {"arxiv": "2101.00001", "table": table, "row": row, "column": column, "file": "sections/results.tex",
                       "line": line, "caption": f"Results {table}."},
            "metric": "accuracy", "value": value, "std": 0.5, "goal": "max", "select": {},
            "tolerance": {"kind": "paper_std", "k": 2}, "status": "candidate"}


@pytest.fixture
def paper(tmp_path: Path) -> Paper:
    folder = tmp_path / "papers" / "gnn"
    (folder / "paper").mkdir(parents=True)
    claims = [candidate("table2.mutag.gin_eps_very_long_model_name_that_does_not_fit", 2, "MUTAG", "GIN-ε (ours, with a "
                        "long column label)", 89.4, 40),
              candidate("table2.mutag.gcn", 2, "MUTAG", "GCN", 85.6, 40),
              candidate("table2.ptc.gin_eps_very_long_model_name_that_does_not_fit", 2, "PTC", "GIN-ε", 64.6, 41),
              candidate("table3.cora.gat", 3, "Cora", "GAT", 83.0, 70)]
    body = yaml.safe_dump({"claims": claims}, sort_keys=False, allow_unicode=True)
    (folder / "claims.yaml").write_text(HEADER + body + "\n# Cells not read:\n#   table 2 ...\n", encoding="utf-8")
    tables = [{"number": 2, "file": "sections/results.tex", "line": 35, "candidates": [{}], "unparsed": [
                  {"table": 2, "row": "MUTAG", "column": "WL", "text": "OOM", "file": "sections/results.tex", "line": 40}]},
              {"number": 4, "file": "appendix.tex", "line": 9, "candidates": [], "unparsed": []}]
    (folder / "paper" / "tables.json").write_text(json.dumps({"tables": tables}), encoding="utf-8")
    return Paper("gnn", folder, {"name": "gnn"})


def listing(paper: Paper, **options) -> str:
    console = Console(width=80, record=True, force_terminal=False)
    show(console, paper, **options)
    return console.export_text()


def test_the_listing_fits_80_columns_and_never_cuts_an_id(paper):
    text = listing(paper)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "table2.ptc.gin_eps_very_long_model_name_that_does_not_fit" in text
    assert "table 2 (sections/results.tex:40–41): Results 2." in text  # the file once, lines per row
    assert "OOM" not in text and "1 cells not read (--unread lists them)" in text
    assert "warning: table 4 (appendix.tex:9) gave no claim candidates" in text


def test_unread_lists_the_cells_not_read(paper):
    text = listing(paper, unread=True)
    assert "not read as a number: table 2, MUTAG | WL: OOM (sections/results.tex:40)" in text


def test_globs_and_blocks_name_ids_in_file_order(paper):
    ids = [c.id for c in load_claims(paper.dir / "claims.yaml")]
    long = "gin_eps_very_long_model_name_that_does_not_fit"
    assert matching_ids(ids, ["table2.*.gin*"], Path("claims.yaml"), "gnn") == [f"table2.mutag.{long}", f"table2.ptc.{long}"]
    assert matching_ids(ids, ["table2.mutag"], Path("claims.yaml"), "gnn") == [f"table2.mutag.{long}", "table2.mutag.gcn"]
    assert matching_ids(ids, ["table3", "table2.mutag.gcn"], Path("claims.yaml"), "gnn") == ["table2.mutag.gcn", "table3.cora.gat"]
    with pytest.raises(UserError, match="has no claim 'table3.cora.gta'. Did you mean 'table3.cora.gat'"):
        matching_ids(ids, ["table3.cora.gta"], Path("claims.yaml"), "gnn")


def test_confirm_a_block_with_metric_tolerance_and_select(paper):
    confirmed, rejected, unselected = apply_review(paper, Review(
        confirm=["table2.*.gin*"], reject=["table3"], metric="test/acc", tolerance="abs:1.5",
        select="model={column},data={row},seed_count=3"))
    assert len(confirmed) == 2 and rejected == ["table3.cora.gat"] and unselected == []
    claims = {c.id: c for c in load_claims(paper.dir / "claims.yaml")}
    ptc = claims["table2.ptc.gin_eps_very_long_model_name_that_does_not_fit"]
    assert (ptc.status, ptc.metric, ptc.select) == ("confirmed", "test/acc", {"model": "gin", "data": "ptc", "seed_count": 3})
    assert (ptc.tolerance.kind, ptc.tolerance.value) == ("abs", 1.5)
    assert claims["table2.mutag.gcn"].status == "candidate" and claims["table2.mutag.gcn"].metric == "accuracy"
    assert claims["table3.cora.gat"].status == "rejected"
    text = (paper.dir / "claims.yaml").read_text(encoding="utf-8")
    assert text.startswith(HEADER) and text.endswith("# Cells not read:\n#   table 2 ...\n")


def test_a_bad_option_changes_nothing(paper):
    before = (paper.dir / "claims.yaml").read_text(encoding="utf-8")
    with pytest.raises(UserError, match="use paper_std:<k>, abs:<width> or rel:<fraction>"):
        apply_review(paper, Review(confirm=["table3"], reject=[], tolerance="abs"))
    with pytest.raises(UserError, match="both confirmed and rejected"):
        apply_review(paper, Review(confirm=["table2"], reject=["table2.mutag.gcn"]))
    with pytest.raises(UserError, match="kind 'paper_std' needs the paper's std"):
        bare = paper.dir / "claims.yaml"
        bare.write_text(before.replace("std: 0.5", "std: null"), encoding="utf-8")
        apply_review(paper, Review(confirm=["table3"], reject=[]))
    bare.write_text(before, encoding="utf-8")
    assert (paper.dir / "claims.yaml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("text, expected", [
    ("paper_std:2", {"kind": "paper_std", "k": 2.0}), ("rel=0.05", {"kind": "rel", "value": 0.05}),
    ("abs:0.5", {"kind": "abs", "value": 0.5}),
])
def test_tolerances(text, expected):
    assert parse_tolerance(text) == expected


def test_select_template_needs_key_value_pairs(paper):
    claim = load_claims(paper.dir / "claims.yaml")[0]
    assert fill_select("model={row}", claim) == {"model": "mutag"}
    with pytest.raises(UserError, match="key=value pairs"):
        fill_select("{row}", claim)
