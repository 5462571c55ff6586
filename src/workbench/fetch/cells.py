"""One table cell: its LaTeX reduced to plain text, and the number (± spread, unit) it states."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.fetch.tex import MAX_CELL_CHARS, read_group, skip_spaces

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


