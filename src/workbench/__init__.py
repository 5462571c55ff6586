"""workbench: re-implement ML papers in three gated stages; report your numbers beside theirs.

The public API a paper's code may use (papers import nothing else from workbench). Names are
loaded on first use (PEP 562), so `workbench --help` and config errors do not wait for torch.
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "ConfigError": "workbench.errors",
    "UserError": "workbench.errors",
    "attention_payload": "workbench.attention",
    "capture_attention": "workbench.attention",
    "Experiment": "workbench.experiment",
    "count_parameters": "workbench.experiment",
    "fingerprint": "workbench.experiment",
    "make_optimizer": "workbench.experiment",
    "require_positive": "workbench.experiment",
    "load_config": "workbench.config",
    "preserve_rng": "workbench.seeding",
    "seed_everything": "workbench.seeding",
    "quick_fit": "workbench.trainer",
}
__all__ = sorted(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'workbench' has no attribute '{name}'")
    return getattr(import_module(_PUBLIC[name]), name)
