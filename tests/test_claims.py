import copy

import pytest
import yaml

from workbench.claims.schema import Claim, load_claims, load_deviations, run_matches, tolerance_width
from workbench.errors import UserError

CLAIM = {
    "id": "table1.cnn.standard.test_acc",
    "quote": "MNIST-1D | CNN | 94 ± 2",
    "source": {"arxiv": "2011.14439", "table": 1, "row": "MNIST-1D", "column": "CNN", "file": None, "line": None},
    "metric": "test/acc",
    "value": 94.0,
    "std": 2.0,
    "n_seeds": 3,
    "unit": "%",
    "goal": "max",
    "select": {"model": "cnn", "data": "standard"},
    "tolerance": {"kind": "paper_std", "k": 2},
    "status": "confirmed",
}

CONFIG = {
    "choices": {"stage": "reproduction", "model": "cnn", "data": "standard", "trainer": "default"},
    "seed": 0,
    "optim": {"lr": 0.01, "name": "adam"},
    "trainer": {"max_steps": 6000, "eval_every": 250},
}


def claim_with(**changes):
    data = copy.deepcopy(CLAIM)
    data.update(changes)
    return data


def write_claims(tmp_path, entries, raw=None):
    path = tmp_path / "papers" / "mnist1d" / "claims.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if raw is not None else yaml.safe_dump({"claims": entries}, sort_keys=False))
    return path


def load_error(path):
    with pytest.raises(UserError) as info:
        load_claims(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- load_claims -----------------------------------------------------------------------------


def test_loads_a_valid_file(tmp_path):
    second = claim_with(id="table1.mlp.test_acc", select={"model": "mlp"}, tolerance={"kind": "abs", "value": 1.0})
    claims = load_claims(write_claims(tmp_path, [CLAIM, second]))
    assert [c.id for c in claims] == ["table1.cnn.standard.test_acc", "table1.mlp.test_acc"]
    first = claims[0]
    assert first.value == 94.0 and first.std == 2.0 and first.n_seeds == 3
    assert first.source.table == 1 and first.source.arxiv == "2011.14439"
    assert first.tolerance.kind == "paper_std" and first.tolerance.k == 2
    assert first.select == {"model": "cnn", "data": "standard"}


def test_empty_file_means_no_claims(tmp_path):
    assert load_claims(write_claims(tmp_path, None, raw="")) == []
    assert load_claims(write_claims(tmp_path, [])) == []


def test_wrong_type_names_file_claim_and_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_claims(tmp_path, [claim_with(id="a"), claim_with(id="b"), claim_with(value="ninety")])
    message = load_error(path)
    assert message.startswith("papers/mnist1d/claims.yaml: claim 3 'table1.cnn.standard.test_acc': field 'value':")
    assert "valid number" in message
    assert message.endswith("Fix the entry (schema in docs/claims.md).")


def test_nested_field_error_names_the_dotted_field(tmp_path):
    message = load_error(write_claims(tmp_path, [claim_with(source={"arxiv": "2011.14439", "table": [1]})]))
    assert "claim 1" in message and "field 'source.table'" in message


def test_unquoted_arxiv_id_asks_for_quotes(tmp_path):
    raw = yaml.safe_dump({"claims": [CLAIM]}).replace("arxiv: '2011.14439'", "arxiv: 2011.14430")
    message = load_error(write_claims(tmp_path, None, raw=raw))
    assert "field 'source.arxiv'" in message and "quotes" in message


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"goal": "maximum"}, "field 'goal'"),
        ({"status": "done"}, "field 'status'"),
        ({"colour": "red"}, "field 'colour': unknown field"),
        ({"tolerance": {"kind": "abs", "value": 0}}, "field 'tolerance'"),
        ({"tolerance": {"kind": "paper_std", "k": -1}}, "field 'tolerance'"),
        ({"tolerance": {"kind": "sigma", "k": 2}}, "field 'tolerance.kind'"),
        ({"tolerance": {"kind": "abs", "value": 1, "scale": 2}}, "field 'tolerance.scale'"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, changes, field):
    message = load_error(write_claims(tmp_path, [claim_with(**changes)]))
    assert "claims.yaml: claim 1 'table1.cnn.standard.test_acc': " in message
    assert field in message


def test_missing_required_field(tmp_path):
    entry = claim_with()
    del entry["metric"]
    message = load_error(write_claims(tmp_path, [entry]))
    assert "field 'metric': Field required" in message


def test_paper_std_tolerance_needs_the_paper_std(tmp_path):
    message = load_error(write_claims(tmp_path, [claim_with(std=None)]))
    assert "claim 1 'table1.cnn.standard.test_acc': field 'tolerance'" in message
    assert "paper_std" in message and "std" in message


def test_duplicate_ids_are_refused(tmp_path):
    message = load_error(write_claims(tmp_path, [CLAIM, claim_with(value=90.0)]))
    assert "claim 2 'table1.cnn.standard.test_acc'" in message and "duplicate of claim 1" in message


def test_missing_file(tmp_path):
    message = load_error(tmp_path / "nope" / "claims.yaml")
    assert "claims.yaml: file not found" in message


def test_malformed_yaml_gives_the_line(tmp_path):
    message = load_error(write_claims(tmp_path, None, raw="claims:\n  - id: a\n    value: [1, 2\n"))
    assert "claims.yaml: not valid YAML at line" in message


def test_wrong_top_level_shape(tmp_path):
    assert "list under 'claims:'" in load_error(write_claims(tmp_path, None, raw="- id: a\n"))
    assert "claim 1: expected a mapping" in load_error(write_claims(tmp_path, None, raw="claims:\n  - just text\n"))


# --- tolerance_width -------------------------------------------------------------------------


def test_tolerance_width_for_each_kind():
    assert tolerance_width(Claim(**CLAIM)) == 4.0
    assert tolerance_width(Claim(**claim_with(tolerance={"kind": "abs", "value": 1.5}))) == 1.5
    assert tolerance_width(Claim(**claim_with(value=-50.0, tolerance={"kind": "rel", "value": 0.1}))) == pytest.approx(5.0)


# --- run_matches -----------------------------------------------------------------------------


def test_run_matches_on_groups():
    claim = Claim(**CLAIM)
    assert run_matches(claim, CONFIG)
    other = copy.deepcopy(CONFIG)
    other["choices"]["model"] = "mlp"
    assert not run_matches(claim, other)


def test_run_must_be_in_the_stage():
    claim = Claim(**CLAIM)
    proto = copy.deepcopy(CONFIG)
    proto["choices"]["stage"] = "prototype"
    assert not run_matches(claim, proto)
    assert run_matches(claim, proto, stage="prototype")
    # a claim that names its stage overrides the default
    assert run_matches(Claim(**claim_with(select={"model": "cnn", "stage": "prototype"})), proto)
    assert not run_matches(Claim(**claim_with(select={"model": "cnn", "stage": "prototype"})), CONFIG)


def test_runs_made_with_a_debug_preset_never_answer_a_claim():
    debug = copy.deepcopy(CONFIG)
    debug["choices"]["debug"] = "fast"
    assert not run_matches(Claim(**CLAIM), debug)
    assert run_matches(Claim(**claim_with(select={"model": "cnn", "debug": "fast"})), debug)


def test_run_matches_dotted_paths_as_numbers_or_strings():
    def matches(select):
        return run_matches(Claim(**claim_with(select=select)), CONFIG)

    assert matches({"model": "cnn", "optim.lr": 0.01})
    assert matches({"optim.lr": "1e-2"})  # same number, written differently
    assert matches({"trainer.max_steps": 6000.0})
    assert matches({"optim.name": "adam"})
    assert not matches({"optim.lr": 0.1})
    assert not matches({"optim.momentum": 0.9})  # the run has no such key
    assert not matches({"optim.lr.x": 1})  # path runs through a number


def test_group_choice_beats_a_same_named_config_node():
    # "trainer" is both a group (choice "default") and a node {max_steps: ...}: select means the choice
    assert run_matches(Claim(**claim_with(select={"trainer": "default"})), CONFIG)


def test_run_without_choices_does_not_match():
    assert not run_matches(Claim(**CLAIM), {"seed": 0})


# --- deviations ------------------------------------------------------------------------------

DEVIATION = {
    "what": "learning-rate schedule",
    "paper": "constant 1e-2 (§3)",
    "we_do": "the same",
    "why": "-",
    "affects": ["table1.cnn.standard.test_acc"],
}


def test_load_deviations(tmp_path):
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump([DEVIATION]))
    assert load_deviations(path) == [DEVIATION]
    path.write_text("")
    assert load_deviations(path) == []


def test_deviation_errors_name_entry_and_field(tmp_path):
    path = tmp_path / "deviations.yaml"
    broken = {k: v for k, v in DEVIATION.items() if k != "why"}
    path.write_text(yaml.safe_dump([DEVIATION, broken]))
    with pytest.raises(UserError) as info:
        load_deviations(path)
    message = str(info.value)
    assert "deviations.yaml: deviation 2 'learning-rate schedule': field 'why': Field required" in message
    path.write_text(yaml.safe_dump({"what": "x"}))
    with pytest.raises(UserError, match="expected a YAML list"):
        load_deviations(path)


# --- numbers a verdict cannot rest on ----------------------------------------------------------


@pytest.mark.parametrize(("changes", "field"), [
    ({"value": float("nan")}, "value"),
    ({"value": float("inf")}, "value"),
    ({"std": -1.0}, "std"),
    ({"std": float("nan")}, "std"),
    ({"tolerance": {"kind": "abs", "value": float("inf")}}, "tolerance"),
    ({"tolerance": {"kind": "paper_std", "k": float("inf")}}, "tolerance"),
    ({"tolerance": {"kind": "abs", "value": 0}}, "tolerance"),
    ({"unknown_key": 1}, "unknown_key"),
])
def test_a_claim_no_verdict_could_rest_on_is_refused_in_one_line(tmp_path, changes, field):
    message = load_error(write_claims(tmp_path, [claim_with(**changes)]))  # PyYAML writes NaN as .nan
    assert f"claim 1 'table1.cnn.standard.test_acc': field '{field}" in message


def test_a_relative_claim_needs_its_other_side_and_bound(tmp_path):
    ratio = claim_with(id="hnn_vs_baseline", kind="ratio", value=None, tolerance=None, select={"model": "baseline"},
                       versus={"model": "hnn"}, bound={"min": 100.0})
    [loaded] = load_claims(write_claims(tmp_path, [ratio]))
    assert loaded.kind == "ratio" and loaded.bound.min == 100.0 and loaded.versus == {"model": "hnn"}
    assert "field 'versus'" in load_error(write_claims(tmp_path, [{**ratio, "versus": None}]))
    assert "field 'bound'" in load_error(write_claims(tmp_path, [{**ratio, "bound": None}]))
    assert "above max" in load_error(write_claims(tmp_path, [{**ratio, "bound": {"min": 2.0, "max": 1.0}}]))


def test_a_paper_wide_allow_list(tmp_path):
    from workbench.claims.schema import load_claims_file

    path = write_claims(tmp_path, None, raw=yaml.safe_dump({"allow": ["data.root"], "claims": [CLAIM]}))
    assert load_claims_file(path).allow == ["data.root"]
    path.write_text(yaml.safe_dump({"allow": "data.root", "claims": [CLAIM]}))
    assert "'allow' must be a list" in load_error(path)
