"""A paper's experiment gone wrong: build(cfg) returns something that is not an Experiment, or a
config value the paper cannot use. Each is one `error:` line before training, never a traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from workbench.errors import UserError
from workbench.run.runner import check_experiment

from conftest import workbench
from test_cli import assert_one_line_error

NO_EVALUATE = {
    "paper.yaml": "name: noeval\ntitle: An experiment without evaluate()\n",
    "conf/config.yaml": """\
        defaults:
          - run
          - _self_
        paper:
          name: noeval
        """,
    "experiment.py": """\
        import torch
        from torch import nn


        class NoEvaluate:
            def __init__(self):
                self.model = nn.Linear(2, 1)

            def optimizers(self):
                return torch.optim.SGD(self.model.parameters(), lr=0.1), None

            def train_batches(self):
                while True:
                    yield torch.ones(4, 2)

            def train_step(self, batch):
                return {"loss": self.model(batch).pow(2).mean()}


        def build(cfg):
            return NoEvaluate()
        """,
}


def write_paper(root: Path, name: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / "papers" / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def no_run_folders(root: Path, paper: str) -> bool:
    """It failed before any run folder was made (the runs folder itself may exist)."""
    return not any((root / "reproductions" / paper / "runs").glob("*/*/config.yaml"))


def test_an_experiment_missing_a_protocol_method_is_named_in_one_line(project):
    write_paper(project, "noeval", NO_EVALUATE)
    proc = workbench(project, "run", "noeval", "logger=none")
    assert_one_line_error(proc, "papers/noeval/experiment.py", "has no evaluate", "def evaluate(self)")
    assert no_run_folders(project, "noeval")


class Model:
    model = torch.nn.Linear(1, 1)

    def optimizers(self): ...

    def train_batches(self): ...

    def train_step(self, batch): ...

    def evaluate(self): ...


@pytest.mark.parametrize(("experiment", "fragments"), [
    (None, ["returned None", "return <your experiment>"]),
    (object(), ["object that build(cfg) returned has no model", "self.model ="]),
    (type("NotAModule", (Model,), {"model": "a string"})(), ["NotAModule.model is a str, not a torch.nn.Module"]),
    (type("StepIsData", (Model,), {"train_step": 3})(), ["has no train_step", "def train_step(self, batch)"]),
])
def test_check_experiment_names_what_to_add(experiment, fragments):
    with pytest.raises(UserError) as caught:
        check_experiment(experiment, Path("papers/x/experiment.py"))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("papers/x/experiment.py: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    check_experiment(Model(), Path("papers/x/experiment.py"))  # the whole protocol passes


def test_a_bad_paper_config_value_is_one_error_line_before_training(project):
    proc = workbench(project, "run", "grokking", "stage=prototype", "model.n_heads=3", "logger=none")
    assert_one_line_error(proc, "model.d_model=64 must be divisible by model.n_heads=3", "model.n_heads=2")
    assert no_run_folders(project, "grokking")
