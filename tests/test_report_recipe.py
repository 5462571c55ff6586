"""Which runs a verdict rests on (issue 14): the recipe, one commit, the evidence, never a smaller report."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, workbench
from test_report import CLAIMS, claim, write_paper, write_run
from workbench.errors import UserError
from workbench.report.comparison import validate_comparison
from workbench.report.write import write_report
from workbench.run import record
from workbench.run.config import compose_config, job_choices, resolve_user_config

MNIST1D_EVIDENCE = REPO / "reproductions" / "mnist1d" / "evidence" / "reproduction"


def recipe_run(root: Path, name: str, overrides: list[str], *, acc: float, seed: int = 0, sha: str = "f" * 40) -> Path:
    """A finished mnist1d run folder as the runner writes it, its config composed from the real conf/
    with these overrides (no training: the numbers are given)."""
    cfg = compose_config(root / "papers" / "mnist1d" / "conf", [*overrides, f"seed={seed}"])
    config = {**resolve_user_config(cfg), "choices": job_choices(cfg.hydra)}
    run = root / "reproductions" / "mnist1d" / "runs" / "reproduction" / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (run / "overrides.yaml").write_text(yaml.safe_dump([*overrides, f"seed={seed}"]))
    summary = {"status": "completed", "stage": "reproduction", "seed": seed, "metrics": {"test/acc": acc}}
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "provenance.json").write_text(json.dumps({"git": {"sha": sha, "dirty": False}}))
    return run


def report_of(root: Path, **options) -> dict:
    return write_report(root / "papers" / "mnist1d", root / "reproductions" / "mnist1d", **options)


def by_id(data: dict) -> dict:
    return {c["id"]: c for c in data["claims"]}


CNN = ["stage=reproduction", "model=cnn", "data=standard"]


# --- 1. on the recipe --------------------------------------------------------------------------


def test_a_short_run_or_a_wild_lr_answers_no_claim_and_is_listed_off_the_recipe(project):
    recipe_run(project, "20261201-100000-aaaaa0", CNN, acc=94.0, seed=0)
    recipe_run(project, "20261201-100001-aaaaa1", [*CNN, "trainer.threads=1", "logger=none"], acc=95.0, seed=1)
    recipe_run(project, "20261201-100002-bbbbb0", [*CNN, "trainer.max_steps=40"], acc=20.0, seed=2)
    recipe_run(project, "20261201-100003-bbbbb1", [*CNN, "optim.name=sgd", "optim.lr=1e30"], acc=10.0, seed=3)
    data = report_of(project)
    cnn = by_id(data)["table1.cnn.standard.test_acc"]
    assert [r["value"] for r in cnn["runs"]] == [94.0, 95.0]  # threads and logger are allowed
    assert cnn["verdict"] == "reproduced"
    off = {o["run"]: o["changed"] for o in cnn["off_recipe"]}
    assert off["evidence/reproduction/20261201-100002-bbbbb0"] == ["trainer.max_steps=40 (recipe: 6000)"]
    assert off["evidence/reproduction/20261201-100003-bbbbb1"] == ["optim.lr=1e+30 (recipe: 0.01)",
                                                                 "optim.name=sgd (recipe: adam)"]
    md = (project / "reproductions" / "mnist1d" / "REPORT.md").read_text()
    assert "## Runs off the recipe" in md
    assert "| `evidence/reproduction/20261201-100002-bbbbb0` | data=standard, model=cnn | 2 | completed | trainer.max_steps=40 (recipe: 6000) |" in md
    assert not any("conf/config.yaml: not found" in w for w in data["warnings"])


def test_only_off_recipe_runs_leave_the_claim_missing(project):
    recipe_run(project, "20261201-100002-bbbbb0", [*CNN, "trainer.max_steps=40"], acc=94.0)
    cnn = by_id(report_of(project))["table1.cnn.standard.test_acc"]
    assert cnn["verdict"] == "missing" and cnn["ours"]["n"] == 0


def test_a_claims_allow_list_lets_a_key_vary(project):
    path = project / "papers" / "mnist1d" / "claims.yaml"
    data = yaml.safe_load(path.read_text())
    data["allow"] = ["trainer.eval_every"]
    next(c for c in data["claims"] if c["id"] == "table1.cnn.standard.test_acc")["allow"] = ["trainer.max_steps"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    recipe_run(project, "20261201-100002-bbbbb0", [*CNN, "trainer.max_steps=40", "trainer.eval_every=10"], acc=94.0)
    recipe_run(project, "20261201-100003-ccccc0", ["stage=reproduction", "model=mlp", "trainer.max_steps=40"], acc=68.0)
    claims = by_id(report_of(project))
    assert claims["table1.cnn.standard.test_acc"]["ours"]["n"] == 1  # allowed for this claim
    assert claims["table1.mlp.standard.test_acc"]["off_recipe"][0]["changed"] == ["trainer.max_steps=40 (recipe: 6000)"]


def test_one_full_recipe_run_far_from_the_claim_is_not_reproduced(project):
    recipe_run(project, "20261201-100000-aaaaa0", CNN, acc=60.0)
    cnn = by_id(report_of(project))["table1.cnn.standard.test_acc"]
    assert (cnn["verdict"], cnn["direction"], cnn["spread"]) == ("not reproduced", "worse", "paper std")
    md = (project / "reproductions" / "mnist1d" / "REPORT.md").read_text()
    assert "| **not reproduced (worse)** (1 run) |" in md


def test_a_recipe_that_cannot_be_composed_does_not_break_the_next_one():
    """An unknown key's did-you-mean composes on its own, which ends the shared Hydra initialisation."""
    from workbench.report.recipe import Recipes

    warnings: list[str] = []
    with Recipes(REPO / "papers" / "mnist1d", warnings) as recipes:
        broken = recipes.recipe(("stage=reproduction", "optim.lrr=0.1"))
        fine = recipes.recipe(("stage=reproduction", "model=mlp"))
    assert isinstance(broken, str) and "optim.lrr" in broken
    assert isinstance(fine, dict) and fine["choices"]["model"] == "mlp"
    assert len(warnings) == 1 and "optim.lrr" in warnings[0]


def test_a_paper_without_conf_skips_the_recipe_check_with_one_warning(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaa0")
    data = write_report(paper_dir, repro)
    assert sum("conf/config.yaml: not found" in w for w in data["warnings"]) == 1


def cnn_standard_seed0(runs: Path) -> Path:
    for run in sorted(runs.iterdir()):
        summary = json.loads((run / "summary.json").read_text())
        if summary["seed"] == 0 and summary["choices"]["model"] == "cnn" and summary["choices"]["data"] == "standard":
            return run
    raise AssertionError("no cnn/standard seed-0 run in the committed evidence")


@pytest.mark.skipif(not MNIST1D_EVIDENCE.is_dir(), reason="no committed reproductions/mnist1d/evidence")
def test_the_committed_runs_are_on_the_recipe_and_a_changed_copy_is_not(project):
    """The committed MNIST-1D evidence, put back as runs: all on the recipe; a 40-step copy is not."""
    runs = project / "reproductions" / "mnist1d" / "runs" / "reproduction"
    shutil.copytree(MNIST1D_EVIDENCE, runs)
    seed0 = cnn_standard_seed0(runs)
    short = runs / "20991231-000000-ffffff"
    shutil.copytree(seed0, short)  # a newer seed 0 of the same cell, 40 steps
    config = yaml.safe_load((short / "config.yaml").read_text())
    config["trainer"]["max_steps"] = 40
    (short / "config.yaml").write_text(yaml.safe_dump(config))
    proc = workbench(project, "report", "mnist1d")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((project / "reproductions" / "mnist1d" / "comparison.json").read_text())
    committed = json.loads((REPO / "reproductions" / "mnist1d" / "comparison.json").read_text())
    assert [c["ours"]["n"] for c in data["claims"]] == [c["ours"]["n"] for c in committed["claims"]]
    [cnn] = [c for c in data["claims"] if c["id"] == "table1.cnn.standard.test_acc"]
    assert f"evidence/reproduction/{seed0.name}" in {r["run"] for r in cnn["runs"]}  # not superseded by the short one
    assert [o["changed"] for o in cnn["off_recipe"]] == [["trainer.max_steps=40 (recipe: 6000)"]]
    assert {o["run"] for c in data["claims"] for o in c["off_recipe"]} == {"evidence/reproduction/20991231-000000-ffffff"}
    assert data["commit"]["sha"] == committed["commit"]["sha"]


# --- 2. one commit -----------------------------------------------------------------------------


def test_the_commit_that_answers_most_claims_is_used_and_the_others_are_listed(tmp_path):
    paper_dir = write_paper(tmp_path, deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed in range(2):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=94.0, sha="old0000")
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=68.0, sha="old0000")
    write_run(repro, "20261124-110000-ccccc0", seed=0, acc=50.0, sha="new0000")  # newer, but answers fewer claims
    data = write_report(paper_dir, repro)
    assert data["commit"] == {"sha": "old0000", "dirty": False}
    cnn = by_id(data)["table1.cnn.standard.test_acc"]
    assert [r["value"] for r in cnn["runs"]] == [94.0, 94.0]
    assert {"run": "evidence/reproduction/20261124-110000-ccccc0", "status": "other commit"} in cnn["excluded"]
    md = (repro / "REPORT.md").read_text()
    assert "commit `old0000`" in md.split("## Claims")[0]


def test_a_tie_goes_to_the_commit_of_the_newest_run(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0]], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaa0", acc=94.0, sha="old0000")
    write_run(repro, "20261124-110000-bbbbb0", acc=93.0, sha="new0000")
    assert write_report(paper_dir, repro)["commit"]["sha"] == "new0000"


def test_dirty_tree_runs_count_only_with_allow_dirty_and_the_headline_says_so(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0]], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed in range(3):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=94.0, dirty=True)
    data = write_report(paper_dir, repro)
    (cnn,) = data["claims"]
    assert cnn["verdict"] == "missing" and {e["status"] for e in cnn["excluded"]} == {"dirty tree"}
    assert data["commit"] is None
    (warning,) = [w for w in data["warnings"] if "uncommitted changes" in w]
    assert warning.startswith("3 run(s) on the recipe were not counted") and "20261123-110002-aaaaa2" in warning
    assert "--allow-dirty" in warning and warning in (repro / "REPORT.md").read_text()
    validate_comparison(data)
    data = write_report(paper_dir, repro, allow_dirty=True, force=True)
    assert data["claims"][0]["ours"]["n"] == 3 and data["commit"] == {"sha": "abc1234", "dirty": True}
    assert not [w for w in data["warnings"] if "not counted" in w]
    headline = (repro / "REPORT.md").read_text().split("## Claims")[0]
    assert "**with uncommitted changes** (counted because of --allow-dirty)" in headline


# --- 3. verdicts: not comparable, relative claims ----------------------------------------------


def test_a_deviation_with_comparable_false_makes_its_claims_not_comparable_in_the_headline(tmp_path):
    deviation = {"what": "metric definition", "paper": "top-5", "we_do": "top-1", "why": "x", "comparable": False,
                 "affects": ["table1.mlp.standard.test_acc"]}
    paper_dir = write_paper(tmp_path, deviations=[deviation])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed in range(3):
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=99.0)
    data = write_report(paper_dir, repro)
    mlp = by_id(data)["table1.mlp.standard.test_acc"]
    assert mlp["verdict"] == "not comparable" and mlp["ours"]["mean"] == pytest.approx(99.0)
    headline = (repro / "REPORT.md").read_text().split("## Claims")[0]
    assert "Not comparable (a deviation says our runs measure something else): *metric definition* (`table1.mlp.standard.test_acc`)." in headline


def test_a_relative_claim_selects_both_sides(tmp_path):
    gap = claim("shuffle.gap", value=None, std=None, tolerance=None, kind="difference", versus={"model": "mlp"},
                select={"model": "cnn"}, bound={"min": 10.0})
    paper_dir = write_paper(tmp_path, claims=[gap], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, (a, b) in enumerate([(94.0, 68.0), (95.0, 69.0), (93.0, 67.5)]):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=a)
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=b)
    data = write_report(paper_dir, repro)
    validate_comparison(data)
    (entry,) = data["claims"]
    assert entry["verdict"] == "reproduced" and entry["kind"] == "difference"
    assert entry["statistic"] == pytest.approx(94.0 - 68.0 - 1 / 6)
    assert entry["ours"]["n"] == 3 and entry["ours_versus"]["n"] == 3 and entry["bound"] == {"min": 10.0, "max": None}
    assert [r["side"] for r in entry["runs"]] == ["select"] * 3 + ["versus"] * 3
    md = (repro / "REPORT.md").read_text()
    assert "| difference ≥ 10 | difference 25.8 (n=3 vs 3) | — | — | **reproduced** |" in md  # 3 significant figures
    assert "ours 94 ± 1% (n=3) vs 68.17 ± 0.76% (n=3)" in md  # both sides, in the claim's details


def test_an_inconclusive_claim_says_how_many_seeds_would_decide_it(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0]], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, acc in enumerate([94.0, 97.0]):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=acc)
    (entry,) = write_report(paper_dir, repro)["claims"]
    assert entry["verdict"] == "inconclusive" and entry["seeds_needed"] > 2
    assert f"**inconclusive: ~{entry['seeds_needed']} seeds would decide**" in (repro / "REPORT.md").read_text()


# --- 4. evidence -------------------------------------------------------------------------------


def small_project(tmp_path: Path) -> tuple[Path, Path]:
    paper_dir = write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, acc in enumerate([93.0, 94.0, 95.0]):
        run = write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=acc)
        record.checkpoint_dir(run).mkdir()
        (record.checkpoint_dir(run) / "last.pt").write_bytes(b"weights")
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=80.0 + seed)
    write_run(repro, "20261123-130000-cccccc", seed=3, status="diverged", acc=float("nan"))
    write_run(repro, "20261123-140000-dddddd", model="gru", seed=0)  # answers no confirmed claim
    return paper_dir, repro


def test_the_evidence_holds_every_named_run_without_checkpoints(tmp_path):
    paper_dir, repro = small_project(tmp_path)
    write_report(paper_dir, repro)
    evidence = repro / "evidence" / "reproduction"
    assert sorted(p.name for p in evidence.iterdir()) == [
        *(f"20261123-11000{s}-aaaaa{s}" for s in range(3)), *(f"20261123-12000{s}-bbbbb{s}" for s in range(3)),
        "20261123-130000-cccccc"]
    assert sorted(p.name for p in (evidence / "20261123-110000-aaaaa0").iterdir()) == [
        "config.yaml", "metrics.jsonl", "overrides.yaml", "provenance.json", "summary.json"]


def test_a_large_metrics_file_is_gzipped_and_still_read(tmp_path, monkeypatch):
    paper_dir, repro = small_project(tmp_path)
    monkeypatch.setattr(record, "GZIP_METRICS_OVER", 10)
    write_report(paper_dir, repro)
    folder = repro / "evidence" / "reproduction" / "20261123-110000-aaaaa0"
    assert not (folder / "metrics.jsonl").exists()
    original = (repro / "runs" / "reproduction" / "20261123-110000-aaaaa0" / "metrics.jsonl").read_bytes()
    assert gzip.decompress((folder / "metrics.jsonl.gz").read_bytes()) == original
    assert record.read_metrics(folder) == record.read_metrics(folder.parents[2] / "runs" / "reproduction" / folder.name)


def test_a_fresh_clone_regenerates_the_same_report_from_the_evidence(tmp_path):
    paper_dir, repro = small_project(tmp_path)
    first = write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    shutil.rmtree(repro / "runs")
    second = write_report(paper_dir, repro)
    first.pop("generated_at"), second.pop("generated_at")
    assert second == first
    assert (repro / "REPORT.md").read_text() == md


def test_evidence_of_runs_the_report_no_longer_names_is_removed(tmp_path):
    paper_dir, repro = small_project(tmp_path)
    write_report(paper_dir, repro)
    shutil.rmtree(repro / "runs" / "reproduction" / "20261123-130000-cccccc")
    shutil.rmtree(repro / "evidence" / "reproduction" / "20261123-130000-cccccc")
    write_run(repro, "20261124-090000-eeeeee", seed=0, acc=93.5)  # supersedes seed 0
    write_report(paper_dir, repro)
    names = {p.name for p in (repro / "evidence" / "reproduction").iterdir()}
    assert "20261124-090000-eeeeee" in names and "20261123-110000-aaaaa0" in names  # superseded runs are listed
    data = json.loads((repro / "comparison.json").read_text())
    named = {r["run"] for c in data["claims"] for r in c["runs"]} | {e["run"] for c in data["claims"] for e in c["excluded"]}
    assert {f"evidence/reproduction/{n}" for n in names} == named


def committed_evidence() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "reproductions").glob("*/evidence") if p.is_dir())


@pytest.mark.parametrize("paper", committed_evidence())
def test_the_committed_report_comes_back_from_its_evidence(paper, tmp_path):
    """A fresh clone has evidence/ and no runs/: its report gives the committed verdicts and numbers."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "papers", root / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))
    shutil.copytree(REPO / "reproductions" / paper, root / "reproductions" / paper,
                    ignore=shutil.ignore_patterns("runs", "publish"))
    committed = json.loads((REPO / "reproductions" / paper / "comparison.json").read_text())
    regenerated = write_report(root / "papers" / paper, root / "reproductions" / paper, committed["stage"],
                               allow_dirty=committed.get("allow_dirty", False))

    def numbers(data):
        return [(c["id"], c["verdict"], c.get("direction"), c["ours"], c["runs"]) for c in data["claims"]]

    assert numbers(regenerated) == numbers(committed)


# --- 5. never silently shrink ------------------------------------------------------------------


def test_a_report_with_fewer_claims_answered_writes_nothing_unless_forced(tmp_path):
    paper_dir, repro = small_project(tmp_path)
    write_report(paper_dir, repro)
    before = {p: p.read_bytes() for p in repro.rglob("*") if p.is_file() and "runs" not in p.parts}
    for stage_dir in (repro / "runs" / "reproduction", repro / "evidence" / "reproduction"):
        for run in [r for r in stage_dir.iterdir() if r.name.startswith("20261123-11")]:  # the cnn runs
            shutil.rmtree(run)
    for seed in range(3):  # the cnn runs at the prototype stage instead
        write_run(repro, f"20261125-11000{seed}-ppppp{seed}", seed=seed, stage="prototype")
    with pytest.raises(UserError, match=r"answers 3 claim\(s\), but the runs found answer only 1 "
                                        r"\(5 reproduction runs, 3 prototype runs in runs/ and evidence/\); nothing was written"):
        write_report(paper_dir, repro)
    assert {p: p.read_bytes() for p in repro.rglob("*") if p.is_file() and "runs" not in p.parts} == {
        p: b for p, b in before.items() if p.exists()}
    assert not (repro / "evidence" / "prototype").exists()
    assert write_report(paper_dir, repro, force=True)["summary"]["by_verdict"]["missing"] == 2


def test_report_cli_refuses_to_shrink_and_takes_stage_and_force(tmp_path):
    paper_dir, repro = small_project(tmp_path)
    assert workbench(tmp_path, "report", "mnist1d").returncode == 0
    shutil.rmtree(repro / "runs")
    shutil.rmtree(repro / "evidence")
    proc = workbench(tmp_path, "report", "mnist1d")
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: reproductions/mnist1d/comparison.json answers 3 claim(s)")
    assert "0 reproduction runs" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    write_run(repro, "20261125-110000-ppppp0", stage="prototype", acc=94.0)
    proc = workbench(tmp_path, "report", "mnist1d", "--stage", "prototype", "--force")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((repro / "comparison.json").read_text())
    assert data["stage"] == "prototype" and by_id(data)["table1.cnn.standard.test_acc"]["ours"]["n"] == 1


def test_report_help_names_the_new_options():
    proc = workbench(REPO, "report", "--help")
    assert proc.returncode == 0
    for option in ("--stage", "--allow-dirty", "--force"):
        assert option in proc.stdout


# --- 6. how to re-run, 7. the headline ---------------------------------------------------------


def test_how_to_rerun_comes_from_the_runs_own_overrides(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0]], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed in (0, 2):
        run = write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=94.0)
        typed = ["stage=reproduction", "model=cnn", "data=p59", "trainer.max_steps=15000", f"seed={seed}"]
        (run / "overrides.yaml").write_text(yaml.safe_dump(typed))
    write_report(paper_dir, repro)
    rerun = (repro / "REPORT.md").read_text().split("## How to re-run")[1]
    assert "workbench run mnist1d -m stage=reproduction model=cnn data=p59 trainer.max_steps=15000 seed=0,2\n" in rerun


def test_the_headline_comes_before_the_claims_table(tmp_path):
    paper_dir, repro = small_project(tmp_path)
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    headline, rest = md.split("## Claims", 1)
    assert ("**2 of 3 claims reproduced** (2 reproduced, 1 not reproduced), from 6 completed run(s) (seeds 0, 1, 2) "
            "at stage `reproduction`, commit `abc1234`.") in headline
    assert "Deviations from the paper's recipe touch these claims: *epochs* (`table1.cnn.standard.test_acc`)." in headline
