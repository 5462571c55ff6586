"""Fuzzed claims.yaml, deviations.yaml, paper.yaml and configs: every failure is one line that
names the file (and the field, where one field is wrong), never a traceback.

The bulk goes through the library functions the CLI calls; a sample goes through the real CLI.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import REPO, crash_check, examples, tally, workbench
from workbench.claims.schema import load_claims, load_deviations
from workbench.run.config import compose_config
from workbench.errors import UserError
from workbench.project import list_papers, read_paper_yaml
from workbench.report.write import write_report

PAPER = REPO / "papers" / "mnist1d"
SETTINGS = settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["", "~", "null", "0x1F", "1e400", "2011.14439", "yes"]))
structures = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)
# Text that YAML may or may not parse: tabs, colons, anchors, tags, brackets, odd characters.
yaml_text = st.text(alphabet=st.sampled_from(list("ab:- \t\n{}[],&*!|>'\"#%@`\\\x00\x85\u2028é0")), max_size=80)
NASTY = [
    "claims: " + "[" * 3000 + "]" * 3000,                       # deeper than Python's recursion limit
    "a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n",  # alias fan-out
    "claims:\n - id: a\n   value: 1" + "0" * 5000 + "\n",        # an int past Python's digit limit
    "x: !!python/object/apply:os.system [echo pwned]\n",         # code in a tag: safe_load refuses
    "key: 1\nkey: 2\n",                                          # duplicate key
]


def expect_one_line(call, path: Path, field: str | None = None) -> None:
    """Run call(); a failure must be a one-line UserError naming path (and field)."""
    tally("bad_inputs_tried", file=path.name)
    try:
        call()
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert path.name in message, message
        if field is not None:
            assert field in message, message
    except Exception as exc:
        tally("crashes", file=path.name, error=repr(exc)[:300])
        raise


def write(path: Path, content: object) -> None:
    path.write_bytes(content if isinstance(content, bytes) else str(content).encode("utf-8", "surrogatepass"))


@pytest.fixture
def paper_copy(tmp_path):
    dest = tmp_path / "papers" / "mnist1d"
    shutil.copytree(PAPER, dest, ignore=shutil.ignore_patterns("__pycache__", "paper"))
    return dest


# ---------------------------------------------------------------- claims.yaml and deviations.yaml


@SETTINGS
@given(text=st.one_of(yaml_text, st.sampled_from(NASTY), st.binary(max_size=40)))
def test_claims_and_deviations_as_random_text(paper_copy, text):
    for name, load in (("claims.yaml", load_claims), ("deviations.yaml", load_deviations)):
        write(paper_copy / name, text)
        expect_one_line(lambda: load(paper_copy / name), paper_copy / name)


@SETTINGS
@given(data=structures)
def test_claims_and_deviations_as_random_structures(paper_copy, data):
    for name, load in (("claims.yaml", load_claims), ("deviations.yaml", load_deviations)):
        write(paper_copy / name, yaml.safe_dump(data))
        expect_one_line(lambda: load(paper_copy / name), paper_copy / name)
        write(paper_copy / name, yaml.safe_dump({"claims": [data]} if name == "claims.yaml" else [data]))
        expect_one_line(lambda: load(paper_copy / name), paper_copy / name)


CLAIMS = yaml.safe_load((PAPER / "claims.yaml").read_text())
DEVIATIONS = yaml.safe_load((PAPER / "deviations.yaml").read_text())
CLAIM_FIELDS = sorted(CLAIMS["claims"][0])
DEVIATION_FIELDS = sorted(DEVIATIONS[0])


VALUE_CLAIMS = [i for i, c in enumerate(CLAIMS["claims"]) if c.get("kind", "value") == "value"]  # all CLAIM_FIELDS


@SETTINGS
@given(index=st.sampled_from(VALUE_CLAIMS), field=st.sampled_from(CLAIM_FIELDS),
       value=st.one_of(st.just("<delete>"), structures))
def test_one_claim_field_wrong_names_that_field(paper_copy, index, field, value):
    data = copy.deepcopy(CLAIMS)
    if value == "<delete>":
        del data["claims"][index][field]
    else:
        data["claims"][index][field] = value
    write(paper_copy / "claims.yaml", yaml.safe_dump(data))
    # a wrong std surfaces as the tolerance that needs it; a wrong value as the rel tolerance
    named = {"std": "std", "value": None}.get(field, field)
    expect_one_line(lambda: load_claims(paper_copy / "claims.yaml"), paper_copy / "claims.yaml", named)


@SETTINGS
@given(index=st.integers(0, len(DEVIATIONS) - 1), field=st.sampled_from(DEVIATION_FIELDS),
       value=st.one_of(st.just("<delete>"), structures))
def test_one_deviation_field_wrong_names_that_field(paper_copy, index, field, value):
    data = copy.deepcopy(DEVIATIONS)
    if value == "<delete>":
        del data[index][field]
    else:
        data[index][field] = value
    write(paper_copy / "deviations.yaml", yaml.safe_dump(data))
    expect_one_line(lambda: load_deviations(paper_copy / "deviations.yaml"), paper_copy / "deviations.yaml", field)


# ---------------------------------------------------------------- paper.yaml (registry and report)


PAPER_META = yaml.safe_load((PAPER / "paper.yaml").read_text())


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(yaml_text, st.sampled_from(NASTY), st.binary(max_size=40)))
def test_paper_yaml_as_random_text(paper_copy, text):
    write(paper_copy / "paper.yaml", text)
    expect_one_line(lambda: read_paper_yaml(paper_copy / "paper.yaml"), paper_copy / "paper.yaml")
    expect_one_line(lambda: list_papers(paper_copy.parents[1]), paper_copy / "paper.yaml")


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(PAPER_META)), value=structures)
def test_paper_yaml_field_of_any_type_still_gives_a_report(paper_copy, tmp_path, field, value):
    """The report prints paper.yaml's fields; a list where a title belongs must not crash it."""
    meta = {**PAPER_META, field: value}
    write(paper_copy / "paper.yaml", yaml.safe_dump(meta))
    expect_one_line(lambda: write_report(paper_copy, tmp_path / "repro"), paper_copy / "paper.yaml", field)


# ---------------------------------------------------------------- configs


@settings(max_examples=examples(5), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(yaml_text, st.sampled_from(NASTY), structures.map(yaml.safe_dump), st.binary(max_size=30)),
       target=st.sampled_from(["model/mlp.yaml", "stage/prototype.yaml", "data/standard.yaml", "config.yaml"]))
def test_a_fuzzed_config_file_is_one_line_naming_it(paper_copy, monkeypatch, content, target):
    monkeypatch.setenv("WORKBENCH_ROOT", str(paper_copy.parents[1]))
    write(paper_copy / "conf" / target, content)
    tally("bad_inputs_tried", file=target)
    try:
        compose_config(paper_copy / "conf", ["model=mlp"])
    except UserError as exc:
        assert "\n" not in str(exc), str(exc)
    except Exception as exc:
        tally("crashes", file=target, error=repr(exc)[:300])
        raise


@pytest.mark.parametrize("content", ["'2011.14439'\n", "'12'\n", '"true"\n'])
def test_a_config_file_holding_a_quoted_scalar_is_named(paper_copy, monkeypatch, content):
    """OmegaConf reads such a file's string as YAML again and asserts it got a mapping (found by the fuzz test)."""
    monkeypatch.setenv("WORKBENCH_ROOT", str(paper_copy.parents[1]))
    write(paper_copy / "conf" / "model" / "mlp.yaml", content)
    with pytest.raises(UserError, match=r"mlp\.yaml: a config file holds a mapping of keys, not a str; fix the file"):
        compose_config(paper_copy / "conf", ["model=mlp"])


# ---------------------------------------------------------------- through the real CLI


CLI_CASES = [
    ("claims.yaml", "claims:\n  - id: [unclosed\n", ("report", "mnist1d"), "claims.yaml"),
    ("claims.yaml", yaml.safe_dump({"claims": [{**CLAIMS["claims"][0], "goal": "maximum"}]}), ("report", "mnist1d"), "goal"),
    ("deviations.yaml", yaml.safe_dump([{**DEVIATIONS[0], "affects": "not-a-list"}]), ("report", "mnist1d"), "affects"),
    ("paper.yaml", b"title: \xff\xfe\n", ("list",), "paper.yaml"),
    ("paper.yaml", "name: [" * 3000, ("status",), "paper.yaml"),
    ("conf/model/mlp.yaml", "name: mlp\nhidden: ${nope}\n", ("run", "mnist1d", "model=mlp", "debug=fast"), "model.hidden"),
    ("conf/model/mlp.yaml", "name: mlp\nname: cnn\n", ("run", "mnist1d", "model=mlp", "debug=fast"), "mlp.yaml"),
    # a quoted scalar: OmegaConf re-reads the string as YAML and asserts it is a mapping (found by the fuzz test above)
    ("conf/model/mlp.yaml", "'2011.14439'\n", ("run", "mnist1d", "model=mlp", "debug=fast"), "mlp.yaml"),
    ("conf/stage/prototype.yaml", "# @package _global_\ntrainer:\n  max_steps: -1\n", ("run", "mnist1d"), "trainer.max_steps"),
    ("conf/stage/prototype.yaml", "- a list\n", ("run", "mnist1d", "trainer.max_steps=abc"), "max_steps"),
]


# The first in the fast tier; the rest (a process each) are slow.
CLI_PARAMS = [pytest.param(*case, id=f"{case[0]}-{i}", marks=[pytest.mark.slow] if i >= 1 else [])
              for i, case in enumerate(CLI_CASES)]


@pytest.mark.parametrize("name, content, args, named", CLI_PARAMS)
def test_the_cli_prints_one_line_for_a_broken_file(project, name, content, args, named):
    write(project / "papers" / "mnist1d" / name, content)
    tally("bad_inputs_tried", file=name, via="CLI")
    proc = workbench(project, *args, timeout=120)
    assert not crash_check(proc.stderr, name), proc.stderr
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), proc.stderr
    if named:
        assert named in proc.stderr
