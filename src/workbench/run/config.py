"""Config composition: workbench's shared groups + a paper's own `conf/`, with Hydra 1.3.

A paper's primary config is `papers/<name>/conf/config.yaml`; the shared groups (trainer/,
logger/, paths/, debug/, experiment/) live in the package and are found through the search path
`pkg://workbench.configs`, so they work from any folder and for installed copies too. A papers
repository of your own (`workbench init`) may add a configs/ of its own, searched first.

Errors a user can cause (unknown group option, unknown key, wrong type, a sweep without -m)
are turned into one-line `ConfigError`s before anything runs, for every job of a sweep.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.config_loader import ConfigLoader
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException, MissingConfigException
from hydra.plugins.completion_plugin import DefaultCompletionPlugin
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from workbench.errors import ConfigError

def shared_configs() -> Path:
    """The installed workbench.configs package (the repository's configs/ in an editable install)."""
    return Path(str(resources.files("workbench.configs")))


def project_configs() -> Path | None:
    """A papers repository's own configs/ (`workbench init` makes one), searched before the shared
    groups; None where there is none, or where it is workbench's own (this repository)."""
    root = os.environ.get("WORKBENCH_ROOT")
    own = Path(root, "configs").resolve() if root else None
    return own if own and own.is_dir() and own != shared_configs().resolve() else None


def searchpath_override() -> str:
    """Where Hydra finds groups besides the paper's conf/: the project's configs/, then workbench's."""
    own = project_configs()
    places = [f"'file://{own.as_posix()}'"] if own else []
    return f"hydra.searchpath=[{','.join([*places, 'pkg://workbench.configs'])}]"

PRIMARY_CONFIG = "config"

# Hydra's own command-line flags that `workbench run` passes through (Hydra's argparse reads them).
SWITCHES = ("-m", "--multirun", "--resolve", "--hydra-help")
COMPLETION_FLAGS = ("--shell-completion", "-sc")  # answered by workbench's own completion, see below
CFG_PARTS = ("job", "hydra", "all")
VALUED_FLAGS: dict[str, tuple[str, ...] | None] = {"--cfg": CFG_PARTS, "-c": CFG_PARTS, "--package": None, "-p": None}
INFO_FLAGS = ("--info", "-i")  # its value is optional; Hydra's default is `all`
INFO_TOPICS = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
ANSWERING_FLAGS = ("--cfg", "-c", "--info", "-i", "--hydra-help")
HYDRA_FLAGS = (*SWITCHES, *VALUED_FLAGS, *INFO_FLAGS)
# Hydra's completion script calls `<first word> -sc query=...`, i.e. `workbench -sc`, which is not a
# command; workbench's typer completion asks Hydra's completion plugin instead (complete_override).
USE_OUR_COMPLETION = ("workbench completes `run` overrides (Hydra's groups, options and keys) through its own shell "
                      "completion: install it once with `workbench --install-completion`, or "
                      "eval \"$(workbench --show-completion bash)\"")


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
        """The flags that make Hydra answer (print a config, info, help, completions) instead of running."""
        return any(f in self.flags for f in ANSWERING_FLAGS)

    @property
    def prints_job_config(self) -> bool:
        return "--cfg" in self.flags or "-c" in self.flags

    def single_run_flags(self) -> list[str]:
        """The flags without -m: Hydra takes only one of -m, --cfg and --info."""
        return [f for f in self.flags if f not in ("-m", "--multirun")]


def split_run_args(args: list[str]) -> RunArgs:
    """Separate Hydra flags (`-m`, `--cfg job`, `--info`, ...) from `key=value` overrides."""
    parsed = RunArgs()
    i = 0
    while i < len(args):
        flag, _, inline = args[i].partition("=") if args[i].startswith("-") else ("", "", "")
        i += 1
        if not flag:
            parsed.overrides.append(args[i - 1])
        elif flag in SWITCHES:
            parsed.flags.append(flag)
        elif flag in COMPLETION_FLAGS:
            raise ConfigError(f"{flag}: {USE_OUR_COMPLETION}")
        elif flag in INFO_FLAGS:
            if not inline and i < len(args) and args[i] in INFO_TOPICS:
                inline, i = args[i], i + 1
            parsed.flags += [flag, checked_value(flag, inline or "all", INFO_TOPICS)]
        elif flag in VALUED_FLAGS:
            if not inline and i < len(args):
                inline, i = args[i], i + 1
            if not inline:
                raise ConfigError(f"option '{flag}' needs a value, e.g. '{flag} job'")
            parsed.flags += [flag, checked_value(flag, inline, VALUED_FLAGS[flag])]
        else:
            raise ConfigError(f"unknown option '{flag}'. workbench run takes key=value overrides and "
                              f"Hydra's flags {', '.join(sorted(HYDRA_FLAGS))}")
    return parsed


def checked_value(flag: str, value: str, allowed: tuple[str, ...] | None) -> str:
    if allowed is not None and value not in allowed:
        raise ConfigError(f"{flag} {value}: not one of {', '.join(allowed)}; e.g. '{flag} {allowed[0]}'")
    return value


def compose_config(conf_dir: Path, overrides: list[str]) -> DictConfig:
    """Compose one job's config (hydra node included); raises ConfigError on user mistakes."""
    with composer(conf_dir) as compose_job:
        return compose_job(overrides)


def register_sweeper() -> None:
    """hydra/sweeper=workbench, run.yaml's default, before any compose. Hydra finds plugins by listing
    the hydra_plugins package's modules, which an editable install of workbench hides from it, so it
    is registered by hand; after Hydra's scan, which re-executes the module of the basic sweeper
    that PlannedSweeper subclasses."""
    plugins = Plugins.instance()
    from hydra_plugins.workbench_sweeper.planned_sweeper import PlannedSweeper

    plugins.register(PlannedSweeper)


@contextmanager
def composer(conf_dir: Path) -> Iterator[Composer]:
    """Hydra initialised once for a paper, to compose many jobs (a sweep's plan) in it. A ConfigError
    ends it: the message may compose on its own (the did-you-mean of an unknown key)."""
    register_sweeper()
    GlobalHydra.instance().clear()
    try:
        with compose_errors(conf_dir, []):  # Hydra's setup names no override
            context = initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3")
        with context:
            yield Composer(conf_dir)
    finally:
        GlobalHydra.instance().clear()


class ChoiceCopies:
    """Composes jobs for one loader. Hydra builds a config from its defaults list (the config-group
    choices and hydra.* overrides) and then sets the plain values, so jobs that share those choices
    share the first step (~0.1 s a job): each is a copy of the config composed for its choices, with
    its values set by Hydra's own override step (struct mode, the same errors), and its overrides
    recorded in the hydra node as Hydra's compose records them."""

    def __init__(self, loader: Any, compose_choices: Callable[[list[str]], DictConfig],
                 hydra_overrides: list[str] | None = None) -> None:
        self.loader, self.compose_choices = loader, compose_choices
        self.hydra_overrides = hydra_overrides or []  # parsed with each job's, as its compose would see them
        self.parser = OverridesParser.create()
        self.by_choices: dict[tuple[str, ...], DictConfig] = {}  # each job gets a deep copy of one
        self.group_keys: dict[str, bool] = {}

    def compose(self, overrides: list[str]) -> DictConfig:
        parsed = self.parser.parse_overrides([*self.hydra_overrides, *overrides])
        choices = tuple(o.input_line for o in parsed if self.chooses(o))
        if choices not in self.by_choices:
            self.by_choices[choices] = self.compose_choices(list(choices))
        cfg = copy.deepcopy(self.by_choices[choices])
        ConfigLoaderImpl._apply_overrides_to_config([o for o in parsed if not self.chooses(o)], cfg)
        record_overrides(cfg, parsed)
        return cfg

    def chooses(self, override: Override) -> bool:
        """Whether Hydra reads the override while building the defaults list (as its Overrides does:
        a config group given a name), or it is under hydra (the search path, the hydra node)."""
        key = override.key_or_group
        if key == "hydra" or override.is_hydra_override():
            return True
        return not isinstance(override.value(), dict) and self.is_group(key)

    def is_group(self, key: str) -> bool:
        """A config group in Hydra's search path: the loader's sources, and the places the
        searchpath override adds (Hydra's repository finds a group as a folder)."""
        if key not in self.group_keys:
            parent, _, name = key.rpartition("/")
            self.group_keys[key] = name in self.loader.list_groups(parent) or any(
                (place / key).is_dir() for place in (project_configs(), shared_configs()) if place is not None)
        return self.group_keys[key]


class Composer:
    """Composes the jobs of a plan inside one Hydra initialisation (ChoiceCopies), each checked:
    an interpolation that cannot resolve fails now, not in the run."""

    def __init__(self, conf_dir: Path) -> None:
        self.conf_dir = conf_dir
        self.copies = ChoiceCopies(GlobalHydra.instance().config_loader(), compose_choices, [searchpath_override()])

    def __call__(self, overrides: list[str]) -> DictConfig:
        with compose_errors(self.conf_dir, overrides):
            cfg = self.copies.compose(overrides)
            resolve_user_config(cfg)
            return cfg


def compose_choices(choices: list[str]) -> DictConfig:
    return compose(PRIMARY_CONFIG, overrides=choices, return_hydra_config=True)


def record_overrides(cfg: DictConfig, parsed: list[Override]) -> None:
    """The hydra node's record of the job's own overrides, in command-line order, as Hydra's compose
    writes it (launch reads hydra.overrides.task; hydra.overrides.hydra comes with the choices)."""
    task = [o for o in parsed if not o.is_hydra_override()]
    cfg.hydra.overrides.task = [o.input_line for o in task]
    naming = cfg.hydra.job.config.override_dirname
    cfg.hydra.job.override_dirname = get_overrides_dirname(
        overrides=task, exclude_keys=naming.exclude_keys, item_sep=naming.item_sep, kv_sep=naming.kv_sep)


@contextmanager
def compose_errors(conf_dir: Path, overrides: list[str]) -> Iterator[None]:
    """Hydra's and OmegaConf's errors while composing, as one-line ConfigErrors."""
    try:
        yield
    except (HydraException, OmegaConfBaseException, ValueError) as exc:  # first: some are OSErrors too
        raise find_broken_yaml(conf_dir) or explain_compose_error(exc, conf_dir, overrides) from None
    except TypeError as exc:  # Hydra's own crash on e.g. model=[1,2]
        raise ConfigError(f"cannot use the overrides '{' '.join(overrides)}' ({first_line(str(exc))}); "
                          f"a config group takes one option name, e.g. model=mlp") from None
    except (yaml.YAMLError, RecursionError, OSError):
        raise find_broken_yaml(conf_dir) or ConfigError(
            f"a config under {conf_dir} cannot be read; check the files you edited") from None
    except AssertionError:  # OmegaConf's, on a file holding a quoted scalar ('12'): it re-reads the string as YAML
        broken = find_broken_yaml(conf_dir)
        if broken is None:
            raise
        raise broken from None


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


def explain_compose_error(exc: Exception, conf_dir: Path, overrides: list[str]) -> ConfigError:
    """Turn Hydra's multi-line errors into one line that says what to do."""
    text = f"{exc}\n{exc.__cause__ or ''}"
    missing_option = re.search(r"Could not find '([^']+)/([^']+)'", text)
    if isinstance(exc, MissingConfigException) and missing_option:
        group, option = missing_option.groups()
        if group.startswith("hydra/"):
            return missing_hydra_plugin(group, option)
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


@dataclass
class ConfigGroup:
    """One config group of a paper (its own, shared, or Hydra's launcher/sweeper) for `run --help`."""

    name: str
    default: str | None
    options: list[str]


def config_groups(conf_dir: Path) -> list[ConfigGroup]:
    """Every group a paper's runs can choose from, with the option its config picks by default."""
    GlobalHydra.instance().clear()
    try:
        register_sweeper()
        with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
            cfg = compose(PRIMARY_CONFIG, overrides=[searchpath_override()], return_hydra_config=True)
            choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
            loader = GlobalHydra.instance().config_loader()
            own = {*loader.list_groups(""), *(name for name in choices if not name.startswith("hydra"))} - {"hydra"}
            for place in filter(None, (project_configs(), shared_configs())):
                own |= {p.name for p in place.iterdir() if p.is_dir() and any(p.glob("*.yaml"))}
            groups = [ConfigGroup(name, choices.get(name), available_options(conf_dir, name)) for name in sorted(own)]
            return groups + [ConfigGroup(name, choices.get(name), sorted(loader.get_group_options(name)))
                             for name in ("hydra/launcher", "hydra/sweeper")]
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise find_broken_yaml(conf_dir) or explain_compose_error(exc, conf_dir, []) from None
    finally:
        GlobalHydra.instance().clear()


def complete_override(conf_dir: Path, words: list[str], incomplete: str) -> list[str]:
    """The overrides that could complete `incomplete` after `words`, from Hydra's completion plugin."""
    register_sweeper()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
            plugin = DefaultCompletionPlugin(GlobalHydra.instance().config_loader())
            kept = [w for w in words if "=" in w and not w.startswith("-")]  # flags are no overrides
            return plugin._query(PRIMARY_CONFIG, " ".join([searchpath_override(), *kept, incomplete]))
    except (HydraException, OmegaConfBaseException, ValueError, OSError):
        return []  # a half-typed or broken command line completes to nothing, quietly
    finally:
        GlobalHydra.instance().clear()


# Hydra plugins workbench knows, by the option they add, and the extra that installs each.
PLUGIN_EXTRAS = {"joblib": "launchers", "submitit_local": "launchers", "submitit_slurm": "launchers", "optuna": "optuna"}


def missing_hydra_plugin(group: str, option: str) -> ConfigError:
    if option in PLUGIN_EXTRAS:
        return ConfigError(f"{group}={option} needs its Hydra plugin, which is not installed: "
                           f"pip install 'workbench[{PLUGIN_EXTRAS[option]}]'")
    return ConfigError(f"no installed Hydra plugin provides {group}={option}; install the plugin (a hydra-*-"
                       f"{group.split('/')[1]} package), or see `workbench run <paper> --info plugins`")


def available_options(conf_dir: Path, group: str) -> list[str]:
    folders = [place / group for place in (conf_dir, project_configs(), shared_configs()) if place is not None]
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


# A preset is a bundle of overrides, not part of the recipe: a run made with `experiment=table1` is the
# same run as one with the choices and values it sets (which are recorded), so it answers the same claims.
PRESET_GROUPS = ("experiment",)


def job_choices(hydra_cfg: DictConfig) -> dict[str, str]:
    """Chosen option per config group (model, data, stage, ...), without Hydra's own groups and presets."""
    choices = OmegaConf.to_container(hydra_cfg.runtime.choices)
    return {k: v for k, v in choices.items()
            if not k.startswith("hydra/") and k not in PRESET_GROUPS and v is not None}


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def set_project_root(root: Path) -> None:
    """Configs read WORKBENCH_ROOT (paths.root); child processes of a sweep inherit it."""
    os.environ["WORKBENCH_ROOT"] = str(root.resolve())


class CopyingConfigLoader(ConfigLoader):
    """Hydra's config loader for the launcher of hydra/sweeper=workbench: a sweep's jobs composed
    as ChoiceCopies, each set of group choices once; everything else is Hydra's own."""

    def __init__(self, loader: ConfigLoader) -> None:
        self.loader = loader
        self.master: DictConfig | None = None
        self.copies: ChoiceCopies | None = None

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        if self.copies is None or self.master is not master_config:
            self.master = master_config
            self.copies = ChoiceCopies(self.loader, partial(self.loader.load_sweep_config, master_config))
        cfg = self.copies.compose(list(sweep_overrides))
        OmegaConf.copy_cache(from_config=master_config, to_config=cfg)  # as Hydra's: the same ${now:} values
        return cfg

    def load_configuration(self, *args: Any, **kwargs: Any) -> DictConfig:
        return self.loader.load_configuration(*args, **kwargs)

    def get_search_path(self) -> Any:
        return self.loader.get_search_path()

    def get_sources(self) -> Any:
        return self.loader.get_sources()

    def list_groups(self, parent_name: str) -> Any:
        return self.loader.list_groups(parent_name)

    def get_group_options(self, *args: Any, **kwargs: Any) -> Any:
        return self.loader.get_group_options(*args, **kwargs)

    def compute_defaults_list(self, *args: Any, **kwargs: Any) -> Any:
        return self.loader.compute_defaults_list(*args, **kwargs)
