"""workbench: re-implement ML papers in three gated stages; report your numbers beside theirs.

The public API a paper's code may use (papers import nothing else from workbench;
docs/architecture.md lists it). Names are loaded on first use (PEP 562), so `workbench --help` and config errors do
not wait for torch; the imports under TYPE_CHECKING show editors and type checkers the same names.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.errors import ConfigError, UserError
    from workbench.run.attention import attention_payload, capture_attention
    from workbench.run.config import load_config
    from workbench.run.datacache import cached_arrays
    from workbench.run.experiment import (Experiment, count_parameters, fingerprint, make_optimizer, require_batch_fits,
                                          require_positive)
    from workbench.run.record import read_metrics
    from workbench.run.seeding import preserve_rng, seed_everything
    from workbench.run.trainer import Trainer, TrainerConfig, TrainState, quick_fit

_PUBLIC = {
    "ConfigError": "workbench.errors",
    "UserError": "workbench.errors",
    "attention_payload": "workbench.run.attention",
    "capture_attention": "workbench.run.attention",
    "Experiment": "workbench.run.experiment",
    "count_parameters": "workbench.run.experiment",
    "fingerprint": "workbench.run.experiment",
    "make_optimizer": "workbench.run.experiment",
    "require_batch_fits": "workbench.run.experiment",
    "require_positive": "workbench.run.experiment",
    "load_config": "workbench.run.config",
    "cached_arrays": "workbench.run.datacache",
    "read_metrics": "workbench.run.record",
    "preserve_rng": "workbench.run.seeding",
    "seed_everything": "workbench.run.seeding",
    "quick_fit": "workbench.run.trainer",
    "Trainer": "workbench.run.trainer",
    "TrainerConfig": "workbench.run.trainer",
    "TrainState": "workbench.run.trainer",
}
__all__ = sorted(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'workbench' has no attribute '{name}'")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__"})
