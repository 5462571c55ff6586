"""A run or `-m` sweep checked before anything trains, and what each job hands back to its sweeper.

The basic sweeper's jobs are known up front (the command line's lists, plus `hydra.sweeper.params`
that an `experiment=` preset may carry), so every one is composed before the first runs. Other
sweepers (hydra/sweeper=optuna, ...) pick values as they go: the check composes one job, each swept
key at its first value, and the job returns the metric `sweep.objective` names for them to optimise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override
from hydra.errors import OverrideParseException
from omegaconf import DictConfig, OmegaConf
from rich.markup import escape

from workbench.console import stderr
from workbench.errors import ConfigError
from workbench.run.config import RunArgs, composer, first_line


@dataclass
class SweepPlan:
    """What `workbench run` is about to launch: the composed jobs and how many runs Hydra will start."""

    jobs: list[DictConfig]  # every job (basic sweeper) or one representative job (other sweepers)
    n_jobs: int  # 0 when a sweeper decides as it goes and names no trial count
    sweeper: str = "basic"


def check_command_line(conf_dir: Path, args: RunArgs) -> SweepPlan:
    """`workbench run`'s overrides checked before Hydra sees them, so a mistake is one line; a command
    line that only asks (--cfg, --info) plans no job (with -m, launch composes each job it prints)."""
    if args.prints_config and args.multirun:
        return SweepPlan([], 0)
    plan = plan_run(conf_dir, args.overrides, args.multirun, warn=not args.prints_config)
    return SweepPlan([], 0) if args.prints_config else plan


def plan_run(conf_dir: Path, overrides: list[str], multirun: bool, warn: bool = True) -> SweepPlan:
    """Compose every job of the run or sweep up front, so a typo fails before any training. One Hydra
    initialisation composes them all: jobs that differ only in values cost a copy, not a compose."""
    parsed = parse(overrides)
    swept = [o for o in parsed if o.is_sweep_override()]
    if swept and not multirun:
        names = ", ".join(o.input_line for o in swept)
        raise ConfigError(f"override '{names}' lists several values; add -m to sweep over them")
    with composer(conf_dir) as compose_job:
        base = compose_job([first_value(o) for o in parsed])
        sweeper = planned_as(base.hydra.runtime.choices.get("hydra/sweeper") or "basic")
        params = sweeper_params(base) if sweeper == "basic" else []
        if not multirun:
            if params and warn:
                stderr.print(f"[yellow]warning:[/] the config sweeps {', '.join(p.split('=')[0] for p in params)} "
                             f"(hydra.sweeper.params); add -m to run that sweep, this is one run", highlight=False)
            return SweepPlan([base], 1)
        if sweeper != "basic":
            trials = OmegaConf.select(base, "hydra.sweeper.n_trials")
            return SweepPlan([base], trials if isinstance(trials, int) else 0, sweeper)
        jobs = expand_sweep([*params, *overrides])
        if len(jobs) > 20:  # composing takes a moment a job: say what the wait is
            stderr.print(f"checking the configs of the sweep's {len(jobs)} jobs before any runs", highlight=False)
        return SweepPlan([compose_job(job) for job in jobs], len(jobs))


def planned_as(sweeper: str) -> str:
    """hydra/sweeper=workbench (hydra_plugins/workbench_sweeper, the default) is the basic sweeper
    launching the jobs planned here: it plans as "basic"."""
    return "basic" if sweeper == "workbench" else sweeper


def parse(overrides: list[str]) -> list[Override]:
    """Hydra's parse of the overrides; an unreadable one is named, without the grammar's jargon."""
    for override in overrides:
        try:
            override.encode("utf-8")
        except UnicodeEncodeError:  # bytes the terminal's encoding could not decode (sys.argv keeps them as surrogates)
            raise ConfigError(f"override '{printable(override)}' is not UTF-8 text; retype it (was it pasted from a "
                              f"file in another encoding?)") from None
    parser = OverridesParser.create()
    try:
        return parser.parse_overrides(overrides)
    except OverrideParseException as exc:
        bad = next((o for o in overrides if not parses(parser, o)), None)
        if bad is None or "Lexer" not in str(exc) and "mismatched" not in str(exc) and "extraneous" not in str(exc):
            raise ConfigError(f"cannot parse override: {printable(first_line(str(exc)))}") from None
        raise ConfigError(f"cannot parse override '{printable(bad)}': overrides are key=value (quote a value holding spaces, "
                          f"brackets or commas, e.g. 'key=\"a, b\"'; a list is key=[a,b])") from None


def printable(text: str) -> str:
    """Text for a one-line message: undecodable bytes as \\xNN, newlines and other controls escaped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def parses(parser: OverridesParser, override: str) -> bool:
    try:
        parser.parse_overrides([override])
    except OverrideParseException:
        return False
    return True


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """Every job's overrides, as Hydra's basic sweeper launches them (a later value of a key wins)."""
    parsed = parse(overrides)
    for override in parsed:
        if override.is_sweep_override() and not override.is_discrete_sweep():
            raise ConfigError(f"'{override.input_line}': the basic sweeper takes lists, choice() and range(); "
                              f"interval() needs a sweeper that samples, e.g. hydra/sweeper=optuna")
    batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return [list(job) for batch in batches for job in batch]


def first_value(override: Override) -> str:
    """The override with a sweep replaced by its first value, so its key and type are checked."""
    if not override.is_sweep_override():
        return override.input_line
    key = override.get_key_element()
    if isinstance(override.value(), IntervalSweep):
        return f"{key}={override.value().start}"
    return f"{key}={next(iter(override.sweep_string_iterator()))}"


def sweeper_params(cfg: DictConfig) -> list[str]:
    """`hydra.sweeper.params` (e.g. from an experiment preset) as the overrides the basic sweeper adds."""
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    return [f"{key}={value}" for key, value in params.items()]


def job_objective(config: dict[str, Any], metrics: list[dict[str, Any]]) -> float | None:
    """The value a sweeper optimises: the mean over the job's runs of the metric `sweep.objective`
    names (None when no objective is set; NaN when a run did not report it, so the trial fails)."""
    objective = (config.get("sweep") or {}).get("objective")
    if not objective:
        return None
    values = [m.get(objective) for m in metrics]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        known = sorted({k for m in metrics for k in m})
        stderr.print(f"[yellow]warning:[/] sweep.objective={escape(objective)} is not among the run's metrics "
                     f"({', '.join(known) or 'none'}); this job returns NaN", highlight=False)
        return math.nan
    return sum(values) / len(values)
