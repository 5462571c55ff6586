"""`workbench claims`: review the claim candidates `workbench fetch` read from the LaTeX tables.

The listing is one table per paper table, readable at 80 columns: ids are never cut, the other
columns wrap. Cells the reader could not read are counted (listed with --unread), and a table
that gave no candidate is named in a warning. Confirming and rejecting take ids, globs
(`table2.*.gin*`) or blocks (`table2`, `table2.mutag`: every claim under it); --metric,
--tolerance and --select (a template filled from each claim's row and column) set those fields
on the claims confirmed. Edits keep the file's comments (edit.py).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.text import Text
from rich.markup import escape
from rich.table import Table

from workbench.claims import edit
from workbench.claims.schema import Claim, Tolerance, load_claims
from workbench.errors import UserError
from workbench.files import shown_path
from workbench.project import Paper

COLORS = {"confirmed": "green", "candidate": "yellow", "rejected": "dim"}
TOLERANCE = re.compile(r"^(paper_std|abs|rel)[:=]\s*([-+0-9.eE]+)$")
PLACEHOLDER = re.compile(r"\{(row|column|table)\}")


@dataclass
class Review:
    """What to do: which claims to confirm or reject, and the fields to set on the confirmed."""

    confirm: list[str]
    reject: list[str]
    metric: str | None = None
    tolerance: str | None = None
    select: str | None = None


def show(console: Console, paper: Paper, unread: bool = False) -> None:
    """`workbench claims <paper>`: the claims table by table, then what was not read."""
    listed = load_claims(paper.dir / "claims.yaml")
    for title, claims in _by_table(listed):
        console.print(claims_table(title, claims, console.width))
    tables = _tables_json(paper)
    unparsed = [u for t in tables for u in t.get("unparsed", [])]
    if unread:
        for cell in unparsed:
            console.print(f"  not read as a number: table {cell['table']}, {escape(str(cell['row']))} | "
                          f"{escape(str(cell['column']))}: {escape(cell['text'])} ({cell['file']}:{cell['line']})",
                          highlight=False)
    for table in tables:
        if not table.get("candidates"):
            console.print(f"[yellow]warning:[/] table {table['number']} ({table['file']}:{table['line']}) gave no claim "
                          f"candidates ({len(table.get('unparsed', []))} cells not read); if it holds results, add "
                          "them to claims.yaml by hand", highlight=False)
    hint = "" if unread or not unparsed else " (--unread lists them)"
    console.print(f"{sum(c.status == 'confirmed' for c in listed)} confirmed, "
                  f"{sum(c.status == 'candidate' for c in listed)} candidates, {len(unparsed)} cells not read{hint}. "
                  f"Confirm with `workbench claims {paper.name} --confirm <id or glob> ...` or edit claims.yaml.")


def _by_table(claims: list[Claim]) -> list[tuple[str, list[Claim]]]:
    groups: dict[str, list[Claim]] = {}
    for claim in claims:
        key = f"table {claim.source.table}" if claim.source.table is not None else "other claims"
        groups.setdefault(key, []).append(claim)
    titled = []
    for key, members in groups.items():
        title = key + _where(members)
        caption = members[0].source.caption
        titled.append((f"{title}: {caption}" if caption else title, members))
    return titled


def _where(claims: list[Claim]) -> str:
    """" (main.tex:13–17)" when the table's claims share a file: the rows then show lines only."""
    files = {c.source.file for c in claims}
    lines = [c.source.line for c in claims if c.source.line is not None]
    if len(files) != 1 or None in files or not lines:
        return ""
    first, last = min(lines), max(lines)
    return f" ({files.pop()}:{first}{'' if first == last else f'–{last}'})"


MIN_WRAPPED = 7  # narrowest useful width of row, column, value and line; below it claims are stacked


def claims_table(title: str, claims: list[Claim], width: int = 80) -> RenderableType:
    """A table when it fits `width`: ids whole (no wrap), row, column, value and line wrapping at
    word boundaries where the words fit. When the ids leave too little room, each claim is two
    lines instead: the id and its status, then its row, column, value and line, wrapped."""
    one_file = bool(_where(claims))
    cells = [_cells(c, one_file) for c in claims]
    id_width = max(len(c.id) for c in claims)
    room = width - id_width - len("candidate") - 12  # six columns' gaps
    if room < 4 * MIN_WRAPPED:
        return _stacked(title, claims, cells, one_file)
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("id", no_wrap=True, min_width=id_width, overflow="ignore")
    for i, name in enumerate(("row", "column", "value", "line" if one_file else "where"), start=1):
        longest_word = max((len(w) for row in cells for w in row[i].split()), default=1)
        table.add_column(name, overflow="fold", min_width=max(len(name), min(longest_word, room // 4)))
    table.add_column("status", no_wrap=True)
    for claim, row in zip(claims, cells):
        table.add_row(*map(escape, row), _status(claim))
    return table


def _stacked(title: str, claims: list[Claim], cells: list[list[str]], one_file: bool) -> RenderableType:
    where = "line " if one_file else ""
    parts: list[RenderableType] = [Text(title, style="italic")]
    for claim, (claim_id, row, column, value, line) in zip(claims, cells):
        head = Text.from_markup(f"{escape(claim_id)}  {_status(claim)}", overflow="ignore")
        head.no_wrap = True  # the id whole, even past the edge
        parts.append(head)
        parts.append(Padding(Text(f"{row} | {column} | {value} | {where}{line}"), (0, 0, 0, 4)))
    return Group(*parts, Text(""))


def _status(claim: Claim) -> str:
    return f"[{COLORS.get(claim.status, 'white')}]{claim.status}[/]"


def _cells(c: Claim, one_file: bool) -> list[str]:
    value = f"{c.value:g}" if c.value is not None else "-"
    value += (f" ± {c.std:g}" if c.std is not None else "") + c.unit
    if getattr(c.source, "best", None):
        value += " (best)"
    if one_file:
        where = str(c.source.line)
    else:
        where = f"{c.source.file}:{c.source.line}" if c.source.file else "-"
    return [c.id, c.source.row or "-", c.source.column or "-", value, where]


def _tables_json(paper: Paper) -> list[dict[str, Any]]:
    """The table read-out of the last fetch (paper/tables.json); none for hand-made papers."""
    try:
        return list(json.loads((paper.dir / "paper" / "tables.json").read_text(encoding="utf-8"))["tables"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def unparsed_cells(paper: Paper) -> list[dict[str, Any]]:
    """Cells the table reader could not read as numbers (from paper/tables.json, if fetched)."""
    return [u for t in _tables_json(paper) for u in t.get("unparsed", [])]


def review_and_report(console: Console, paper: Paper, review: Review) -> None:
    confirmed, rejected, unselected = apply_review(paper, review)
    path = paper.dir / "claims.yaml"
    if confirmed:
        console.print(f"confirmed {len(confirmed)} claim(s) in {path}")
    if rejected:
        console.print(f"rejected {len(rejected)} claim(s) in {path}")
    for claim_id in unselected:
        console.print(f"  [yellow]{claim_id}: select is empty[/], so every reproduction run answers it; "
                      "set select (e.g. --select 'model={row}') and check metric, goal and tolerance in claims.yaml")


def confirm_and_report(console: Console, paper: Paper, ids: list[str]) -> None:
    review_and_report(console, paper, Review(confirm=ids, reject=[]))


def apply_review(paper: Paper, review: Review) -> tuple[list[str], list[str], list[str]]:
    """(confirmed ids, rejected ids, confirmed ids whose select is still empty)."""
    path = paper.dir / "claims.yaml"
    claims = {c.id: c for c in load_claims(path)}
    confirmed = matching_ids(list(claims), review.confirm, path, paper.name)
    rejected = matching_ids(list(claims), review.reject, path, paper.name)
    both = sorted(set(confirmed) & set(rejected))
    if both:
        raise UserError(f"claim '{both[0]}' is both confirmed and rejected by these patterns; narrow one of them")
    if (review.metric or review.tolerance or review.select) and not confirmed:
        raise UserError("--metric, --tolerance and --select set fields of the claims you --confirm; add --confirm <ids>")
    fields = {i: _fields(claims[i], review) for i in confirmed}
    statuses = {**{i: "confirmed" for i in confirmed}, **{i: "rejected" for i in rejected}}
    edit.apply(path, statuses, {i: f for i, f in fields.items() if f})
    selects = {i: fields[i].get("select", claims[i].select) for i in confirmed}
    return confirmed, rejected, [i for i in confirmed if not selects[i]]


def confirm(paper: Paper, ids: list[str]) -> list[str]:
    """Set status: confirmed for each id or pattern; returns the ids whose `select` is empty."""
    return apply_review(paper, Review(confirm=ids, reject=[]))[2]


def matching_ids(ids: list[str], patterns: list[str], path: Path, paper: str) -> list[str]:
    """The ids each pattern names, in file order: an exact id, a glob, or a block (`table2`:
    every id under it). A pattern that names none stops everything and suggests the closest."""
    chosen: set[str] = set()
    for pattern in patterns:
        hits = [i for i in ids if i == pattern or fnmatch.fnmatchcase(i, pattern) or i.startswith(pattern + ".")]
        if not hits:
            close = difflib.get_close_matches(pattern, ids, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UserError(f"{shown_path(path)} has no claim '{pattern}'.{hint} (`workbench claims {paper}` lists them)")
        chosen.update(hits)
    return [i for i in ids if i in chosen]


def _fields(claim: Claim, review: Review) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if review.metric:
        fields["metric"] = review.metric
    if review.tolerance:
        fields["tolerance"] = parse_tolerance(review.tolerance)
    if review.select:
        fields["select"] = fill_select(review.select, claim)
    return fields


def option_name(label: str) -> str:
    """A row or column label as a config option is named: "GIN-ε (ours)" → gin_ours, as in claim ids."""
    return "_".join(re.findall(r"[a-z0-9]+", label.lower().replace("%", " pct "))) or "x"


def parse_tolerance(text: str) -> dict[str, Any]:
    """`paper_std:2`, `abs:0.5` or `rel:0.05` → the claims.yaml tolerance mapping."""
    match = TOLERANCE.match(text.strip())
    if not match:
        raise UserError(f"--tolerance {text!r}: use paper_std:<k>, abs:<width> or rel:<fraction>, e.g. --tolerance paper_std:2")
    kind, number = match.group(1), float(match.group(2))
    data = {"kind": kind, "k": number} if kind == "paper_std" else {"kind": kind, "value": number}
    try:
        Tolerance.model_validate(data)
    except ValueError as exc:
        raise UserError(f"--tolerance {text!r}: {str(exc).splitlines()[-1].strip()}") from None
    return data


def fill_select(template: str, claim: Claim) -> dict[str, Any]:
    """'model={row},data={column}' → {model: <row slug>, data: <column slug>} for this claim.
    Slugs are the id's spelling (lowercase, `_` between words), which is how config options are named."""
    words = {"row": claim.source.row, "column": claim.source.column, "table": claim.source.table}
    select: dict[str, Any] = {}
    for part in (p.strip() for p in template.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--select {template!r}: write key=value pairs separated by commas, e.g. 'model={{row}},data={{column}}'")

        def fill(match: re.Match[str]) -> str:
            word = words[match.group(1)]
            if word is None:
                raise UserError(f"--select: claim '{claim.id}' has no {match.group(1)} to fill {{{match.group(1)}}} with")
            return option_name(str(word))

        select[key.strip()] = yaml.safe_load(PLACEHOLDER.sub(fill, value.strip()) or "null")
    return select
