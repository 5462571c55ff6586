"""The `workbench` command as a user meets it: help, runs, run folders, and one-line errors."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import allow_overrides, run_dirs, summary, workbench

SHORT = ("trainer.max_steps=20", "trainer.eval_every=10")  # a real (not debug) run, kept short


def assert_one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def test_help_lists_commands_and_run_help_explains_overrides(project):
    top = workbench(project, "--help")
    assert top.returncode == 0
    for command in ("run", "resume", "report", "status", "list"):
        assert command in top.stdout
    run_help = workbench(project, "run", "--help")
    assert "-m" in run_help.stdout and "stage=reproduction" in run_help.stdout and "--cfg job" in run_help.stdout


def test_a_run_writes_the_run_folder_contract(project):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=logistic")
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(project, "prototype")
    for name in ("config.yaml", "overrides.yaml", "provenance.json", "metrics.jsonl", "summary.json",
                 "analysis.json", "checkpoints/last.pt"):
        assert (run / name).exists(), name
    assert yaml.safe_load((run / "overrides.yaml").read_text()) == ["debug=fast", "model=logistic"]
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["choices"]["model"] == "logistic" and config["trainer"]["max_steps"] == 20
    result = summary(run)
    assert result["status"] == "completed" and result["step"] == 20
    assert result["params"] == 410
    assert result["wall_time_s"] > 0 and result["steps_per_s"] > 0
    assert 0 <= result["metrics"]["test/acc"] <= 100
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["command"].startswith("workbench run mnist1d debug=fast")
    assert len(prov["data_hash"]) == 64
    assert prov["packages"]["torch"] and prov["device"].startswith("cpu")


@pytest.mark.integration
def test_multirun_makes_one_folder_per_job(project):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "-m", "model=logistic,mlp", "seed=0,1")
    assert proc.returncode == 0, proc.stderr
    runs = run_dirs(project, "prototype")
    assert len(runs) == 4
    seen = {(yaml.safe_load((r / "config.yaml").read_text())["choices"]["model"], summary(r)["seed"]) for r in runs}
    assert seen == {("logistic", 0), ("logistic", 1), ("mlp", 0), ("mlp", 1)}
    assert "4 of 4 runs completed" in proc.stderr


def test_cfg_job_prints_the_config_and_runs_nothing(project):
    proc = workbench(project, "run", "mnist1d", "stage=reproduction", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr
    assert "max_steps: 6000" in proc.stdout
    assert run_dirs(project, "reproduction") == []


@pytest.mark.integration
def test_component_stage_runs_the_component_tests(project):
    proc = workbench(project, "run", "mnist1d", "stage=component")
    assert proc.returncode == 0, proc.stderr
    [run] = run_dirs(project, "component")
    gate = summary(run)["gate"]
    assert gate["passed"] and gate["tests"]["passed"] > 10


def test_unknown_paper_suggests_the_nearest(project):
    assert_one_line_error(workbench(project, "run", "mnist1dd"), "no paper named 'mnist1dd'", "Did you mean 'mnist1d'?")


@pytest.mark.parametrize(("override", "fragments"), [
    ("trainer.max_stepz=5", ["unknown config key 'trainer.max_stepz'", "Did you mean 'trainer.max_steps'?"]),
    ("model=cnnn", ["no option 'cnnn' for 'model'", "Did you mean 'cnn'?", "logistic"]),
    ("trainer.max_steps=abc", ["trainer.max_steps", "abc"]),
    ("model=cnn,mlp", ["add -m"]),
    ("optim.lr=-1", ["optim.lr=-1"]),
    ("batch_size=0", ["batch_size=0 must be a positive integer"]),
    ("trainer.max_steps=0", ["trainer.max_steps=0 must be a positive integer"]),
    ("--bogus", ["unknown option '--bogus'"]),
])
def test_bad_overrides_fail_before_any_run_folder(project, override, fragments):
    proc = workbench(project, "run", "mnist1d", "debug=fast", override)
    assert_one_line_error(proc, *fragments)
    runs = project / "reproductions" / "mnist1d" / "runs"
    assert not runs.exists() or not any(runs.glob("*/*/summary.json"))


def test_a_bad_value_in_one_sweep_job_stops_the_sweep_before_it_starts(project):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "-m", "model=logistic,cnnn")
    assert_one_line_error(proc, "no option 'cnnn'")
    assert run_dirs(project, "prototype") == []


def test_malformed_yaml_in_a_config_names_the_file(project):
    (project / "papers" / "mnist1d" / "conf" / "model" / "cnn.yaml").write_text("name: cnn\nchannels: [25\n")
    proc = workbench(project, "run", "mnist1d", "debug=fast", "model=cnn")
    assert_one_line_error(proc, "cnn.yaml")


def test_claims_with_a_missing_field_name_file_entry_and_field(project):
    path = project / "papers" / "mnist1d" / "claims.yaml"
    data = yaml.safe_load(path.read_text())
    del data["claims"][2]["value"]
    path.write_text(yaml.safe_dump(data))
    proc = workbench(project, "report", "mnist1d")
    assert_one_line_error(proc, "claims.yaml", data["claims"][2]["id"], "value")
    assert not (project / "reproductions" / "mnist1d" / "REPORT.md").exists()


def test_a_metric_no_run_logs_is_named(project):
    assert workbench(project, "run", "mnist1d", "stage=reproduction", *SHORT, "model=logistic").returncode == 0
    path = project / "papers" / "mnist1d" / "claims.yaml"
    path.write_text(path.read_text().replace("metric: test/acc", "metric: test/accuracy"))
    proc = workbench(project, "report", "mnist1d")
    assert proc.returncode == 0, proc.stderr  # the report is still written; the claim is missing
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:") and "test/accuracy" in line]
    # one line a claim that reads the metric (the logistic cell and the shuffling claim over it)
    assert warnings and all("they log: " in w and "test/acc" in w for w in warnings)
    assert (project / "reproductions" / "mnist1d" / "REPORT.md").exists()


@pytest.mark.integration
def test_report_status_and_list_after_a_reproduction_run(project):
    allow_overrides(project, "mnist1d", *(o.split("=")[0] for o in SHORT))  # SHORT runs count, in this copy
    assert workbench(project, "run", "mnist1d", "stage=reproduction", "debug=fast", "model=cnn").returncode == 0
    assert workbench(project, "run", "mnist1d", "stage=reproduction", *SHORT, "model=logistic").returncode == 0
    report = workbench(project, "report", "mnist1d")
    assert report.returncode == 0, report.stderr
    comparison = json.loads((project / "reproductions" / "mnist1d" / "comparison.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in comparison["claims"]}
    assert len(verdicts) == 12  # Table 1's 8 cells and 4 shuffling claims
    assert verdicts["table1.cnn.standard.test_acc"] == "missing"  # its only run used debug=fast
    assert verdicts["table1.logistic.standard.test_acc"] != "missing"
    status = workbench(project, "status", "mnist1d")
    assert status.returncode == 0
    assert "checklist:" in status.stdout and "reproduction" in status.stdout and "missing" in status.stdout
    listing = workbench(project, "list")
    assert "mnist1d" in listing.stdout and "2011.14439" in listing.stdout


@pytest.mark.integration
def test_joblib_launcher_runs_jobs_in_worker_processes_and_counts_failures(project):
    proc = workbench(project, "run", "mnist1d", "debug=fast", "-m", "model=logistic,mlp", "optim.lr=0.01,-1",
                     "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert proc.returncode == 1  # two jobs have a negative lr
    assert "2 of 4 runs completed" in proc.stderr
    assert proc.stderr.count("optim.lr=-1 must be a positive number") == 2
    runs = run_dirs(project, "prototype")
    assert len(runs) == 2 and all(summary(r)["status"] == "completed" for r in runs)
    # jobs side by side print status lines, not bars, each naming what it trains (debug=fast: 20 steps)
    for model in ("logistic", "mlp"):
        assert f"  debug=fast model={model} optim.lr=0.01: step 10/20 (50%) · " in proc.stderr, proc.stderr
