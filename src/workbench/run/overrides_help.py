"""What `workbench run` offers someone typing overrides: tab completion (Hydra's own, through
typer's completion) and the table of config groups that `run <paper> --help` prints.

cli.py imports this module at start, so Hydra loads only inside the functions."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from workbench.errors import UserError
from workbench.project import find_paper, list_papers, project_root


def complete_paper(incomplete: str) -> list[str]:
    """Paper folder names for `workbench run <TAB>`."""
    try:
        return [p.name for p in list_papers(project_root()) if p.name.startswith(incomplete)]
    except UserError:
        return []


def complete_run_override(ctx: Any, incomplete: str) -> list[str]:
    """`workbench run <paper> ... <TAB>`: the groups, options and keys Hydra's completion offers."""
    from workbench.run.config import complete_override, set_project_root

    try:
        root = project_root()
        found = find_paper(root, ctx.params.get("paper") or "")
    except UserError:
        return []
    set_project_root(root)
    return complete_override(found.conf_dir, list(ctx.params.get("overrides") or []), incomplete)


def config_groups_table(paper: str) -> Table:
    """Each config group a paper's runs choose from, its default and its options (Hydra's app help lists the same)."""
    from workbench.run.config import config_groups, set_project_root

    root = project_root()
    found = find_paper(root, paper)
    set_project_root(root)
    table = Table("group", "default", "options", title=f"{found.name}'s config groups (choose with group=option)",
                  caption=f"every key and its value: workbench run {found.name} --cfg job")
    for group in config_groups(found.conf_dir):
        table.add_row(group.name, group.default or "-", ", ".join(group.options) or "-")
    return table
