"""One table cell: its LaTeX reduced to plain text, and the numbers (± spread, unit) it states."""

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


# Commands that vanish with this many mandatory arguments (their [optional] ones too); what
# follows stays, so wrappers keep their text: \rotatebox{90}{Acc}, \textcolor{red}{94.1}, \makecell[c]{x}.
DROP = {"footnote": 1, "tnote": 1, "textsuperscript": 1, "cite": 1, "citep": 1, "citet": 1, "citealp": 1, "ref": 1,
        "label": 1, "hspace": 1, "vspace": 1, "phantom": 1, "hphantom": 1, "vphantom": 1, "color": 1, "cellcolor": 1,
        "rowcolor": 1, "footnotemark": 0, "tablefootnote": 1, "fnref": 1, "setlength": 2, "addtolength": 2,
        "rule": 2, "renewcommand": 2, "arrayrulecolor": 1, "rowcolors": 3, "includegraphics": 1, "raisebox": 1,
        "eqref": 1, "autoref": 1, "cref": 1, "Cref": 1, "rotatebox": 1, "scalebox": 1, "resizebox": 2, "textcolor": 1,
        "colorbox": 1, "fcolorbox": 2, "parbox": 1, "adjustbox": 1, "href": 1, "setcounter": 2, "hyperref": 0,
        "captionsetup": 1, "makebox": 0, "stepcounter": 1, "makecell": 0, "thead": 0, "shortstack": 0,
        "Centerstack": 0, "multirow": 2, "multicolumn": 2, "tabincell": 1, "xspace": 0, "hfill": 0, "centering": 0,
        "noindent": 0, "arraybackslash": 0, "rlap": 0, "llap": 0, "num": 0, "SI": 0, "qty": 0, "tablenum": 0,
        "si": 0}
DROP_RE = re.compile(r"\\(" + "|".join(sorted(DROP, key=len, reverse=True)) + r")(?![A-Za-z])\*?")
BEST_RE = re.compile(r"\\(textbf|mathbf|bm|boldsymbol|underline|uline|bfseries|bf|best)\b")
GREEK = dict(zip(("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
                  "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi",
                  "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi",
                  "Omega"), "αβγδεεζηθθικλμνξπρστυφφχψωΓΔΘΛΞΠΣΦΨΩ"))
SYMBOLS = [
    ("\\mathrm{e}", "e"), ("\\text{e}", "e"), ("\\mathrm{E}", "e"), ("\\pm", " ± "), ("\\mp", " ± "), ("+/-", " ± "),
    ("+-", " ± "), ("\\%", "%"), ("\\percent", "%"),
    ("\\textsubscript{", "_{"), ("\\times", " × "), ("\\cdot", " × "), ("−", "-"), ("\\textendash", "--"), ("\\textemdash", "--"),
    ("–", "--"), ("—", "--"), ("\\,", " "), ("\\;", " "), ("\\:", " "), ("\\!", ""), ("\\ ", " "), ("~", " "),
    ("\\sim", "~"), ("\\approx", "~"), ("\\uparrow", "↑"), ("\\downarrow", "↓"),
    ("\\dagger", ""), ("\\ddagger", ""), ("\\ast", ""), ("\\star", ""), ("†", ""), ("‡", ""), ("§", ""),
    ("\\thinspace", " "), ("\\quad", " "), ("\\qquad", " "), ("\\enspace", " "), ("\\textless", "<"), ("\\lt", "<"),
    ("\\textgreater", ">"), ("\\gt", ">"), ("\\textpm", " ± "), ("\\$", ""), ("€", ""), ("£", ""),
]
ARROWS = {"rightarrow": "→", "to": "→", "longrightarrow": "→", "leftarrow": "←", "gets": "←", "Rightarrow": "⇒",
          "leftrightarrow": "↔", "mapsto": "↦"}
GREEK.update(ARROWS)
# In a label a symbol stays itself; in a value cell \\approx and \\cdot mean "about" and "times".
LABEL_SYMBOLS = {"approx": "≈", "cdot": "·", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "cap": "∩",
                 "cup": "∪", "infty": "∞", "in": "∈", "sim": "∼", "sum": "∑", "prod": "∏"}
LABEL_SYMBOLS_RE = re.compile(r"\\(" + "|".join(sorted(LABEL_SYMBOLS, key=len, reverse=True)) + r")(?![A-Za-z])")
GREEK_RE = re.compile(r"\\(" + "|".join(GREEK) + r")(?![A-Za-z])\s*")  # TeX drops the space after \\Delta
EXPONENT = re.compile(r"\s*×\s*10\s*\^\s*\{?\s*([-+]?\s*\d+)\s*\}?")
POWER_OF_TEN = re.compile(r"^10\s*\^\s*\{?\s*([-+]?\s*\d+)\s*\}?$")
SUPERSCRIPT = re.compile(r"\^\s*(\{[^{}]*\}|\\?[A-Za-z*]|\d)")
MARK = re.compile(r"\^\s*(\{\s*[a-z*]?\s*\}|\*|$)")  # a footnote mark left in a label: ^{}, ^*, ^{a}; not ^{res}
COMMAND = re.compile(r"\\[A-Za-z]+\*?")
THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:[, ]\d{3})+)(?![\d.,]*\d)|(?<![\d.])(\d{1,3})((?:,\d{3})+)(?=\.\d)")
SPACES = re.compile(r"\s+")
FRACTION = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
BRACED_SPACE = re.compile(r"\{\s+|\s+\}")
SCRIPT_SPACE = re.compile(r"([_^])\s+")


def drop_commands(text: str) -> str:
    """\\footnote{...}, \\cite{...}, \\color{red} vanish with their arguments; \\rotatebox{90}{x},
    \\resizebox{w}{h}{x}, \\textcolor{c}{x} keep only x."""
    out, i = [], 0
    for _ in range(len(text)):  # bounded: each pass consumes at least one match
        match = DROP_RE.search(text, i)
        if not match:
            break
        out.append(text[i:match.start()])
        j = _skip_optional(text, match.end())
        for _ in range(DROP[match.group(1)]):
            if j >= len(text) or text[j] != "{":
                break
            _, j = read_group(text, j)
            j = _skip_optional(text, j)
        i = max(j, match.end())
    out.append(text[i:])
    return "".join(out)


def _skip_optional(text: str, j: int) -> int:
    for _ in range(3):  # \raisebox{1pt}[0pt][0pt]{x}, \parbox[t]{w}{x}: a few optionals at most
        k = skip_spaces(text, j)
        if k < len(text) and text[k] == "[":
            _, j = read_group(text, k, "[", "]")
        else:
            return k
    return j


def _symbols(text: str) -> str:
    text = FRACTION.sub(r"\1/\2", drop_commands(text))
    for old, new in SYMBOLS:
        text = text.replace(old, new)
    return GREEK_RE.sub(lambda m: GREEK[m.group(1)], text)


def plain_text(latex: str) -> str:
    """Readable text of a header or caption: commands and braces gone, symbols kept."""
    text = _symbols(LABEL_SYMBOLS_RE.sub(lambda m: LABEL_SYMBOLS[m.group(1)], latex)).replace("\\\\", " ").replace("\\&", "&").replace("\\_", "_").replace("\\#", "#")
    text = MARK.sub("", COMMAND.sub(" ", text))
    text = BRACED_SPACE.sub(lambda m: m.group().strip(), text)  # {\\rm zeros} -> {zeros}, not "{ zeros}"
    text = SCRIPT_SPACE.sub(r"\1", text)  # N^\\mathrm{res} -> N^res
    text = text.replace("{", "").replace("}", "").replace("$", "").replace("↑", "").replace("↓", "")
    return SPACES.sub(" ", text).strip()


def cell_text(latex: str) -> str:
    """Plain text of a value cell, footnote marks dropped and numbers normalised."""
    text = _symbols(latex).replace("\\\\", " ").replace("$", "").replace("{,}", ",").replace("≈", "~").replace("∼", "~")
    text = EXPONENT.sub(lambda m: "e" + m.group(1).replace(" ", ""), text)
    text = COMMAND.sub(" ", text)
    if not POWER_OF_TEN.match(text.strip()):
        text = SUPERSCRIPT.sub(" ", text).replace("^", " ")  # footnote marks: ^{a}, ^*, a bare ^ left by \dagger
    text = text.replace("_", " ").replace("{", " ").replace("}", " ").replace("*", " ")
    text = SPACES.sub(" ", text).strip()
    return THOUSANDS.sub(lambda m: (m.group(1) or m.group(3)) + (m.group(2) or m.group(4)).replace(",", "").replace(" ", ""),
                         text)


# ---------------------------------------------------------------- numbers

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
UNITS = r"%|k|K|M|B|G|T|x|×|s|ms|µs|us|min|mins|h|hr|hrs|hours?|days?|GB|MB|KB|TB|GiB|MiB|pp|dB|fps|FPS"
SHARED_EXP = re.compile(r"\(\s*([^()]*)\)\s*[eE]([-+]?\d+)")
# One value as papers print it: 94.1, 94.1%, 94.1 ± 0.3 ± 1.2 (the first spread is the std),
# 94.1 (0.3), 94.1 (±0.3); then an optional delta to a baseline, (+1.2) or ↑1.2, which is no spread.
UNIT_VALUE = re.compile(
    rf"(?P<value>{NUM})\s*(?P<unit>{UNITS})?(?![\w.])"
    rf"(?P<spreads>(?:\s*(?:<\s*)?±\s*{NUM}\s*(?:{UNITS})?(?![\w.])|\s*\(\s*±?\s*\d*\.?\d+(?:[eE][-+]?\d+)?\s*(?:{UNITS})?\s*\))*)"
    rf"(?P<delta>\s*(?:\(\s*[-+↑↓]\s*{NUM}\s*(?:{UNITS})?\s*\)|[↑↓]\s*{NUM}\s*(?:{UNITS})?))?")
SPREAD = re.compile(rf"({NUM})\s*({UNITS})?")
SEPARATOR = re.compile(r"\s*(?:/|\||;|,\s|\s)\s*")
EMPTY_MARKERS = {"", "-", "--", "---", "n/a", "na", "N/A", "NA", "/", "?", "x", "✗", "-/-", "--/--", "oom", "OOM"}
MAX_VALUES_PER_CELL = 4
LEADING_WORD = re.compile(r"[A-Za-z][A-Za-z.\-]{1,15}(?:\s+[A-Za-z][A-Za-z.\-]{0,15}){0,2}\s+(?=[-+]?\.?\d)")


@dataclass
class Value:
    value: float
    std: float | None
    unit: str


def parse_number(text: str) -> Value | None:
    """'94.1', '94.1 ± 0.3%', '94.1% ± 0.3%', '94.1 (0.3)', '3.7e-2', '(3.7 ± 0.2)e-2', '10^{-3}',
    '50.8 ± 1.4 ± 7.1' (the first spread is the std)."""
    values = parse_values(text)
    return values[0] if values is not None and len(values) == 1 else None


def parse_values(text: str) -> list[Value] | None:
    """Every value a cell states: one, or a few side by side ('76.47 / 54.40',
    '0.103 (±0.001) -2.956 (±0.002)'); None when the cell is not only numbers."""
    text = text.strip().lstrip("~").strip()
    if not text or len(text) > MAX_CELL_CHARS:
        return None
    power = POWER_OF_TEN.fullmatch(text)
    if power:
        return [Value(10.0 ** int(power.group(1).replace(" ", "")), None, "")]
    shared = SHARED_EXP.fullmatch(text)
    if shared:
        inner = parse_number(shared.group(1))
        if inner is None:
            return None
        scale = 10.0 ** int(shared.group(2))
        std = None if inner.std is None else float(f"{inner.std * scale:.12g}")
        return [Value(float(f"{inner.value * scale:.12g}"), std, inner.unit)]
    values = _side_by_side(text)
    if values is None and (named := LEADING_WORD.match(text)):
        values = _side_by_side(text[named.end():])  # "Soy 6.5%": what the number is about, then it
        measured = values is not None and len(values) == 1 and (values[0].unit or not values[0].value.is_integer())
        return values if measured else None  # not "Layer 3", "X 1" ($X_1$): those are names
    return values


def _side_by_side(text: str) -> list[Value] | None:
    values, i = [], 0
    while i < len(text) and len(values) < MAX_VALUES_PER_CELL:
        if values:
            sep = SEPARATOR.match(text, i)
            if not sep or sep.end() == i or (sep.group() == "/" and _integer_before(text, i)):
                return None  # 8/255 is a fraction, not two values
            i = sep.end()
        match = UNIT_VALUE.match(text, i)
        if not match or match.end() == i:
            return None
        values.append(_value(match))
        i = match.end()
    return values if values and i >= len(text) else None


def _integer_before(text: str, i: int) -> bool:
    return bool(re.search(r"(?<![\d.])\d+$", text[:i])) and bool(re.match(r"\d+(?![\d.])", text[i + 1:]))


def _value(match: re.Match) -> Value:
    unit = match.group("unit") or ""
    std = None
    spreads = match.group("spreads")
    if spreads:
        first = SPREAD.search(spreads)
        if first:
            std = abs(float(first.group(1)))
            unit = unit or first.group(2) or ""
    return Value(float(match.group("value")), std, unit)
