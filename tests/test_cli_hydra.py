"""`workbench` as Hydra and typer users expect it: a light start, --version, completion, --info,
`-m --cfg job`, experiment presets, other sweepers and their objective, one-line errors for Hydra
misuse, plain piped output and the table at the end of a sweep."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from workbench.errors import ConfigError
from workbench.run import record
from workbench.run.config import compose_config, job_choices, resolve_user_config, split_run_args
from workbench.run.record import RunOutcome
from workbench.run.sweep import job_objective, plan_run

from conftest import REPO, run_dirs, summary, workbench

MNIST1D_CONF = REPO / "papers" / "mnist1d" / "conf"
HEAVY = ("hydra", "torch", "matplotlib", "wandb", "mlflow", "omegaconf", "scipy")


def python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **(env or {})},
                          timeout=120)


def test_importing_the_cli_loads_none_of_the_heavy_packages():
    done = python(f"import sys, workbench.cli; print([m for m in {HEAVY!r} if m in sys.modules])")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_version_and_typer_completion(project):
    done = workbench(project, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"workbench {version('workbench')}"
    help_text = workbench(project, "--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text and "init" in help_text


def complete(project: Path, *words: str) -> list[str]:
    env = {"_WORKBENCH_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(["workbench", *words]),
           "COMP_CWORD": str(len(words))}
    done = workbench(project, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_tab_completes_papers_and_hydra_overrides(project):
    assert complete(project, "run", "mnist") == ["mnist1d"]
    assert set(complete(project, "run", "mnist1d", "model=")) == {f"model={m}" for m in ("cnn", "gru", "logistic", "mlp")}
    assert "experiment=" in complete(project, "run", "mnist1d", "exp")
    assert "trainer.max_steps=" in complete(project, "run", "mnist1d", "model=mlp", "trainer.max")


def test_run_help_lists_the_papers_config_groups(project):
    done = workbench(project, "run", "mnist1d", "--help")
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") >= 4}
    assert "logistic" in rows["model"] and "cnn" in rows["model"]
    assert "smoke" in rows["experiment"] and "table1" in rows["experiment"]
    assert "joblib" in rows["hydra/launcher"] and "basic" in rows["hydra/sweeper"]
    assert workbench(project, "run", "--help").returncode == 0


def test_info_works_bare_and_with_a_topic(project):
    bare = workbench(project, "run", "mnist1d", "--info")
    assert bare.returncode == 0, bare.stderr
    topic = workbench(project, "run", "mnist1d", "--info", "defaults", "model=mlp")
    assert topic.returncode == 0, topic.stderr
    assert "model/mlp" in topic.stdout and "model/cnn" not in topic.stdout


def test_multirun_cfg_job_prints_every_jobs_config_and_runs_nothing(project):
    done = workbench(project, "run", "mnist1d", "-m", "--cfg", "job", "model=logistic,mlp", "hydra.run.dir=/elsewhere")
    assert done.returncode == 0, done.stderr
    assert "# job 1/2: model=logistic" in done.stderr and "# job 2/2: model=mlp" in done.stderr
    assert done.stdout.count("\nseed: 0") == 2
    assert done.stdout.count("\n  name: logistic\n") == 1 and done.stdout.count("\n  name: mlp\n") == 1
    assert "hydra.run.dir is ignored" in done.stderr and "reproductions/<paper>/runs/<stage>" in done.stderr
    assert not (project / "reproductions").exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (["--shell-completion", "install=bash"], "workbench --install-completion"),
    (["--cfg", "jobs"], "--cfg jobs: not one of job, hydra, all"),
    (["-m", "hydra/sweeper=optuna_missing", "seed=0,1"], "no installed Hydra plugin provides hydra/sweeper"),
    (["-m", "optim.lr=interval(0.001,0.1)"], "interval() needs a sweeper that samples"),
    (["experiment=nope"], "no option 'nope' for 'experiment'"),
    (["hydra/launcher=joblib", "hydra.launcher.n_jobz=2", "--cfg", "job"], "Could not override 'hydra.launcher.n_jobz'"),
])
def test_hydra_misuse_is_one_line(project, args, fragment):
    done = workbench(project, "run", "mnist1d", *args)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], done.stderr
    assert not (project / "reproductions").exists()


def test_flags_split_with_optional_and_inline_values():
    assert split_run_args(["--info", "a=1"]).flags == ["--info", "all"]
    assert split_run_args(["--info", "plugins"]).flags == ["--info", "plugins"]
    assert split_run_args(["--cfg=hydra", "-m", "x=1,2"]).flags == ["--cfg", "hydra", "-m"]
    assert split_run_args(["-m", "--cfg", "job"]).single_run_flags() == ["--cfg", "job"]
    with pytest.raises(ConfigError, match="needs a value"):
        split_run_args(["--package"])


def test_experiment_presets_compose_and_stay_out_of_the_choices(monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    smoke = compose_config(MNIST1D_CONF, ["experiment=smoke"])
    config = resolve_user_config(smoke)
    assert config["trainer"]["max_steps"] == 20 and config["logger"]["console"] is False
    assert job_choices(smoke.hydra)["stage"] == "prototype" and "experiment" not in job_choices(smoke.hydra)
    table1 = compose_config(MNIST1D_CONF, ["experiment=table1"])
    assert job_choices(table1.hydra)["stage"] == "reproduction"
    # a preset that only chooses options composes the very config of those choices: same recipe
    plain = compose_config(MNIST1D_CONF, ["stage=reproduction"])
    assert resolve_user_config(table1) == resolve_user_config(plain)
    assert job_choices(table1.hydra) == job_choices(plain.hydra)


def test_the_table1_preset_carries_the_whole_sweep(monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    plan = plan_run(MNIST1D_CONF, ["experiment=table1", "seed=7"], multirun=True)
    assert plan.n_jobs == len(plan.jobs) == 8  # 4 models x 2 data sets; the command line's seed wins
    seen = {(job_choices(j.hydra)["model"], job_choices(j.hydra)["data"], j.seed) for j in plan.jobs}
    assert len(seen) == 8 and {s for *_, s in seen} == {7}


def test_a_long_seed_sweep_plans_every_job_with_its_own_seed(monkeypatch):
    """Jobs that differ only in a value are copies of one composed config: each must still be its own
    config, with its own seed and its own record of the overrides (launch reads hydra.overrides.task)."""
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    plan = plan_run(MNIST1D_CONF, ["model=mlp", "seed=range(0,300)"], multirun=True)
    assert plan.n_jobs == len(plan.jobs) == 300
    assert [job.seed for job in plan.jobs] == list(range(300))
    assert [list(job.hydra.overrides.task) for job in plan.jobs] == [["model=mlp", f"seed={s}"] for s in range(300)]
    assert {job_choices(job.hydra)["model"] for job in plan.jobs} == {"mlp"}
    plan.jobs[0].optim.lr = 0.5  # no job shares a node with another
    assert plan.jobs[1].optim.lr != 0.5


class RecordingTask:
    """A job's whole config and hydra node as Hydra hands them to the task, for comparison."""

    def __init__(self) -> None:
        self.jobs: list[dict] = []

    def __call__(self, cfg) -> None:
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf

        self.jobs.append({"cfg": OmegaConf.to_container(cfg), "hydra": OmegaConf.to_container(HydraConfig.get())})


@pytest.mark.parametrize("sweep", [["model=mlp,cnn", "seed=0,1", "optim.lr=0.01,0.1"],
                                   ["experiment=table1", "+trainer.extra=1,2", "data=shuffled"]])
def test_the_workbench_sweeper_launches_the_configs_hydras_basic_sweeper_composes(monkeypatch, tmp_path, sweep):
    """hydra/sweeper=workbench composes a job as a copy of the config of its group choices with its
    values set: each job must be, key for key and in the hydra node, what the basic sweeper's is."""
    from hydra.core.global_hydra import GlobalHydra

    from workbench.project import find_paper
    from workbench.run.launch import run_hydra

    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    paper = find_paper(REPO, "mnist1d")
    launched = {}
    for sweeper in ("workbench", "basic"):
        GlobalHydra.instance().clear()
        launched[sweeper] = RecordingTask()
        run_hydra(paper, launched[sweeper], ["-m"], [f"hydra/sweeper={sweeper}", f"hydra.sweep.dir={tmp_path}",
                                                       "logger=none", *sweep])
    ours, hydras = launched["workbench"].jobs, launched["basic"].jobs
    assert len(ours) == len(hydras) >= 4
    for job in (*ours, *hydras):  # only the sweeper's own choice tells them apart
        job["hydra"]["runtime"]["choices"].pop("hydra/sweeper")
        job["hydra"]["overrides"]["hydra"] = [o for o in job["hydra"]["overrides"]["hydra"]
                                              if not o.startswith("hydra/sweeper=")]
        job["hydra"].pop("sweeper")
    assert ours == hydras
    assert len({json.dumps(job["cfg"], sort_keys=True) for job in ours}) == len(ours)  # every job its own


def test_a_preset_sweep_without_m_is_one_run_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    plan = plan_run(MNIST1D_CONF, ["experiment=table1"], multirun=False)
    assert plan.n_jobs == 1
    assert "add -m to run that sweep" in capsys.readouterr().err


def test_other_sweepers_are_checked_on_the_first_values_only(monkeypatch):
    """A sampling sweeper's values are unknown up front: one job is composed, each swept key at its
    first value, so a typo in a swept key or a value of the wrong type still fails before anything runs."""
    from workbench.run.sweep import first_value, parse

    assert [first_value(o) for o in parse(["a=interval(0.001,0.1)", "b=choice(x,y)", "c=range(3,9)", "d=4"])] == [
        "a=0.001", "b=x", "c=3", "d=4"]
    monkeypatch.setenv("WORKBENCH_ROOT", str(REPO))
    with pytest.raises(ConfigError, match="optim.lrr"):
        plan_run(MNIST1D_CONF, ["optim.lrr=interval(0.001,0.1)"], multirun=True)


def test_job_objective_is_the_mean_of_the_named_metric(capsys):
    config = {"sweep": {"objective": "test/acc"}}
    assert job_objective(config, [{"test/acc": 30.0}, {"test/acc": 40.0}]) == 35.0
    assert job_objective({}, [{"test/acc": 30.0}]) is None
    assert math.isnan(job_objective(config, [{"test/loss": 1.0}]))
    assert "sweep.objective=test/acc is not among the run's metrics (test/loss)" in capsys.readouterr().err


def test_piped_output_is_not_wrapped():
    long_command = "wandb sync " + "/very/long/path" * 12
    done = python(f"from workbench.console import stdout; stdout.print({long_command!r})")
    assert done.stdout.splitlines() == [long_command]


def fake_run(folder: Path, overrides: list[str], metrics: dict) -> RunOutcome:
    folder.mkdir(parents=True)
    (folder / record.OVERRIDES).write_text(yaml.safe_dump(overrides))
    return RunOutcome("completed", folder, {"status": "completed", "metrics": metrics})


def test_sweep_table_names_what_tells_runs_apart(tmp_path):
    from rich.console import Console

    from workbench.run.launch import sweep_table

    runs = tmp_path / "runs" / "prototype"
    outcomes = [fake_run(runs / "20260101-000000-aaaaaa", ["model=mlp", "debug=fast"], {"test/acc": 31.25, "train/loss": 1}),
                fake_run(runs / "20260101-000001-bbbbbb", ["model=cnn", "debug=fast"], {"test/acc": 55.5}),
                RunOutcome("failed", None, {"message": "did not start"})]
    title, table = sweep_table(outcomes)
    assert title == f"3 runs in {runs}; all with debug=fast"
    console = Console(width=100, record=True)
    console.print(table)
    text = console.export_text()
    mlp_row = next(line for line in text.splitlines() if "model=mlp" in line)
    assert "31.25" in mlp_row and "20260101-000000-aaaaaa" in mlp_row and "train/loss" not in text
    assert "did not start" in text


STUB_SWEEPER = '''
from dataclasses import dataclass
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
import json, os


@dataclass
class StubSweeperConf:
    _target_: str = "hydra_plugins.stub_sweeper.StubSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="stub", node=StubSweeperConf, provider="stub")


class StubSweeper(Sweeper):
    """Two trials: each interval() at its start, then at its end; records what each job returned."""

    def setup(self, *, hydra_context, task_function, config):
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments):
        parsed = OverridesParser.create().parse_overrides(arguments)
        trials = []
        for end in ("start", "end"):
            trials.append([f"{o.get_key_element()}={getattr(o.value(), end)}" if o.is_sweep_override()
                           else o.input_line for o in parsed])
        returns = self.launcher.launch(trials, initial_job_idx=0)
        with open(os.environ["STUB_SWEEPER_OUT"], "w") as out:
            json.dump([r.return_value for r in returns], out)
'''


@pytest.mark.integration
def test_a_sampling_sweeper_gets_the_objective_back_from_each_job(project, tmp_path):
    """A stub Hydra sweeper plugin (the Optuna one's protocol: interval() values, return values read
    back): each job hands it the metric `sweep.objective` names."""
    plugins = tmp_path / "plugins" / "hydra_plugins" / "stub_sweeper"
    plugins.mkdir(parents=True)
    (plugins / "__init__.py").write_text(textwrap.dedent(STUB_SWEEPER))
    out = tmp_path / "returns.json"
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "plugins"), os.environ.get("PYTHONPATH", "")]),
           "STUB_SWEEPER_OUT": str(out)}
    done = workbench(project, "run", "mnist1d", "-m", "hydra/sweeper=stub", "+sweep.objective=test/acc",
                     "optim.lr=interval(0.001,0.01)", "model=logistic", "debug=fast", env=env)
    assert done.returncode == 0, done.stderr
    runs = run_dirs(project, "prototype")
    assert len(runs) == 2 and "2 of 2 runs completed" in done.stderr
    returned = json.loads(out.read_text())
    assert sorted(returned) == sorted(summary(r)["metrics"]["test/acc"] for r in runs)
    assert "runs in" in done.stdout and "optim.lr=0.001" in done.stdout  # the summary table


@pytest.mark.integration
def test_optuna_optimises_the_objective(project):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper",
                        reason="hydra-optuna-sweeper is not installed: pip install 'workbench[optuna]'")
    done = workbench(project, "run", "mnist1d", "-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=2",
                     "hydra.sweeper.direction=maximize", "+sweep.objective=test/acc",
                     "optim.lr=interval(0.001,0.1)", "model=logistic", "debug=fast")
    assert done.returncode == 0, done.stderr
    results = yaml.safe_load((project / "reproductions/mnist1d/runs/.hydra/optimization_results.yaml").read_text())
    assert results["best_value"] == max(summary(r)["metrics"]["test/acc"] for r in run_dirs(project, "prototype"))


def test_a_missing_integration_is_one_line_naming_its_extra(project):
    from workbench.project import find_paper
    from workbench.run.launch import crash_outcome

    def raised(name: str) -> ModuleNotFoundError:
        try:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        except ModuleNotFoundError as exc:
            return exc

    outcome = crash_outcome(raised("mnist1d"), find_paper(project, "mnist1d"))
    assert outcome.summary["message"] == "mnist1d is not installed; it comes with pip install 'workbench[papers]'"
    own_bug = crash_outcome(raised("nmupy"), find_paper(project, "mnist1d"))
    assert "traceback above" in own_bug.summary["message"]  # not an extra: the traceback shows whose import
    done = python("import sys; sys.modules['wandb'] = None; sys.argv = ['workbench', 'report', 'mnist1d', '--publish']\n"
                  "from workbench.report import publish\n"
                  "publish.publish = lambda *a, **k: __import__('wandb')\n"
                  "from workbench.cli import main; main()", env={"WORKBENCH_ROOT": str(project)})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "error: wandb is not installed; it comes with pip install 'workbench[wandb]'"
