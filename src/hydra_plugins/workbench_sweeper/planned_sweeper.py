"""hydra/sweeper=workbench, the default sweeper of `workbench run -m`: Hydra's basic sweeper (the
same jobs, batches and launchers) for a sweep whose every job workbench has already composed.

`workbench run` composes (checks) each job of a sweep before Hydra starts (workbench.run.sweep.plan_run).
The basic sweeper would compose each job again before launching any, and the launcher once more
as it runs it: about 0.1 s a compose, so a 300-job sweep waited half a minute for its first job.
This one launches at once, and its launcher composes each set of config-group choices once and
every job as a copy with its values set (workbench.run.config.ChoiceCopies). Hydra finds plugins
only in the hydra_plugins package, so the class lives here and the work in workbench.
No `from __future__ import annotations`: Hydra's plugin scan runs this module before it is in
sys.modules, where a dataclass cannot look string annotations up.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


@dataclass
class PlannedSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.workbench_sweeper.planned_sweeper.PlannedSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="workbench", node=PlannedSweeperConf, provider="workbench")


class PlannedSweeper(BasicSweeper):
    """BasicSweeper, with a launcher that composes by copying, and no second check of the jobs."""

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from workbench.run.config import CopyingConfigLoader  # here, not at import: Hydra imports every plugin

        copying = HydraContext(config_loader=CopyingConfigLoader(hydra_context.config_loader),
                               callbacks=hydra_context.callbacks)
        super().setup(hydra_context=copying, task_function=task_function, config=config)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Nothing to do: `workbench run` composed every job of the sweep before Hydra started."""
