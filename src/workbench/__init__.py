"""workbench: re-implement ML papers in three gated stages; report your numbers beside theirs.

The public API a paper's code may use (papers never import anything else from workbench):
"""

from workbench.config import load_config
from workbench.errors import ConfigError, UserError
from workbench.experiment import Experiment, count_parameters, fingerprint, make_optimizer, require_positive
from workbench.seeding import preserve_rng, seed_everything
from workbench.trainer import quick_fit

__all__ = [
    "ConfigError",
    "Experiment",
    "UserError",
    "count_parameters",
    "fingerprint",
    "load_config",
    "make_optimizer",
    "preserve_rng",
    "quick_fit",
    "require_positive",
    "seed_everything",
]
__version__ = "0.1.0"
