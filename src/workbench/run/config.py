"""Config composition: workbench's shared groups + a paper's own `conf/`, with Hydra 1.3.

A paper's primary config is `papers/<name>/conf/config.yaml`; the shared groups (trainer/,
logger/, paths/, debug/) live in the package and are found through the search path
`pkg://workbench.configs`, so they work from any folder and for installed copies too.

Errors a user can cause (unknown group option, unknown key, wrong type, a sweep without -m)
are turned into one-line `ConfigError`s before anything runs, for every job of a sweep.
"""

from __future__ import annotations

import difflib
from importlib import resources
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from workbench.errors import ConfigError

SEARCHPATH_OVERRIDE = "hydra.searchpath=[pkg://workbench.configs]"

def shared_configs() -> Path:
    """The installed workbench.configs package (the repository's configs/ in an editable install)."""
    return Path(str(resources.files("workbench.configs")))

PRIMARY_CONFIG = "config"

# Hydra's own command-line flags that `workbench run` passes through; value = takes an argument.
HYDRA_FLAGS = {
    "-m": False, "--multirun": False, "--resolve": False, "--hydra-help": False,
    "--info": False, "-i": False,
    "--cfg": True, "-c": True, "--package": True, "-p": True,
}


@dataclass
class RunArgs:
    """`workbench run` arguments split into Hydra flags and config overrides."""

    overrides: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def multirun(self) -> bool:
        return "-m" in self.flags or "--multirun" in self.flags

    @property
    def prints_config(self) -> bool:
        return any(f in self.flags for f in ("--cfg", "-c", "--info", "-i", "--hydra-help"))


def split_run_args(args: list[str]) -> RunArgs:
    """Separate Hydra flags (`-m`, `--cfg job`, ...) from `key=value` overrides."""
    parsed = RunArgs()
    items = iter(args)
    for arg in items:
        if arg.startswith("-") and "=" not in arg:
            if arg not in HYDRA_FLAGS:
                raise ConfigError(
                    f"unknown option '{arg}'. workbench run takes key=value overrides and "
                    f"Hydra's flags {', '.join(sorted(HYDRA_FLAGS))}"
                )
            parsed.flags.append(arg)
            if HYDRA_FLAGS[arg]:
                value = next(items, None)
                if value is None:
                    raise ConfigError(f"option '{arg}' needs a value, e.g. '{arg} job'")
                parsed.flags.append(value)
        else:
            parsed.overrides.append(arg)
    return parsed


def compose_config(conf_dir: Path, overrides: list[str]) -> DictConfig:
    """Compose one job's config (hydra node included); raises ConfigError on user mistakes."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
            cfg = compose(
                PRIMARY_CONFIG,
                overrides=[SEARCHPATH_OVERRIDE, *overrides],
                return_hydra_config=True,
            )
            resolve_user_config(cfg)
            return cfg
    except (HydraException, OmegaConfBaseException, ValueError) as exc:  # first: some are OSErrors too
        raise find_broken_yaml(conf_dir) or explain_compose_error(exc, conf_dir, overrides) from None
    except TypeError as exc:  # Hydra's own crash on e.g. model=[1,2]
        raise ConfigError(f"cannot use the overrides '{' '.join(overrides)}' ({first_line(str(exc))}); "
                          f"a config group takes one option name, e.g. model=mlp") from None
    except (yaml.YAMLError, RecursionError, OSError):
        raise find_broken_yaml(conf_dir) or ConfigError(
            f"a config under {conf_dir} cannot be read; check the files you edited") from None
    finally:
        GlobalHydra.instance().clear()


def load_config(paper: str, overrides: list[str] | None = None) -> DictConfig:
    """A paper's composed config, as `workbench run <paper> <overrides>` would see it (for tests)."""
    from workbench.project import find_paper, project_root

    root = project_root()
    set_project_root(root)
    cfg = compose_config(find_paper(root, paper).conf_dir, list(overrides or []))
    return OmegaConf.create(resolve_user_config(cfg))


def find_broken_yaml(conf_dir: Path) -> ConfigError | None:
    """Hydra's YAML errors do not name the file; find it and the line (None: all files read)."""
    for path in sorted([*conf_dir.rglob("*.yaml"), *shared_configs().rglob("*.yaml")]):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}:" if mark else ""
            problem = getattr(exc, "problem", None) or first_line(str(exc))
            return ConfigError(f"{path}:{line} invalid YAML ({problem}); fix the file")
        except RecursionError:
            return ConfigError(f"{path}: nested too deeply to read; fix the file")
        except (OSError, ValueError) as exc:  # ValueError: bad UTF-8, an integer of thousands of digits
            return ConfigError(f"{path}: cannot read ({first_line(str(exc))}); fix the file")
        if data is not None and not isinstance(data, (dict, list)):
            return ConfigError(f"{path}: a config file holds a mapping of keys, not a {type(data).__name__}; fix the file")
    return None


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping, as Hydra does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key '{key}' appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def resolve_user_config(cfg: DictConfig) -> dict[str, Any]:
    """The job's config without Hydra's node, every interpolation resolved."""
    return {k: OmegaConf.to_container(v, resolve=True) if isinstance(v, (DictConfig, ListConfig)) else v
            for k, v in cfg.items() if k != "hydra"}


def expand_sweep(overrides: list[str], multirun: bool) -> list[list[str]]:
    """Every job's overrides, as Hydra's basic sweeper would launch them."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as exc:
        raise ConfigError(f"cannot parse override: {first_line(str(exc))}") from None
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        names = ", ".join(o.input_line for o in sweeps)
        raise ConfigError(f"override '{names}' lists several values; add -m to sweep over them")
    if not multirun:
        return [overrides]
    batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return [list(job) for batch in batches for job in batch]


def validate_run(conf_dir: Path, overrides: list[str], multirun: bool) -> list[DictConfig]:
    """Compose every job of the run or sweep up front, so a typo fails before any training."""
    return [compose_config(conf_dir, job) for job in expand_sweep(overrides, multirun)]


def explain_compose_error(exc: Exception, conf_dir: Path, overrides: list[str]) -> ConfigError:
    """Turn Hydra's multi-line errors into one line that says what to do."""
    text = f"{exc}\n{exc.__cause__ or ''}"
    missing_option = re.search(r"Could not find '([^']+)/([^']+)'", text)
    if isinstance(exc, MissingConfigException) and missing_option:
        group, option = missing_option.groups()
        options = available_options(conf_dir, group)
        hint = did_you_mean(option, options)
        return ConfigError(
            f"no option '{option}' for '{group}' in {conf_dir / group}/.{hint} "
            f"Available: {', '.join(options) or 'none'}"
        )
    missing_key = re.search(r"Could not override '([^']+)'", text)
    if missing_key and "not in struct" in text:
        full_key = missing_key.group(1)
        return ConfigError(
            f"unknown config key '{full_key}'.{did_you_mean_key(full_key, conf_dir, overrides)} "
            f"(`--cfg job` prints every key; prefix with + to add a new one)"
        )
    if "Could not override" in text or "Error merging override" in text or "ValidationError" in type(exc).__name__:
        detail = [line.strip() for line in text.splitlines() if line.strip()]
        return ConfigError(" ".join(detail[:2]))
    key = getattr(exc, "full_key", None)
    if key:  # an interpolation or value error inside a file: name the key it sits under
        return ConfigError(f"config key '{key}': {first_line(text)}")
    return ConfigError(first_line(text))


def available_options(conf_dir: Path, group: str) -> list[str]:
    folders = [conf_dir / group, shared_configs() / group]
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")})


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def did_you_mean_key(full_key: str, conf_dir: Path, overrides: list[str]) -> str:
    """Suggest the nearest existing key by composing without the offending override."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(full_key)]
    try:
        cfg = compose_config(conf_dir, kept)
    except ConfigError:
        return ""
    return did_you_mean(full_key, sorted(flatten_keys(resolve_user_config(cfg))))


def flatten_keys(tree: Any, prefix: str = "") -> list[str]:
    if not isinstance(tree, dict):
        return [prefix]
    keys = [prefix] if prefix else []
    for k, v in tree.items():
        keys += flatten_keys(v, f"{prefix}.{k}" if prefix else str(k))
    return keys


def job_choices(hydra_cfg: DictConfig) -> dict[str, str]:
    """Chosen option per config group (model, data, stage, ...), without Hydra's own groups."""
    choices = OmegaConf.to_container(hydra_cfg.runtime.choices)
    return {k: v for k, v in choices.items() if not k.startswith("hydra/") and v is not None}


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def set_project_root(root: Path) -> None:
    """Configs read WORKBENCH_ROOT (paths.root); child processes of a sweep inherit it."""
    os.environ["WORKBENCH_ROOT"] = str(root.resolve())
