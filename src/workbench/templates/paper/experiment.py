"""The experiment of "{{title}}" (arXiv {{arxiv}}): data, model, optimizer, loss, metrics.

`build(cfg)` returns an object with the workbench.Experiment protocol (model, optimizers(),
train_batches(), train_step(batch), evaluate()): docs/experiment.md in the workbench repository,
and papers/mnist1d/experiment.py there is a full example. This folder is the package
papers.{{name}}: import its own modules relatively, e.g. `from .model import Model`.
"""

from __future__ import annotations

from typing import Any

from workbench import Experiment, UserError


def build(cfg: Any) -> Experiment:
    raise UserError(
        "papers/{{name}}/experiment.py: build(cfg) is not written yet; implement the data, model, "
        "optimizer and loss (stage 2: docs/experiment.md)"
    )
