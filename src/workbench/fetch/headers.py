"""A table's shape: which rows are its header (with or without a rule under them, on one level or
two), what each column is called, how many leading columns name the row, and whether a column's
numbers are better high or low."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.fetch.cells import EMPTY_MARKERS, Cell, cell_text, parse_values, plain_text


@dataclass
class Row:
    cells: list[Cell]
    rules_before: list[str]
    offset: int


BODY_RULES = {"midrule", "hline", "specialrule", "Xhline", "hdashline", "endhead", "endfirsthead"}
GOAL_MIN = re.compile(
    r"\b(err|error|errors|loss|mse|mae|rmse|nll|perplexity|ppl|fid|wer|cer|ter|bpd|bpc|bits|time|latency|regret|"
    r"distance|cost|kid|lpips|eer|ece|brier|mape|smape|nmse|nrmse|kl|divergence|chamfer|hausdorff|fpr|fnr|"
    r"miss rate|abs ?rel|mean rank|runtime|violations?|wall|wall-clock|hours|core-hours|memory|seconds)\b",
    re.IGNORECASE)
GOAL_MAX = re.compile(r"\b(acc|accuracy|f1|bleu|rouge|auc|auroc|aupr|precision|recall|score|map|iou|miou|psnr|ssim|"
                      r"r2|top-?1|top-?5|return|reward|success|hit|ndcg|mrr|em|spearman|pearson|correlation|"
                      r"reduction|improvement|gain|speed-?up|coverage)\b", re.IGNORECASE)


# A caption speaks for every column only when it names an error-like metric; "training time" in
# a caption is more often an axis than the metric.
CAPTION_MIN = re.compile(r"\b(error|errors|loss|mse|mae|rmse|nll|perplexity|fid|runtime|latency)\b", re.IGNORECASE)


def expand(cells: list[Cell]) -> list[Cell]:
    """One entry per column: a \\multicolumn's text repeats across its span."""
    out = []
    for cell in cells:
        out.extend([cell] * cell.span)
    return out


def header_size(rows: list[Row]) -> int:
    """How many leading rows are the header. A body rule (\\midrule, \\hline) ends it, unless a row
    of results comes first (a header with no rule under it) or the next rows are more labels
    (a two-level header split by rules)."""
    ruled = [i for i, r in enumerate(rows) if i > 0 and set(r.rules_before) & BODY_RULES]
    first_result = next((i for i, r in enumerate(rows) if _has_results(r)), None)
    if not ruled:
        return next((i for i, r in enumerate(rows) if _numbers(r)), len(rows) if rows else 0) if rows else 0
    size = ruled[0]
    if first_result is not None and 0 < first_result < size and not _numbers_before(rows, first_result):
        return first_result
    while size < len(rows) - 1 and _more_labels(rows, size, set(ruled)):
        size += 1
    return size


def _more_labels(rows: list[Row], i: int, ruled: set[int]) -> bool:
    row = rows[i]
    filled = [c for c in expand(row.cells) if plain_text(c.text)]
    if _numbers(row) or len({id(c) for c in filled}) < 2:
        return False
    return (i + 1) in ruled or not plain_text(row.cells[0].text)


def _numbers_before(rows: list[Row], i: int) -> bool:
    return any(_numbers(r) for r in rows[:i])


def _numbers(row: Row) -> int:
    return sum(1 for c in row.cells[1:] if parse_values(cell_text(c.text)))


def _has_results(row: Row) -> bool:
    """A row of measured numbers, not a header of integers (k = 1, 5, 10; years)."""
    for cell in row.cells[1:]:
        values = parse_values(cell_text(cell.text))
        if values and any(v.std is not None or not float(v.value).is_integer() or v.unit == "%" for v in values):
            return True
    return False


def label_columns(body: list[Row], names: list[str]) -> int:
    """How many leading columns name the row: the cells before the first number (an integer code
    just before a name, `1 & Corn & 88.4`, and a first column numbering the rows name it too)."""
    firsts = []
    for row in body:
        texts = [cell_text(c.text) for c in expand(row.cells)]
        for i, text in enumerate(texts):
            values = parse_values(text)
            if values is not None and not _code_before_name(values, texts, i):
                firsts.append(i)
                break
    if not firsts:
        return 1
    n = max(1, min(firsts)) if _numbered_rows(body) else min(firsts)
    columns = _body_columns(body)
    while n < len(columns) - 1 and _settings(columns[n], names[n] if n < len(names) else "") \
            and any(_measured(c) for c in columns[n + 1:]):
        n += 1  # `Strong only & 3000 & 64.97`: a column of integers before the results is a setting
    return n


def _body_columns(body: list[Row]) -> list[list[str]]:
    rows = [[cell_text(c.text) for c in expand(r.cells)] for r in body]
    width = max((len(r) for r in rows), default=0)
    return [[r[k] for r in rows if k < len(r) and r[k] not in EMPTY_MARKERS] for k in range(width)]


def _settings(column: list[str], name: str) -> bool:
    """Integers as typed (3000, not 0.000), a few values repeated (at most half are distinct), under
    a header that names no metric."""
    return (len(column) >= 2 and all(re.fullmatch(r"[-+]?\d+", t) for t in column) and 2 * len(set(column)) <= len(column)
            and "%" not in name and not GOAL_MIN.search(name) and not GOAL_MAX.search(name))


def _measured(column: list[str]) -> bool:
    return any(v is not None and any(x.std is not None or not x.value.is_integer() or x.unit == "%" for x in v)
               for v in map(parse_values, column))


def _numbered_rows(body: list[Row]) -> bool:
    """A first column 1, 2, 3, ... numbers the rows: it is their name, not a result."""
    numbers = []
    for row in body:
        values = parse_values(cell_text(row.cells[0].text)) if row.cells else None
        if not values or len(values) != 1 or not values[0].value.is_integer() or values[0].unit:
            return False
        numbers.append(int(values[0].value))
    return len(numbers) >= 3 and all(b == a + 1 for a, b in zip(numbers, numbers[1:]))


def _code_before_name(values: list, texts: list[str], i: int) -> bool:
    following = texts[i + 1] if i + 1 < len(texts) else ""
    return (len(values) == 1 and float(values[0].value).is_integer() and not values[0].unit and bool(following)
            and parse_values(following) is None and following not in EMPTY_MARKERS)


def column_names(header_rows: list[list[Cell]], width: int) -> list[str]:
    """Levels joined with " / " (`CIFAR / Top-1`); a label wrapped onto the next row, under a row
    with no \\multicolumn, joined with a space (`Customer` over `Review`: `Customer Review`)."""
    wrapped = [k > 0 and all(c.span == 1 for c in header_rows[k - 1]) for k in range(len(header_rows))]
    return [_column_name(header_rows, wrapped, col) for col in range(width)]


def _column_name(header_rows: list[list[Cell]], wrapped: list[bool], col: int) -> str:
    parts: list[str] = []
    for row, continues in zip(header_rows, wrapped):
        if col < len(row):
            text = plain_text(row[col].text)
            if text and parts and continues:
                parts[-1] = f"{parts[-1]} {text}"
            elif text and text not in parts:
                parts.append(text)
    return " / ".join(parts) or f"col{col + 1}"


def goal(header_raw: str, row: str, caption: str | None = None) -> str:
    """min or max: the column's arrow, else its metric's name, else the row's (metrics as rows),
    else the caption's metric when it names only one kind ("Sinkhorn runtime (seconds) on ...").
    A caption's bare "lower is better" is not used: it seldom holds for every column."""
    for text in (header_raw, row):
        if "downarrow" in text or "↓" in text:
            return "min"
        if "uparrow" in text or "↑" in text:
            return "max"
        if GOAL_MAX.search(text) and re.search(r"reduction|improvement|gain|speed-?up", text, re.IGNORECASE):
            return "max"  # "error reduction": the name has "error" in it, but more is better
        if GOAL_MIN.search(plain_text(text)):
            return "min"
        if GOAL_MAX.search(plain_text(text)):
            return "max"
    if caption and CAPTION_MIN.search(caption) and not GOAL_MAX.search(caption):
        return "min"
    return "max"
