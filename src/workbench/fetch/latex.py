"""LaTeX source → sections (for the reading checklist) and tables → claim candidates.

Input is the flattened document from `eprint.flatten` (comments gone, each line tagged with its
file and line). Tables are read the way papers write them: tabular / tabular* / tabularx inside
table floats, booktabs rules, \\multicolumn and \\multirow, `94.1 \\pm 0.3`, `94.1 ± 0.3`,
`94.1 (0.3)`, `94.1_{\\pm 0.3}`, siunitx `\\num{}`/`\\SI{}{}`, percentages, `3.7e-2` and
`3.7 \\times 10^{-2}`, \\textbf/\\underline for the best result, footnote marks, `--` for empty.

Every value cell becomes a candidate claim or an `Unparsed` entry with the reason; none is
dropped silently. All scanning is linear in the input (brace matching, anchored regexes
without nested repeats), and the number of cells read is capped, so no input can hang it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from workbench.fetch.eprint import SourceLine

MAX_CELLS = 50_000
MAX_CELL_CHARS = 300
MAX_GROUP_CHARS = 20_000  # no caption, title or cell argument is longer; bounds work on broken input


@dataclass
class Document:
    """Flattened source as one string, with offsets mapped back to file and line."""

    lines: list[SourceLine]
    text: str = ""
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line.text) + 1
        self.text = "\n".join(line.text for line in self.lines)

    def where(self, offset: int) -> SourceLine:
        return self.lines[max(0, bisect.bisect_right(self.starts, offset) - 1)]


# ---------------------------------------------------------------- small scanners


def read_group(text: str, start: int, open_: str = "{", close: str = "}") -> tuple[str, int]:
    """The contents of the balanced group opening at text[start]; (contents, index after it).
    An unbalanced group runs to the end of the text, or MAX_GROUP_CHARS at most."""
    depth, i = 0, start
    end = min(len(text), start + MAX_GROUP_CHARS)
    while i < end:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == open_:
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
        i += 1
    return text[start + 1:end], end


def skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n":
        i += 1
    return i


def read_args(text: str, i: int, n: int) -> tuple[list[str], int]:
    """n mandatory {} arguments after text[i], skipping [optional] ones and spaces."""
    args = []
    while len(args) < n:
        i = skip_spaces(text, i)
        if i < len(text) and text[i] == "[":
            _, i = read_group(text, i, "[", "]")
        elif i < len(text) and text[i] == "{":
            arg, i = read_group(text, i)
            args.append(arg)
        elif i < len(text) and text[i] == "(":  # \cmidrule(lr){2-3}
            _, i = read_group(text, i, "(", ")")
        else:
            args.append("")
            break
    return args, i


def env_end(text: str, name: str, start: int) -> tuple[int, int]:
    """(start of \\end{name}, index after it) for the environment whose \\begin is before start."""
    pattern = re.compile(r"\\(begin|end)\{" + re.escape(name) + r"\}")
    depth = 1
    for match in pattern.finditer(text, start):
        depth += 1 if match.group(1) == "begin" else -1
        if depth == 0:
            return match.start(), match.end()
    return len(text), len(text)


def split_top(text: str, separator: str) -> list[tuple[int, str]]:
    """Split at `separator` outside braces and not escaped; (offset, piece) pairs."""
    pieces, depth, i, last = [], 0, 0, 0
    n = len(separator)
    while i < len(text):
        if text.startswith(separator, i) and depth == 0:
            pieces.append((last, text[last:i]))
            i += n
            last = i
            continue
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        i += 1
    pieces.append((last, text[last:]))
    return pieces


# ---------------------------------------------------------------- sections and title


@dataclass
class Section:
    level: int          # 0 part/chapter, 1 section, 2 subsection, 3 subsubsection
    number: str         # "3", "3.2", "A", "A.1"; "" for starred ones
    title: str
    file: str
    line: int


SECTION = re.compile(r"\\(section|subsection|subsubsection)(\*?)\s*(?=[\[{])")
LEVELS = {"section": 1, "subsection": 2, "subsubsection": 3}


def document_body(doc: Document) -> tuple[int, int]:
    begin = doc.text.find("\\begin{document}")
    end = doc.text.find("\\end{document}")
    return (0 if begin < 0 else begin), (len(doc.text) if end < 0 else end)


def sections(doc: Document) -> list[Section]:
    """Numbered as LaTeX does (letters after \\appendix); starred sections get no number."""
    start, stop = document_body(doc)
    appendix_at = doc.text.find("\\appendix", start, stop)
    counters = [0, 0, 0]
    lettered = False
    found = []
    position = start
    while match := SECTION.search(doc.text, position, stop):
        level = LEVELS[match.group(1)]
        (title,), position = read_args(doc.text, match.end(), 1)  # go on after the title: linear time
        number = ""
        if not match.group(2):
            if 0 <= appendix_at < match.start() and not lettered and level == 1:
                counters, lettered = [0, 0, 0], True  # \appendix restarts sections at A
            counters[level - 1] += 1
            counters[level:] = [0] * (3 - level)
            head = _letter(counters[0]) if lettered else str(counters[0])
            number = ".".join([head, *map(str, counters[1:level])])
        where = doc.where(match.start())
        found.append(Section(level, number, plain_text(title), where.file, where.line))
    return found


def _letter(n: int) -> str:
    return chr(ord("A") + n - 1) if 1 <= n <= 26 else str(n)


def title(doc: Document) -> str | None:
    match = re.search(r"\\title\s*(?=[\[{])", doc.text)
    if not match:
        return None
    (text,), _ = read_args(doc.text, match.end(), 1)
    return plain_text(text) or None


# ---------------------------------------------------------------- cell text


@dataclass
class Cell:
    text: str            # LaTeX as written, with \multicolumn/\multirow unwrapped
    offset: int          # in Document.text
    span: int = 1
    rows: int = 1        # \multirow height


DROP_WITH_ARG = ("footnote", "tnote", "textsuperscript", "cite", "citep", "citet", "ref", "label",
                 "hspace", "vspace", "phantom", "hphantom", "vphantom", "color", "cellcolor", "rowcolor",
                 "footnotemark", "tablefootnote", "fnref")
DROP_WITH_ARG_RE = re.compile(r"\\(" + "|".join(DROP_WITH_ARG) + r")\b\*?")
BEST_RE = re.compile(r"\\(textbf|mathbf|bm|boldsymbol|underline|uline|bfseries|bf|best)\b")
SYMBOLS = [
    ("\\mathrm{e}", "e"), ("\\text{e}", "e"), ("\\mathrm{E}", "e"), ("\\pm", " ± "), ("\\mp", " ± "), ("+/-", " ± "), ("+-", " ± "), ("\\%", "%"), ("\\percent", "%"),
    ("\\times", " × "), ("\\cdot", " × "), ("−", "-"), ("\\textendash", "--"), ("\\textemdash", "--"),
    ("–", "--"), ("—", "--"), ("\\,", " "), ("\\;", " "), ("\\!", ""), ("\\ ", " "), ("~", " "),
    ("\\sim", "~"), ("\\approx", "~"), ("∼", "~"), ("≈", "~"),
    ("\\dagger", ""), ("\\ddagger", ""), ("\\ast", ""), ("\\star", ""), ("†", ""), ("‡", ""), ("§", ""),
]
EXPONENT = re.compile(r"\s*×\s*10\s*\^\s*\{?\s*([-+]?\s*\d+)\s*\}?")
POWER_OF_TEN = re.compile(r"^10\s*\^\s*\{?\s*([-+]?\s*\d+)\s*\}?$")
SUPERSCRIPT = re.compile(r"\^\s*(\{[^{}]*\}|\\?[A-Za-z*]|\d)")
MARK = re.compile(r"\^\s*(\{[^{}\d]*\}|\*|$)")  # a footnote mark left in a label: ^{}, ^*
COMMAND = re.compile(r"\\[A-Za-z]+\*?")
THOUSANDS = re.compile(r"(\d),(\d{3})(?!\d)")
SPACES = re.compile(r"\s+")


def drop_commands_with_args(text: str) -> str:
    """\\footnote{...}, \\cite{...}, \\color{red} and the like vanish with their argument."""
    out, i = [], 0
    for _ in range(len(text)):  # bounded: each pass consumes at least one match
        match = DROP_WITH_ARG_RE.search(text, i)
        if not match:
            break
        out.append(text[i:match.start()])
        j = skip_spaces(text, match.end())
        if j < len(text) and text[j] == "[":
            _, j = read_group(text, j, "[", "]")
            j = skip_spaces(text, j)
        if j < len(text) and text[j] == "{" and match.group(1) != "footnotemark":
            _, j = read_group(text, j)
        i = j
    out.append(text[i:])
    return "".join(out)


def plain_text(latex: str) -> str:
    """Readable text of a header or caption: commands and braces gone, symbols kept."""
    text = drop_commands_with_args(latex)
    for old, new in SYMBOLS:
        text = text.replace(old, new)
    text = text.replace("\\\\", " ")
    text = MARK.sub("", COMMAND.sub(" ", text))
    text = text.replace("{", "").replace("}", "").replace("$", "")
    return SPACES.sub(" ", text).strip()


def cell_text(latex: str) -> str:
    """Plain text of a value cell, footnote marks dropped and numbers normalised."""
    text = drop_commands_with_args(latex)
    for old, new in SYMBOLS:
        text = text.replace(old, new)
    text = text.replace("$", "").replace("{,}", ",")
    text = EXPONENT.sub(lambda m: "e" + m.group(1).replace(" ", ""), text)
    text = COMMAND.sub(" ", text)
    if not POWER_OF_TEN.match(text.strip()):
        text = SUPERSCRIPT.sub(" ", text).replace("^", " ")  # footnote marks: ^{a}, ^*, a bare ^ left by \dagger
    text = text.replace("_", " ").replace("{", " ").replace("}", " ").replace("*", " ")
    text = THOUSANDS.sub(r"\1\2", text)
    return SPACES.sub(" ", text).strip()


# ---------------------------------------------------------------- numbers

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
UNITS = r"%|k|K|M|B|G|x|×|s|ms|h"
NUMBER = re.compile(rf"({NUM})\s*({UNITS})?")
PAREN_STD = re.compile(rf"({NUM})\s*({UNITS})?\s*\(\s*({NUM})\s*({UNITS})?\s*\)\s*({UNITS})?")
SHARED_EXP = re.compile(rf"\(\s*([^()]*)\)\s*[eE]([-+]?\d+)")
EMPTY_MARKERS = {"", "-", "--", "---", "n/a", "na", "N/A", "NA", "/", "?", "x", "✗", "-/-", "--/--", "oom", "OOM"}
APPROX = ("~",)


@dataclass
class Value:
    value: float
    std: float | None
    unit: str


def parse_number(text: str) -> Value | None:
    """'94.1', '94.1 ± 0.3%', '94.1% ± 0.3%', '94.1 (0.3)', '3.7e-2', '(3.7 ± 0.2)e-2', '10^{-3}'."""
    text = text.strip().lstrip("~").strip()
    if not text or len(text) > MAX_CELL_CHARS:
        return None
    power = POWER_OF_TEN.fullmatch(text)
    if power:
        return Value(10.0 ** int(power.group(1).replace(" ", "")), None, "")
    shared = SHARED_EXP.fullmatch(text)
    if shared:
        inner = parse_number(shared.group(1))
        if inner is None:
            return None
        scale = 10.0 ** int(shared.group(2))
        std = None if inner.std is None else float(f"{inner.std * scale:.12g}")
        return Value(float(f"{inner.value * scale:.12g}"), std, inner.unit)
    paren = PAREN_STD.fullmatch(text)
    if paren:
        unit = paren.group(2) or paren.group(4) or paren.group(5) or ""
        return Value(float(paren.group(1)), float(paren.group(3)), unit)
    parts = text.split("±")
    if len(parts) > 2:
        return None
    main = NUMBER.fullmatch(parts[0].strip())
    if not main:
        return None
    std, unit = None, main.group(2) or ""
    if len(parts) == 2:
        spread = NUMBER.fullmatch(parts[1].strip())
        if not spread:
            return None
        std = abs(float(spread.group(1)))
        unit = unit or spread.group(2) or ""
    return Value(float(main.group(1)), std, unit)


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


def read_document(lines: list[SourceLine]) -> tuple[Document, list[Section], list[TableResult]]:
    doc = Document(lines)
    return doc, sections(doc), tables(doc)
