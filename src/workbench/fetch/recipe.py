"""recipe.yaml: the training hyperparameters a paper states, each with where it says so.

The schema (documented in docs/paper-folder.md) is `Recipe` and the vocabulary of names
`VOCABULARY`, both in recipe_schema.py. `read_recipe` collects entries from the prose (recipe_text.py) and from
hyperparameter tables (recipe_tables.py), appendices and footnotes included, and keeps one
entry per (name, value, scope), the first the paper states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workbench.errors import UserError
from workbench.fetch.recipe_schema import VOCABULARY, Recipe, RecipeEntry, RecipeSource, Value
from workbench.fetch.recipe_tables import table_entries
from workbench.fetch.recipe_text import text_entries
from workbench.fetch.tex import Document

__all__ = ["VOCABULARY", "Recipe", "RecipeEntry", "RecipeSource", "Value", "load_recipe", "read_recipe", "recipe_yaml",
           "reproduction_yaml"]


def read_recipe(doc: Document) -> list[RecipeEntry]:
    """Every hyperparameter the document states, in the order it states them; tables first
    where a table and the prose say the same thing on the same line."""
    found = table_entries(doc)
    table_lines = {(e.key(), e.source.file, e.source.line) for e in found}
    found += [e for e in text_entries(doc) if (e.key(), e.source.file, e.source.line) not in table_lines]
    order = {(line.file, line.line): i for i, line in enumerate(doc.lines)}
    found.sort(key=lambda e: order.get((e.source.file, e.source.line), len(order)))
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for entry in found:
        marker = (*entry.key(), entry.scope)
        if marker not in seen:
            seen.add(marker)
            unique.append(entry)
    return unique


def recipe_yaml(entries: list[RecipeEntry], title: str, arxiv: str) -> str:
    header = (
        f"# Training recipe of \"{title}\" (arXiv {arxiv}), as `workbench fetch` read it from the LaTeX.\n"
        "# Each entry cites the line it came from; check them against the paper (names: docs/paper-folder.md).\n"
        "# conf/stage/reproduction.yaml was pre-filled from these entries.\n"
    )
    data = Recipe(recipe=entries).model_dump(exclude_none=True)
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def load_recipe(path: Path) -> list[RecipeEntry]:
    """recipe.yaml, validated; a broken file is one line naming the file and the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {"recipe": []}
        return Recipe.model_validate(data).recipe
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML ({str(exc).splitlines()[0]}); fix it or fetch again") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise UserError(f"{path}: {where}: {error['msg']} (schema in docs/paper-folder.md)") from None


# ---------------------------------------------------------------- conf/stage/reproduction.yaml

# recipe name → where the scaffold's configs keep it (config.yaml's optim/batch_size, the trainer)
CONFIG_KEYS = {"optimizer": "optim.name", "learning_rate": "optim.lr", "weight_decay": "optim.weight_decay",
               "batch_size": "batch_size", "steps": "trainer.max_steps"}
TRAINER_DEFAULTS = {"max_steps": 1000, "eval_every": 100, "log_every": 50, "checkpoint_every": 500}


def reproduction_yaml(entries: list[RecipeEntry], where: dict[tuple[str, int], str]) -> str:
    """Stage 3's config with the recipe's values, each commented with its citation; `where` maps
    (file, line) to the section number that line is in."""
    first: dict[str, RecipeEntry] = {}
    others: list[RecipeEntry] = []
    for entry in entries:
        if entry.value is not None and entry.name not in first:
            first[entry.name] = entry
        else:
            others.append(entry)
    lines = ["# @package _global_",
             "# Stage 3: the paper's recipe, pre-filled by `workbench fetch` from recipe.yaml; each value cites the",
             "# paper. Check every one (and its scope) before a reproduction run; `placeholder` marks what the paper",
             "# did not state."]
    lines += ["trainer:"]
    steps = first.get("steps")
    for key, default in TRAINER_DEFAULTS.items():
        if key == "max_steps" and steps is not None:
            lines.append(_line(f"  {key}", steps.value, steps, where))
        else:
            note = "  # placeholder: the paper's training length (§?)" if key == "max_steps" else ""
            lines.append(f"  {key}: {default}{note}")
    optim = [(k, first[k]) for k in ("optimizer", "learning_rate", "weight_decay") if k in first]
    if optim:
        lines.append("optim:")
        lines += [_line("  " + CONFIG_KEYS[k].split(".")[1], e.value, e, where) for k, e in optim]
    if "batch_size" in first:
        lines.append(_line("batch_size", first["batch_size"].value, first["batch_size"], where))
    rest = [e for name, e in first.items() if name not in CONFIG_KEYS]
    if rest:
        lines.append("recipe:  # the paper's other settings, by recipe.yaml name: experiment.py reads cfg.recipe.<name>")
        lines += [_line(f"  {e.name}", e.value, e, where) for e in rest]
    if others:
        lines.append("# Also stated (grids, other scopes): set them where the experiment needs them.")
        lines += ["#   " + _line(e.name, e.values if e.values is not None else e.value, e, where).replace("  # ", "  ")
                  for e in others]
    return "\n".join(lines) + "\n"


def _line(key: str, value: Any, entry: RecipeEntry, where: dict[tuple[str, int], str]) -> str:
    text = f"{key}: {_scalar(value)}"
    return f"{text:<28}  # {citation(entry, where)}"


def citation(entry: RecipeEntry, where: dict[tuple[str, int], str]) -> str:
    """§4.2, main.tex:412: "learning rate of 0.01" (the section left out when unknown)."""
    source = entry.source
    section = where.get((source.file, source.line))
    quote = " ".join(source.quote.split()).replace('"', "'")
    head = f"§{section}, " if section else ""
    scope = f" (for {entry.scope})" if entry.scope else ""
    return f"{head}{source.file}:{source.line}: \"{quote}\"{scope}"


def _scalar(value: Any) -> str:
    """YAML for one value, on one line: 0.001, adam, [0.1, 0.01]."""
    return yaml.safe_dump([value], default_flow_style=True, width=10_000).strip()[1:-1]
