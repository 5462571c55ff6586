"""`workbench claims`: review the claim candidates `workbench fetch` read from the LaTeX tables.

Confirming edits claims.yaml in place, one `status:` line a claim, so the user's comments and
layout survive; the result is validated before it replaces the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workbench.claims.schema import Claim, load_claims
from workbench.errors import UserError
from workbench.files import atomic_write_text, shown_path
from workbench.project import Paper

ENTRY = re.compile(r"^(\s*)- id:\s*(.+?)\s*$")
STATUS = re.compile(r"^(\s*)status:\s*(\S+)\s*$")


def show(console: Console, paper: Paper) -> None:
    """`workbench claims <paper>`: every claim, then the cells that could not be read."""
    listed = load_claims(paper.dir / "claims.yaml")
    console.print(claims_table(paper, listed))
    unparsed = unparsed_cells(paper)
    for cell in unparsed:
        console.print(f"  not read as a number: table {cell['table']}, {escape(str(cell['row']))} | "
                      f"{escape(str(cell['column']))}: {escape(cell['text'])} ({cell['file']}:{cell['line']})", highlight=False)
    console.print(f"{sum(c.status == 'confirmed' for c in listed)} confirmed, "
                  f"{sum(c.status == 'candidate' for c in listed)} candidates, {len(unparsed)} cells not read. "
                  f"Confirm with `workbench claims {paper.name} --confirm <id> ...` or edit claims.yaml.")


def confirm_and_report(console: Console, paper: Paper, ids: list[str]) -> None:
    unselected = confirm(paper, ids)
    console.print(f"confirmed {len(ids)} claim(s) in {paper.dir / 'claims.yaml'}")
    for claim_id in unselected:
        console.print(f"  [yellow]{claim_id}: select is empty[/], so every reproduction run answers it; "
                      "set select (e.g. {model: cnn}) and check metric, goal and tolerance in claims.yaml")


def claims_table(paper: Paper, claims: list[Claim]) -> Table:
    table = Table("id", "table", "row", "column", "value", "where", "status", title=f"claims of {paper.name}")
    colors = {"confirmed": "green", "candidate": "yellow", "rejected": "dim"}
    for c in claims:
        value = f"{c.value:g}" + (f" ± {c.std:g}" if c.std is not None else "") + c.unit
        if getattr(c.source, "best", None):
            value += " (best)"
        where = f"{c.source.file}:{c.source.line}" if c.source.file else "-"
        table.add_row(c.id, str(c.source.table or "-"), c.source.row or "-", c.source.column or "-", value, where,
                      f"[{colors.get(c.status, 'white')}]{c.status}[/]")
    return table


def unparsed_cells(paper: Paper) -> list[dict[str, Any]]:
    """Cells the table reader could not read as numbers (from paper/tables.json, if fetched)."""
    path = paper.dir / "paper" / "tables.json"
    try:
        tables = json.loads(path.read_text(encoding="utf-8"))["tables"]
    except (OSError, ValueError, KeyError):
        return []
    return [u for t in tables for u in t.get("unparsed", [])]


def confirm(paper: Paper, ids: list[str]) -> list[str]:
    """Set status: confirmed for each id; an unknown id changes nothing and names the close ones.
    Returns the ids whose `select` is empty (they would match every run: the user must set it)."""
    path = paper.dir / "claims.yaml"
    claims = {c.id: c for c in load_claims(path)}
    unknown = [i for i in ids if i not in claims]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(claims), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UserError(f"{shown_path(path)} has no claim '{unknown[0]}'.{hint} (`workbench claims {paper.name}` lists them)")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for claim_id in ids:
        _set_status(lines, claim_id, "confirmed", path)
    text = "".join(lines)
    tmp_check = path.with_name(f".{path.name}.check")
    try:
        atomic_write_text(tmp_check, text)
        load_claims(tmp_check)
    finally:
        tmp_check.unlink(missing_ok=True)
    atomic_write_text(path, text)
    return [i for i in ids if not claims[i].select]


def _set_status(lines: list[str], claim_id: str, status: str, path: Path) -> None:
    start = None
    for i, line in enumerate(lines):
        match = ENTRY.match(line)
        if match and match.group(2).strip("'\"") == claim_id:
            start, indent = i, len(match.group(1))
            continue
        if start is None:
            continue
        if match and len(match.group(1)) <= indent:
            break
        found = STATUS.match(line)
        if found and len(found.group(1)) == indent + 2:
            lines[i] = f"{found.group(1)}status: {status}\n"
            return
    raise UserError(f"{shown_path(path)}: claim '{claim_id}' has no `status:` line of its own; set status: {status} by hand")
