"""Tables in the document: floats numbered like LaTeX (one table per caption, \\captionof{table}
too), bare tabulars, the authors' macros expanded in each (macros.py), rows and cells split with
their rules, \\multicolumn and \\multirow; candidates.py turns the rows into claim candidates."""

from __future__ import annotations

import re

from workbench.fetch import macros as macro_expansion
from workbench.fetch.candidates import Reader, TableResult, rows_to_candidates
from workbench.fetch.cells import Cell, plain_text
from workbench.fetch.headers import Row
from workbench.fetch.macros import Expanded
from workbench.fetch.sections import document_body
from workbench.fetch.tex import (MAX_CELL_CHARS, MAX_NESTING, MAX_ROWS, MAX_TABLES, Document, env_end, read_args,
                                 read_group, skip_spaces, split_top)

TABLE_ENV = re.compile(r"\\begin\{(table\*?|sidewaystable\*?|wraptable|longtable\*?|xltabular)\}")
TABULAR_ENV = re.compile(r"\\begin\{(tabular\*?|tabularx|tabulary|longtable\*?|xltabular|NiceTabular\*?|tabu|"
                         r"tblr|longtblr|talltblr|supertabular\*?|xtabular\*?)\}")
TWO_ARGS = {"tabular*", "tabularx", "tabulary", "xltabular", "NiceTabular*", "supertabular*", "xtabular*"}
CAPTION = re.compile(r"\\caption(?:of\s*\{table\})?\s*(?=[\[{])")
CAPTION_OF_TABLE = re.compile(r"\\captionof\s*\{table\}\s*(?=[\[{])")
FLOAT_ENV = re.compile(TABLE_ENV.pattern + r"|\\begin\{(figure\*?)\}")
LOOSE_CAPTION_REACH = 2_000  # a \\captionof{table} this close to a bare tabular is its caption
SUB_FLOAT = re.compile(r"\\begin\{(subtable|subfigure)\}|\\(subcaption|subfloat|subcaptionbox)\b")
ROW_END = re.compile(r"\\tabularnewline\b|\\cr\b")
RULE = re.compile(r"\\(toprule|midrule|bottomrule|hline|cline|cmidrule|addlinespace|specialrule|hhline|noalign|"
                  r"rowcolor|morecmidrules|cdashline|hdashline|Xhline|firsthline|lasthline|endhead|endfirsthead|"
                  r"endfoot|endlastfoot|arrayrulecolor|rowcolors|hlineB|cmidrulewidth|belowrulesep|aboverulesep|"
                  r"vspace|noindent)\b\*?")
RULE_ARGS = {"cline": 1, "cmidrule": 1, "hhline": 1, "noalign": 1, "rowcolor": 1, "specialrule": 3,
             "cdashline": 1, "Xhline": 1, "addlinespace": 0, "arrayrulecolor": 1, "rowcolors": 3, "vspace": 1,
             "hlineB": 1}
LONGTABLE_HEAD_ROWS = 50      # a longtable's heads and feet are defined in its first rows
MAX_TABULAR_CHARS = 1 << 20   # a real results table is under 100 kB
MAX_CELL_TEXT = 4 * MAX_CELL_CHARS  # longer is "too long" anyway; no cell's text costs more to read
NESTED = re.compile(r"\\begin\{(tabular|array|tabularx|minipage)\}")


def tables(doc: Document) -> list[TableResult]:
    """Every table float and every bare tabular, numbered like LaTeX: by each caption of a table
    (\\caption in a table float, \\captionof{table} anywhere), in order."""
    text = doc.text
    start, stop = document_body(doc)
    reader = Reader(doc, macro_expansion.collect(text))
    found: list[TableResult] = []
    floats: list[tuple[int, int]] = []
    loose = [m.start() for m in CAPTION_OF_TABLE.finditer(text, start, stop)]  # \captionof{table}
    loose_numbers: dict[int, int] = {}
    number = k = 0
    for match in FLOAT_ENV.finditer(text, start, stop):
        if floats and match.start() < floats[-1][1]:
            continue  # a float inside a float is read with it
        if len(found) >= MAX_TABLES:
            reader.stop(f"more than {MAX_TABLES:,} tables; the rest were not read")
            break
        name = match.group(1) or match.group(2)
        body_end, env_stop = env_end(text, name, match.end())
        figure = name.startswith("figure")
        if figure and not CAPTION_OF_TABLE.search(text, match.end(), body_end):
            continue  # a figure's tabular is read as a bare one
        while k < len(loose) and loose[k] < match.start():
            number += 1
            loose_numbers[loose[k]] = number
            k += 1
        while k < len(loose) and loose[k] < env_stop:
            k += 1  # counted with its float
        floats.append((match.start(), env_stop))
        region = macro_expansion.expand(text[match.end():body_end], match.end(), reader.macros, reader.expansion)
        results = _float_tables(reader, match, region, (match.start(), env_stop), number, len(found), figure)
        number += sum(isinstance(r.number, int) for r in results)
        found.extend(results)
    for position in loose[k:]:
        number += 1
        loose_numbers[position] = number
    found.extend(_bare_tabulars(reader, start, stop, floats, len(found), loose_numbers))
    if reader.expansion.exhausted:
        reader.stop(f"macro expansion stopped: {reader.expansion.exhausted}")
    return sorted(found, key=lambda t: t.span[0])


def _float_tables(reader: Reader, match: re.Match, region: Expanded, span: tuple[int, int], number: int,
                  n_found: int, figure: bool) -> list[TableResult]:
    """A float has one table per caption outside its sub-floats (two minipages, two tables);
    in a figure, only \\captionof{table} makes a table."""
    text = region.text
    captions = _captions(text, CAPTION_OF_TABLE if figure else CAPTION)
    where = reader.doc.where(match.start())
    if not captions:
        results = [TableResult(f"unnumbered{n_found + 1}", None, None, where.file, where.line, span)]
        captions = [(0, None, _label(text, 0, len(text)))]
    else:
        results = [TableResult(number + k + 1, label, caption, where.file, where.line, span)
                   for k, (_, caption, label) in enumerate(captions)]
    if len(results) == 1 and results[0].label is None:
        results[0].label = _label(text, 0, len(text))
    if (match.group(1) or "").startswith(("longtable", "xltabular")):
        _read_tabular(reader, region, None, match.group(1), results[0])  # the float is the tabular
        return results
    for tab in _tabulars(text):
        owner = min(range(len(captions)), key=lambda k: abs(captions[k][0] - tab.start()))
        _read_tabular(reader, region, tab.end(), tab.group(1), results[owner])
    return results


def _captions(text: str, pattern: re.Pattern) -> list[tuple[int, str | None, str | None]]:
    """(position, caption, label) of each caption that numbers a table, sub-captions left out;
    a \\label after a caption is its own up to the next caption."""
    sub_spans = _sub_float_spans(text)
    matches = [m for m in pattern.finditer(text) if not any(a <= m.start() < b for a, b in sub_spans)][:MAX_NESTING]
    found = []
    for k, match in enumerate(matches):
        (raw,), end = read_args(text, match.end(), 1)
        stop = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        in_caption = re.search(r"\\label\{([^{}]*)\}", raw)
        label = in_caption.group(1) if in_caption else _label(text, end, min(stop, end + 400))
        found.append((match.start(), plain_text(raw), label))
    return found


def _sub_float_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in SUB_FLOAT.finditer(text):
        if match.group(1):
            spans.append((match.start(), env_end(text, match.group(1), match.end())[1]))
        else:
            _, end = read_args(text, match.end(), 1)
            spans.append((match.start(), end))
        if len(spans) >= MAX_NESTING:
            break
    return spans


def _label(text: str, start: int, stop: int) -> str | None:
    found = re.compile(r"\\label\{([^{}]*)\}").search(text, start, stop)
    return found.group(1) if found else None


def _tabulars(text: str, start: int = 0, stop: int | None = None) -> list[re.Match]:
    """The outermost tabulars of text[start:stop] (one inside a cell is part of its cell)."""
    out, covered = [], -1
    for tab in TABULAR_ENV.finditer(text, start, len(text) if stop is None else stop):
        if tab.start() < covered:
            continue
        out.append(tab)
        covered = env_end(text, tab.group(1), tab.end())[1]
        if len(out) >= MAX_NESTING:
            break
    return out


def _bare_tabulars(reader: Reader, start: int, stop: int, floats: list[tuple[int, int]], n_found: int,
                   loose_numbers: dict[int, int]) -> list[TableResult]:
    """Tabulars outside any table float (in a figure, a minipage with \\captionof, the page itself)."""
    text = reader.doc.text
    found: list[TableResult] = []
    loose = sorted(loose_numbers)
    k, covered = 0, -1
    for tab in TABULAR_ENV.finditer(text, start, stop):
        while k < len(floats) and floats[k][1] <= tab.start():
            k += 1
        if (k < len(floats) and floats[k][0] <= tab.start()) or tab.start() < covered:
            continue
        if n_found + len(found) >= MAX_TABLES:
            reader.stop(f"more than {MAX_TABLES:,} tables; the rest were not read")
            break
        body_end, env_stop = env_end(text, tab.group(1), tab.end())
        covered = env_stop
        where = reader.doc.where(tab.start())
        result = TableResult(f"tabular{n_found + len(found) + 1}", None, None, where.file, where.line, (tab.start(), env_stop))
        near = [p for p in loose if tab.start() - LOOSE_CAPTION_REACH <= p <= env_stop + LOOSE_CAPTION_REACH]
        if near:
            position = min(near, key=lambda p: min(abs(p - tab.start()), abs(p - env_stop)))
            loose.remove(position)
            (raw,), end = read_args(text, CAPTION_OF_TABLE.match(text, position).end(), 1)
            result.number, result.caption = loose_numbers[position], plain_text(raw)
            result.label = _label(raw, 0, len(raw)) or _label(text, end, min(len(text), end + 400))
        region = macro_expansion.expand(text[tab.end():body_end], tab.end(), reader.macros, reader.expansion)
        _read_tabular(reader, region, None, tab.group(1), result)
        found.append(result)
    return found


def _read_tabular(reader: Reader, region: Expanded, after_begin: int | None, name: str, result: TableResult) -> None:
    """The tabular whose \\begin ends at region.text[after_begin] (None: the region is its body)."""
    text = region.text
    body_end = len(text) if after_begin is None else env_end(text, name, after_begin)[0]
    _, body_start = read_args(text, after_begin or 0, 2 if name in TWO_ARGS else 1)
    if body_end - body_start > MAX_TABULAR_CHARS:
        reader.stop(f"a tabular longer than {MAX_TABULAR_CHARS:,} characters; only its start was read")
        body_end = body_start + MAX_TABULAR_CHARS
    stacked = _stacked_tabulars(text, body_start, body_end)
    if stacked:  # a one-column tabular holding a header tabular over a body tabular: one table
        rows = [row for tab in stacked for row in _split_rows(*_tabular_body(text, tab), region)]
    else:
        rows = _split_rows(text[body_start:body_end], body_start, region)
    if name.startswith(("longtable", "xltabular")):
        rows = [r for r in _first_head_only(rows) if not any("\\caption" in c.text for c in r.cells)]
    rows = [r for r in rows if any(c.text.strip() for c in r.cells)]
    if len(rows) > reader.rows_left:
        reader.stop(f"more than {MAX_ROWS:,} table rows; the rest were not read")
        rows = rows[:max(reader.rows_left, 0)]
    reader.rows_left -= len(rows)
    rows_to_candidates(reader, rows, result)


def _first_head_only(rows: list[Row]) -> list[Row]:
    """A longtable prints its first head once; the head repeated on later pages (from
    \\endfirsthead to \\endhead) and the page foot (up to \\endfoot / \\endlastfoot) are dropped."""
    heads = {"endfirsthead", "endhead", "endfoot", "endlastfoot"}
    markers = [k for k, r in enumerate(rows[:LONGTABLE_HEAD_ROWS]) if heads & set(r.rules_before)]
    if not markers:
        return rows
    first = next((k for k in markers if "endfirsthead" in rows[k].rules_before), markers[0])
    return rows[:first] + rows[markers[-1]:]


def _stacked_tabulars(text: str, start: int, stop: int) -> list[re.Match]:
    """The tabulars a body is made of, when it holds nothing else (rules and line breaks aside)."""
    inner = _tabulars(text, start, stop)
    if len(inner) < 2:
        return []
    position, outside = start, []
    for tab in inner:
        outside.append(text[position:tab.start()])
        position = env_end(text, tab.group(1), tab.end())[1]
    outside.append(text[position:stop])
    rest = RULE.sub("", "".join(outside)).replace("\\\\", "")
    return inner if not re.sub(r"\{[^{}]*\}|\s", "", rest) else []


def _tabular_body(text: str, tab: re.Match) -> tuple[str, int]:
    _, body_start = read_args(text, tab.end(), 2 if tab.group(1) in TWO_ARGS else 1)
    return text[body_start:env_end(text, tab.group(1), tab.end())[0]], body_start


def _split_rows(body: str, base: int, region: Expanded) -> list[Row]:
    body = ROW_END.sub(lambda m: "\\\\" + " " * (len(m.group()) - 2), _flatten_nested(body))
    rows = []
    for offset, raw in split_top(body, "\\\\", limit=MAX_ROWS + 1):
        rest = raw
        if rest.startswith("*"):
            rest = " " + rest[1:]
        stripped = rest.lstrip()
        if stripped.startswith("["):  # \\[2pt]
            _, end = read_group(stripped, 0, "[", "]")
            rest = " " * (len(rest) - len(stripped) + end) + stripped[end:]
        rules, cell_start = _leading_rules(rest)
        at = base + offset + cell_start
        cells = [_unwrap(piece, region.source(at + pos + len(piece) - len(piece.lstrip())))
                 for pos, piece in split_top(rest[cell_start:], "&")]
        rows.append(Row(cells, rules, region.source(at)))
    return rows


def _flatten_nested(body: str) -> str:
    """A tabular inside a cell (two-line headers) becomes one line of text, same length."""
    out = body
    for _ in range(MAX_NESTING):
        match = NESTED.search(out)
        if not match:
            break
        n_args = 2 if match.group(1) in ("tabularx", "minipage") else 1
        _, inner_start = read_args(out, match.end(), n_args)
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
        i = match.end()
        for _ in range(3):  # \midrule[1pt], \cmidrule(lr){2-3}, \specialrule{a}{b}{c}: optionals first
            j = skip_spaces(row, i)
            if j < len(row) and row[j] in "[(":
                _, i = read_group(row, j, row[j], "]" if row[j] == "[" else ")")
        if RULE_ARGS.get(match.group(1), 0):
            _, i = read_args(row, i, RULE_ARGS[match.group(1)])


def _unwrap(piece: str, offset: int) -> Cell:
    """\\multicolumn{n}{spec}{x} and \\multirow{n}{w}{x} → x with its span."""
    stripped = piece.strip()
    span = rows = 1
    for _ in range(4):  # \multicolumn{2}{c}{\multirow{2}{*}{x}} nests at most a few deep
        multi = re.match(r"\\(multicolumn|multirow|makecell|thead|shortstack)\b", stripped)
        if not multi:
            break
        kind = multi.group(1)
        n_args = {"multicolumn": 3, "multirow": 3, "makecell": 1, "thead": 1, "shortstack": 1}[kind]
        args, end = read_args(stripped, multi.end(), n_args)
        count = _int(args[0]) if kind in ("multicolumn", "multirow") else 1
        if kind == "multicolumn":
            span = max(1, count)
        elif kind == "multirow":
            rows = max(1, abs(count))
        stripped = (args[-1].replace("\\\\", " ") + " " + stripped[end:]).strip()
    return Cell(stripped[:MAX_CELL_TEXT], offset, span, rows)


def _int(text: str) -> int:
    match = re.search(r"-?\d+", text)
    return int(match.group()) if match else 1


