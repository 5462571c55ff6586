"""A run's progress: a bar on a terminal, status lines in logs and for jobs side by side."""

import re

import pytest

from workbench.console import stderr
from workbench.errors import ConfigError
from workbench.run.progress import ProgressBar, progress_mode
from workbench.run.trainer import TrainerConfig, TrainState
from workbench.run.provenance import run_identity


def shown_lines(cfg: TrainerConfig, shown: bool = True, start_step: int = 0, label: str = "model=cnn seed=1") -> list[str]:
    state = TrainState(last_train={"loss": 0.5}, last_eval={"test/acc": 91.25})
    mode = progress_mode(cfg.progress) if shown else None
    with stderr.capture() as captured, ProgressBar(cfg.max_steps, mode, start_step, label) as bar:
        for step in range(start_step + 1, cfg.max_steps + 1):
            bar.update(step, state)
    return captured.get().splitlines()


def test_status_lines_at_every_tenth_of_the_run_name_the_run_and_the_time_left():
    lines = shown_lines(TrainerConfig(max_steps=200, progress="lines"))
    assert len(lines) == 9  # steps 20, 40, ..., 180: the last step's line is the run's "completed" line
    assert lines[0].startswith("  model=cnn seed=1: step 20/200 (10%) · ")
    assert re.search(r"ms a step · \d+ s, about \d+ s left · loss 0\.5 · test/acc 91\.2", lines[0]), lines[0]
    assert "step 180/200 (90%)" in lines[-1]


def test_a_run_that_is_not_on_a_terminal_gets_lines_instead_of_a_bar():
    if stderr.is_terminal:
        pytest.skip("stderr is a terminal here (pytest -s): the bar is drawn")
    assert len(shown_lines(TrainerConfig(max_steps=50, progress=True))) == 9


def test_a_resumed_run_counts_its_time_from_where_it_resumed():
    lines = shown_lines(TrainerConfig(max_steps=100, progress="lines"), start_step=60)
    assert [re.search(r"step (\d+)/", line).group(1) for line in lines] == ["70", "80", "90"]


def test_no_progress_when_it_is_off_or_the_run_is_quiet():
    assert shown_lines(TrainerConfig(max_steps=50, progress="lines"), shown=False) == []


def test_progress_takes_true_false_or_lines():
    assert TrainerConfig(progress="lines").progress == "lines"
    with pytest.raises(ConfigError, match=r"trainer.progress=bar must be true, false or lines"):
        TrainerConfig(progress="bar")


def test_a_runs_name_in_status_lines_is_what_it_trains_not_how_it_runs():
    overrides = ["stage=reproduction", "model=cnn", "data=shuffled", "trainer.vectorize_seeds=True", "logger=none",
                 "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "+optim.api_key=abc123", "stages=3",
                 "logger.wandb.mode=offline", "seed=2"]
    assert run_identity(overrides) == "model=cnn data=shuffled +optim.api_key=<redacted> stages=3 seed=2"


def test_the_setting_chooses_the_display():
    assert progress_mode(False) is None and progress_mode("lines") == "lines"
    assert progress_mode(True) == ("bar" if stderr.is_terminal else "lines")
