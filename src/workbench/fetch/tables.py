"""Tables -> claim candidates: rows, header columns, multicolumn/multirow, the goal read from
the header; every value cell is a candidate or an `Unparsed` entry with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workbench.fetch.cells import BEST_RE, EMPTY_MARKERS, Cell, cell_text, parse_number, plain_text
from workbench.fetch.sections import document_body
from workbench.fetch.tex import MAX_CELL_CHARS, MAX_CELLS, Document, env_end, read_args, read_group, skip_spaces, split_top

# ---------------------------------------------------------------- tables

TABLE_ENV = re.compile(r"\\begin\{(table\*?|sidewaystable\*?|wraptable|longtable\*?)\}")
TABULAR_ENV = re.compile(r"\\begin\{(tabular\*?|tabularx|tabulary|longtable\*?|NiceTabular)\}")
RULE = re.compile(r"\\(toprule|midrule|bottomrule|hline|cline|cmidrule|addlinespace|specialrule|hhline|noalign|"
                  r"rowcolor|morecmidrules|cdashline|hdashline|Xhline|firsthline|lasthline|endhead|endfirsthead|"
                  r"endfoot|endlastfoot)\b")
RULE_ARGS = {"cline": 1, "cmidrule": 1, "hhline": 1, "noalign": 1, "rowcolor": 1, "specialrule": 3,
             "cdashline": 1, "Xhline": 1, "addlinespace": 0}
BODY_RULES = {"midrule", "hline", "specialrule", "Xhline", "hdashline", "endhead", "endfirsthead"}
GOAL_MIN = re.compile(r"\b(err|error|errors|loss|mse|mae|rmse|nll|perplexity|ppl|fid|wer|cer|bpd|bits|time|latency|"
                      r"regret|distance|cost|kid|lpips|eer)\b", re.IGNORECASE)


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
class Row:
    cells: list[Cell]
    rules_before: list[str]
    offset: int


def tables(doc: Document) -> list[TableResult]:
    """Every table float (numbered like LaTeX: by \\caption, in order) and every bare tabular."""
    text = doc.text
    start, stop = document_body(doc)
    found: list[TableResult] = []
    seen_tabulars: set[int] = set()
    number = 0
    budget = [MAX_CELLS]
    for match in TABLE_ENV.finditer(text, start, stop):
        if any(match.start() in range(a, b) for a, b in _covered(found)):
            continue
        name = match.group(1)
        body_end, env_stop = env_end(text, name, match.end())
        caption, label = _caption_and_label(text, match.end(), body_end)
        if caption is not None:
            number += 1
        where = doc.where(match.start())
        result = TableResult(number if caption is not None else f"unnumbered{len(found) + 1}", label, caption,
                             where.file, where.line, (match.start(), env_stop))
        tab_matches = [match] if name.startswith("longtable") else list(TABULAR_ENV.finditer(text, match.end(), body_end))
        for tab in tab_matches:
            seen_tabulars.add(tab.start())
            _read_tabular(doc, tab, result, budget)
        found.append(result)
    for tab in TABULAR_ENV.finditer(text, start, stop):  # tabulars outside any float
        if tab.start() in seen_tabulars or any(tab.start() in range(a, b) for a, b in _covered(found)):
            continue
        where = doc.where(tab.start())
        span = (tab.start(), env_end(text, tab.group(1), tab.end())[1])
        result = TableResult(f"tabular{len(found) + 1}", None, None, where.file, where.line, span)
        _read_tabular(doc, tab, result, budget)
        found.append(result)
    return sorted(found, key=lambda t: t.span[0])


def _covered(found: list[TableResult]) -> list[tuple[int, int]]:
    return [t.span for t in found]


def _caption_and_label(text: str, start: int, stop: int) -> tuple[str | None, str | None]:
    caption = label = None
    match = re.compile(r"\\caption(?:of\s*\{table\})?\s*(?=[\[{])").search(text, start, stop)
    if match:
        (raw,), _ = read_args(text, match.end(), 1)
        caption = plain_text(raw)
        label_in_caption = re.search(r"\\label\{([^{}]*)\}", raw)
        label = label_in_caption.group(1) if label_in_caption else None
    if label is None:
        found = re.compile(r"\\label\{([^{}]*)\}").search(text, start, stop)
        label = found.group(1) if found else None
    return caption, label


def _read_tabular(doc: Document, tab: re.Match, result: TableResult, budget: list[int]) -> None:
    text = doc.text
    name = tab.group(1)
    n_args = 2 if name in ("tabular*", "tabularx", "tabulary") else 1
    _, body_start = read_args(text, tab.end(), n_args)
    body_end, _ = env_end(text, name, tab.end())
    rows = _split_rows(text[body_start:body_end], body_start)
    if name.startswith("longtable"):
        rows = [r for r in rows if not any("\\caption" in c.text for c in r.cells)]
    rows = [r for r in rows if any(c.text.strip() for c in r.cells)]
    _rows_to_candidates(doc, rows, result, budget)


def _split_rows(body: str, base: int) -> list[Row]:
    body = _flatten_nested(body)
    rows = []
    for offset, raw in split_top(body, "\\\\"):
        raw_offset = base + offset
        rest = raw
        if rest.startswith("*"):
            rest = " " + rest[1:]
        stripped = rest.lstrip()
        if stripped.startswith("["):  # \\[2pt]
            _, end = read_group(stripped, 0, "[", "]")
            rest = " " * (len(rest) - len(stripped) + end) + stripped[end:]
        rules, cell_start = _leading_rules(rest)
        cells = [_unwrap(piece, raw_offset + cell_start + pos) for pos, piece in split_top(rest[cell_start:], "&")]
        rows.append(Row(cells, rules, raw_offset + cell_start))
    return rows


def _flatten_nested(body: str) -> str:
    """A tabular inside a cell (two-line headers) becomes one line of text, same length."""
    out = body
    for _ in range(100):
        match = re.search(r"\\begin\{(tabular|array)\}", out)
        if not match:
            break
        _, inner_start = read_args(out, match.end(), 1)
        end_start, end_stop = env_end(out, match.group(1), match.end())
        inner = out[inner_start:end_start].replace("\\\\", "  ").replace("&", " ")
        out = out[:match.start()] + " " * (inner_start - match.start()) + inner + " " * (end_stop - end_start) + out[end_stop:]
    return out


def _leading_rules(row: str) -> tuple[list[str], int]:
    rules, i = [], 0
    while True:
        i = skip_spaces(row, i)
        match = RULE.match(row, i)
        if not match:
            return rules, i
        rules.append(match.group(1))
        _, i = read_args(row, match.end(), RULE_ARGS.get(match.group(1), 0))
        if RULE_ARGS.get(match.group(1), 0) == 0:
            i = match.end()
            j = skip_spaces(row, i)
            if j < len(row) and row[j] in "[(":  # \addlinespace[3pt], \cmidrule(lr)
                _, i = read_group(row, j, row[j], "]" if row[j] == "[" else ")")


def _unwrap(piece: str, offset: int) -> Cell:
    """\\multicolumn{n}{spec}{x} and \\multirow{n}{w}{x} → x with its span."""
    stripped = piece.strip()
    lead = offset + (len(piece) - len(piece.lstrip()))
    span = rows = 1
    for _ in range(4):  # \multicolumn{2}{c}{\multirow{2}{*}{x}} nests at most a few deep
        multi = re.match(r"\\(multicolumn|multirow|makecell|thead|shortstack)\b", stripped)
        if not multi:
            break
        kind = multi.group(1)
        n_args = {"multicolumn": 3, "multirow": 3, "makecell": 1, "thead": 1, "shortstack": 1}[kind]
        args, _ = read_args(stripped, multi.end(), n_args)
        count = _int(args[0]) if kind in ("multicolumn", "multirow") else 1
        if kind == "multicolumn":
            span = max(1, count)
        elif kind == "multirow":
            rows = max(1, abs(count))
        stripped = args[-1].replace("\\\\", " ").strip()
    return Cell(stripped, lead, span, rows)


def _int(text: str) -> int:
    match = re.search(r"-?\d+", text)
    return int(match.group()) if match else 1


def _expand(cells: list[Cell]) -> list[Cell]:
    """One entry per column: a \\multicolumn's text repeats across its span."""
    out = []
    for cell in cells:
        out.extend([cell] * cell.span)
    return out


def _rows_to_candidates(doc: Document, rows: list[Row], result: TableResult, budget: list[int]) -> None:
    boundary = next((i for i, r in enumerate(rows) if i > 0 and set(r.rules_before) & BODY_RULES), None)
    if boundary is None:
        first_has_numbers = rows and any(parse_number(cell_text(c.text)) for c in rows[0].cells)
        boundary = 0 if (not rows or first_has_numbers) else 1
    header_rows = [_expand(r.cells) for r in rows[:boundary]]
    body = rows[boundary:]
    n_labels = _label_columns(body)
    width = max((len(_expand(r.cells)) for r in rows), default=0)
    columns = [_column_name(header_rows, col) for col in range(width)]
    header_raws = [" ".join(r[col].text for r in header_rows if col < len(r)) for col in range(width)]
    carry: dict[int, tuple[str, int]] = {}
    group = ""
    used_ids: set[str] = {c.id for c in result.candidates}
    for row_number, row in enumerate(body, start=1):
        cells = _fill_multirow(_expand(row.cells), carry)
        texts = [cell_text(c.text) for c in cells]
        values = [parse_number(t) for t in texts]
        if not any(values) and len({t for t in texts if t}) == 1 and row.cells[0].span > 1:
            group = plain_text(next(c.text for c in cells if cell_text(c.text)))
            continue
        label_cells = [plain_text(c.text) for c in cells[:n_labels]]
        row_name = " / ".join([g for g in [group] if g] + [t for t in label_cells if t]) or f"row{row_number}"
        for col in range(n_labels, len(cells)):
            cell = cells[col]
            if col > 0 and cells[col - 1] is cell:
                continue  # the rest of a \multicolumn span
            budget[0] -= 1
            if budget[0] < 0:
                return
            column = columns[col]
            where = doc.where(cell.offset)
            printed = texts[col]
            if printed in EMPTY_MARKERS:
                continue
            value = values[col]
            if value is None:
                reason = "too long" if len(printed) > MAX_CELL_CHARS else "not a number we can read"
                result.unparsed.append(Unparsed(result.number, row_name, column, cell.text.strip()[:MAX_CELL_CHARS],
                                                reason, where.file, where.line))
                continue
            cid = _unique(f"{_table_slug(result.number)}.{slug(row_name)}.{slug(column)}", used_ids)
            result.candidates.append(Candidate(
                id=cid, quote=f"{row_name} | {column} | {printed}", table=result.number, label=result.label,
                caption=result.caption, row=row_name, column=column, value=value.value, std=value.std,
                unit=value.unit, best=bool(BEST_RE.search(cell.text)), goal=_goal(header_raws[col], column),
                file=where.file, line=where.line))


def _label_columns(body: list[Row]) -> int:
    """How many leading columns name the row: the fewest cells before a number in any row."""
    firsts = []
    for row in body:
        cells = _expand(row.cells)
        for i, cell in enumerate(cells):
            if parse_number(cell_text(cell.text)) is not None:
                firsts.append(i)
                break
    return min(firsts) if firsts else 1


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


def _column_name(header_rows: list[list[Cell]], col: int) -> str:
    parts: list[str] = []
    for row in header_rows:
        if col < len(row):
            text = plain_text(row[col].text)
            if text and text not in parts:
                parts.append(text)
    return " / ".join(parts) or f"col{col + 1}"


def _goal(header_raw: str, column: str) -> str:
    if "downarrow" in header_raw or "↓" in header_raw:
        return "min"
    if "uparrow" in header_raw or "↑" in header_raw:
        return "max"
    return "min" if GOAL_MIN.search(column) else "max"


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


