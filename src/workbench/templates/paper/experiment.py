"""The experiment of "{{title}}" (arXiv {{arxiv}}): data, model, optimizer, loss, metrics.

`build(cfg)` returns an object with the workbench.Experiment protocol (model, optimizers(),
train_batches(), train_step(batch), evaluate()); papers/mnist1d/experiment.py is a full example.
"""

from __future__ import annotations

from typing import Any

from workbench import Experiment, UserError


def build(cfg: Any) -> Experiment:
    raise UserError(
        "papers/{{name}}/experiment.py: build(cfg) is not written yet; implement the data, model, "
        "optimizer and loss (stage 2, see papers/mnist1d/experiment.py)"
    )
