"""A table's rows -> claim candidates: the header read (headers.py), row names built from label
columns, section rows, rows continued by an empty first cell, \\quad sub-rows and rows holding
only the spreads of the row above; every value cell a candidate or an `Unparsed` entry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workbench.fetch.cells import BEST_RE, EMPTY_MARKERS, Cell, Value, cell_text, parse_values, plain_text
from workbench.fetch.headers import Row, column_names, expand, goal, header_size, label_columns
from workbench.fetch.macros import Budget, Macros
from workbench.fetch.tex import MAX_CELL_CHARS, MAX_CELLS, MAX_ROWS, Document

SUB_ROW = re.compile(r"^\s*(\\(quad|qquad|hspace\*?\s*\{[^{}]*\}|hskip\s*[\d.]+\w+|enspace|;|,)\s*)+")


@dataclass
class Candidate:
    id: str
    quote: str
    table: int | str
    label: str | None
    caption: str | None
    row: str
    column: str
    value: float
    std: float | None
    unit: str
    best: bool
    goal: str
    file: str
    line: int


@dataclass
class Unparsed:
    table: int | str
    row: str
    column: str
    text: str
    reason: str
    file: str
    line: int


@dataclass
class TableResult:
    number: int | str
    label: str | None
    caption: str | None
    file: str
    line: int
    span: tuple[int, int] = (0, 0)  # offsets of the environment in Document.text
    candidates: list[Candidate] = field(default_factory=list)
    unparsed: list[Unparsed] = field(default_factory=list)


@dataclass
class Reader:
    """One document's reading: its macros and what the bounds still allow."""

    doc: Document
    macros: Macros
    expansion: Budget = field(default_factory=Budget)
    cells_left: int = MAX_CELLS
    rows_left: int = MAX_ROWS

    def stop(self, message: str) -> None:
        self.doc.warn(message)


@dataclass
class _Labels:
    """What names the current row: the section row above, the last row's labels (for a row
    continued by an empty first cell), the last top-level row (for \\quad sub-rows)."""

    group: str = ""
    previous: list[str] = field(default_factory=list)
    parent: str = ""


def rows_to_candidates(reader: Reader, rows: list[Row], result: TableResult) -> None:
    boundary = header_size(rows)
    header_rows = [expand(r.cells) for r in rows[:boundary]]
    body = rows[boundary:]
    width = max((len(expand(r.cells)) for r in rows), default=0)
    columns = column_names(header_rows, width)
    n_labels = label_columns(body, columns)
    header_raws = [" ".join(r[col].text for r in header_rows if col < len(r)) for col in range(width)]
    carry: dict[int, tuple[str, int]] = {}
    labels = _Labels()
    used_ids: set[str] = {c.id for c in result.candidates}
    last_candidates: dict[int, list[Candidate]] = {}
    for row_number, row in enumerate(body, start=1):
        cells = _fill_multirow(expand(row.cells), carry)
        texts = [cell_text(c.text) for c in cells]
        values = [parse_values(t) for t in texts]
        if _section_row(cells, texts, values, n_labels):
            labels.group, labels.parent = plain_text(next(c.text for c, t in zip(cells, texts) if t)), ""
            continue
        if _spread_row(cells, texts, values, n_labels, last_candidates):
            continue
        row_name = _row_name(cells, n_labels, labels) or f"row{row_number}"
        last_candidates = {}
        for col in range(n_labels, len(cells)):
            cell = cells[col]
            if col > 0 and cells[col - 1] is cell:
                continue  # the rest of a \multicolumn span
            reader.cells_left -= 1
            if reader.cells_left < 0:
                reader.stop(f"more than {MAX_CELLS:,} table cells; the rest were not read")
                return
            printed = texts[col]
            if printed in EMPTY_MARKERS:
                continue
            where = reader.doc.where(cell.offset)
            if values[col] is None:
                reason = "too long" if len(printed) > MAX_CELL_CHARS else "not a number we can read"
                result.unparsed.append(Unparsed(result.number, row_name, columns[col], cell.text.strip()[:MAX_CELL_CHARS],
                                                reason, where.file, where.line))
                continue
            column_goal = goal(header_raws[col], row_name, result.caption)
            last_candidates[col] = [
                _candidate(result, row_name, columns[col], printed, value, cell, column_goal, where, used_ids)
                for value in values[col]]
            result.candidates.extend(last_candidates[col])


def _candidate(result: TableResult, row: str, column: str, printed: str, value: Value, cell: Cell, goal_: str,
               where: Any, used_ids: set[str]) -> Candidate:
    cid = _unique(f"{_table_slug(result.number)}.{slug(row)}.{slug(column)}", used_ids)
    return Candidate(id=cid, quote=f"{row} | {column} | {printed}", table=result.number, label=result.label,
                     caption=result.caption, row=row, column=column, value=value.value, std=value.std,
                     unit=value.unit, best=bool(BEST_RE.search(cell.text)), goal=goal_, file=where.file,
                     line=where.line)


def _section_row(cells: list[Cell], texts: list[str], values: list, n_labels: int) -> bool:
    """A row that names the rows under it: one text, in the first cell or spanning the table."""
    if any(values) or not texts:
        return False
    filled = [i for i, t in enumerate(texts) if t]
    if not filled:
        return False
    one_cell = len({id(cells[i]) for i in filled}) == 1
    return one_cell and (cells[filled[0]].span > 1 or (filled[0] == 0 and (len(cells) == 1 or len(cells) > n_labels)))


def _spread_row(cells: list[Cell], texts: list[str], values: list, n_labels: int,
                last: dict[int, list[Candidate]]) -> bool:
    """A row under a row of results that only holds their spreads: `& (0.2) & ±0.3 \\\\`."""
    if not last or any(texts[:n_labels]):
        return False
    spreads = {}
    for col in range(n_labels, len(cells)):
        if not texts[col]:
            continue
        spread = re.fullmatch(r"\(?\s*±?\s*(\d*\.?\d+)\s*\)?", texts[col])
        if not spread or col not in last or not (texts[col].startswith(("(", "±"))):
            return False
        spreads[col] = float(spread.group(1))
    for col, std in spreads.items():
        for candidate in last[col]:
            candidate.std = std
    return bool(spreads)


def _row_name(cells: list[Cell], n_labels: int, labels: _Labels) -> str:
    raw = [c.text for c in cells[:n_labels]]
    names = [name if name not in EMPTY_MARKERS else "" for name in map(plain_text, raw)]
    if names and any(names) and not names[0] and labels.previous:
        names = [n or p for n, p in zip(names, labels.previous + [""] * len(names))]  # continued from the row above
    elif names and not any(names) and labels.previous:
        names = list(labels.previous)
    is_sub_row = bool(raw) and bool(SUB_ROW.match(raw[0]))
    labels.previous = names
    own = " / ".join(n for n in names if n)
    if not is_sub_row:
        labels.parent = names[0] if names else ""  # a \quad row sits under the first column's name
    parts = [labels.group] + ([labels.parent] if is_sub_row else []) + [own]
    return " / ".join(p for p in parts if p)


def _fill_multirow(cells: list[Cell], carry: dict[int, tuple[str, int]]) -> list[Cell]:
    out = []
    for col, cell in enumerate(cells):
        if cell.rows > 1:
            carry[col] = (cell.text, cell.rows - 1)
        elif not cell.text.strip() and carry.get(col, ("", 0))[1] > 0:
            text, left = carry[col]
            carry[col] = (text, left - 1)
            cell = Cell(text, cell.offset)
        out.append(cell)
    return out


def _table_slug(number: int | str) -> str:
    return f"table{number}" if isinstance(number, int) else str(number)


def slug(text: str, limit: int = 40) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("%", " pct "))
    out = "_".join(words)[:limit].strip("_")
    return out or "x"


def _unique(cid: str, used: set[str]) -> str:
    final, n = cid, 2
    while final in used:
        final = f"{cid}_{n}"
        n += 1
    used.add(final)
    return final


# ---------------------------------------------------------------- claims.yaml entries


def candidate_claim(c: Candidate, arxiv: str) -> dict[str, Any]:
    """A claims.yaml entry (status: candidate). metric, goal, select and tolerance are first
    guesses for the reader to check before confirming."""
    if c.std:
        tolerance: dict[str, Any] = {"kind": "paper_std", "k": 2}
    elif c.value != 0:
        tolerance = {"kind": "rel", "value": 0.05}
    else:
        tolerance = {"kind": "abs", "value": 1.0}
    source = {"arxiv": arxiv, "table": c.table, "row": c.row, "column": c.column, "file": c.file, "line": c.line,
              "caption": c.caption, "label": c.label, "best": c.best}
    return {"id": c.id, "quote": c.quote, "source": source, "metric": slug(c.column), "value": c.value,
            "std": c.std, "n_seeds": None, "unit": "%" if c.unit == "%" else c.unit, "goal": c.goal,
            "select": {}, "tolerance": tolerance, "status": "candidate"}
