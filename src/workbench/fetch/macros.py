"""The authors' own macros: \\newcommand / \\renewcommand / \\providecommand / \\DeclareRobustCommand
(with arguments and an optional first argument's default), \\def, \\DeclareMathOperator, read from
the whole flattened source (preamble, a local .sty, or inside the float), and expanded in a table's
text before it is read.

Expansion keeps a map from each character of the result back to the source offset it came from
(an expanded macro's text maps to where the macro was used), so candidates keep their file:line.
It is bounded three ways: nesting depth, number of expansions and size of the result; past a
bound the rest is left unexpanded and one warning says so.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from workbench.fetch.tex import read_group, skip_spaces

MAX_DEPTH = 12              # a macro used inside a macro, nested this deep at most
MAX_EXPANSIONS = 200_000    # per document
MAX_EXPANDED_CHARS = 2 << 20  # per document: the text macros add, in characters
MAX_BODY_CHARS = 4_000      # a longer definition is layout code, not a cell's text
MAX_DEFINITIONS = 20_000

DEFINE = re.compile(r"\\(newcommand|renewcommand|providecommand|DeclareRobustCommand|DeclareMathOperator)\*?\s*")
TEX_DEF = re.compile(r"\\[gex]?def\s*\\([A-Za-z@]+)\s*")
CONTROL_WORD = re.compile(r"\\([A-Za-z@]+)")
# LaTeX's own structure: a paper that redefines these means layout, and expanding them would hide
# the very commands the table reader looks for.
KEEP = frozenset({"begin", "end", "multicolumn", "multirow", "hline", "toprule", "midrule", "bottomrule",
                  "cmidrule", "caption", "captionof", "label", "textbf", "pm", "item", "section", "subsection",
                  "centering", "tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large",
                  "LARGE", "huge", "Huge", "makecell", "rotatebox", "resizebox", "scalebox", "num", "SI", "footnote",
                  "cite", "citep", "citet", "ref", "underline", "emph", "textit", "mathbf", "bm", "tabularnewline"})
# A package's internals (\@-names, \if...\fi, \csname) are TeX programming, never a cell's text;
# a copy of a package kept in the source (neurips_2024.sty) is full of them.
INTERNALS = re.compile(r"@|\\(if[a-z]*|else|fi|expandafter|csname|endcsname|relax|let|futurelet|afterassignment|"
                       r"edef|gdef|xdef|def|noexpand|ProvidesPackage|RequirePackage|newcommand|renewcommand)(?![A-Za-z])")


@dataclass(frozen=True)
class Macro:
    n_args: int
    default: str | None  # the optional first argument's default, when it has one
    body: str


@dataclass
class Macros:
    """name -> definitions in source order (offset, Macro); the one in force is the last before use."""

    by_name: dict[str, list[tuple[int, Macro]]] = field(default_factory=dict)

    def add(self, name: str, offset: int, macro: Macro) -> None:
        if name not in KEEP and "@" not in name and len(macro.body) <= MAX_BODY_CHARS \
                and not INTERNALS.search(macro.body):
            self.by_name.setdefault(name, []).append((offset, macro))

    def lookup(self, name: str, offset: int) -> Macro | None:
        found = self.by_name.get(name)
        if not found:
            return None
        k = bisect.bisect_right([o for o, _ in found], offset) - 1
        return found[max(k, 0)][1]


def collect(text: str) -> Macros:
    """Every definition in the text, in order."""
    macros = Macros()
    count = 0
    for match in DEFINE.finditer(text):
        count += 1
        if count > MAX_DEFINITIONS:
            break
        parsed = _newcommand(text, match.end(), operator=match.group(1) == "DeclareMathOperator")
        if parsed:
            macros.add(parsed[0], match.start(), parsed[1])
    for match in TEX_DEF.finditer(text):
        count += 1
        if count > MAX_DEFINITIONS:
            break
        parsed = _tex_def(text, match.end())
        if parsed:
            macros.add(match.group(1), match.start(), parsed)
    return macros


def _newcommand(text: str, i: int, operator: bool) -> tuple[str, Macro] | None:
    if text.startswith("{", i):
        raw, i = read_group(text, i)
        name = CONTROL_WORD.fullmatch(raw.strip())
    else:
        name = CONTROL_WORD.match(text, i)
        i = name.end() if name else i
    if not name:
        return None
    n_args, default = 0, None
    i = skip_spaces(text, i)
    if not operator and text.startswith("[", i):
        raw, i = read_group(text, i, "[", "]")
        n_args = int(raw) if raw.strip().isdigit() else 0
        i = skip_spaces(text, i)
        if text.startswith("[", i):
            default, i = read_group(text, i, "[", "]")
            i = skip_spaces(text, i)
    if not text.startswith("{", i):
        return None
    body, _ = read_group(text, i)
    return name.group(1), Macro(min(n_args, 9), default, body)


def _tex_def(text: str, i: int) -> Macro | None:
    """\\def\\name#1#2{body}: only undelimited parameters; a delimited one is left alone."""
    params = re.match(r"((?:#\d)*)\s*\{", text[i:i + 40])
    if not params:
        return None
    body, _ = read_group(text, i + params.end() - 1)
    return Macro(len(params.group(1)) // 2, None, body)


# ---------------------------------------------------------------- expansion


@dataclass
class Expanded:
    """Text after expansion; `source(pos)` is the offset in the document it came from."""

    text: str
    starts: list[int]     # where each segment begins in `text`
    origins: list[int]    # its document offset
    literal: list[bool]   # copied as written (offsets advance) or produced by a macro (one offset)

    def source(self, pos: int) -> int:
        k = max(0, bisect.bisect_right(self.starts, pos) - 1)
        if not self.origins:
            return pos
        return self.origins[k] + (pos - self.starts[k] if self.literal[k] else 0)


@dataclass
class Budget:
    """What expansion may still spend in this document; `exhausted` names the bound it hit."""

    expansions: int = MAX_EXPANSIONS
    chars: int = MAX_EXPANDED_CHARS
    exhausted: str | None = None


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.origins: list[int] = []
        self.literal: list[bool] = []
        self.length = 0

    def add(self, text: str, origin: int, literal: bool) -> None:
        if not text:
            return
        self.parts.append(text)
        self.starts.append(self.length)
        self.origins.append(origin)
        self.literal.append(literal)
        self.length += len(text)

    def done(self) -> Expanded:
        return Expanded("".join(self.parts), self.starts, self.origins, self.literal)


def expand(text: str, base: int, macros: Macros, budget: Budget) -> Expanded:
    """`text` (which starts at document offset `base`) with the authors' macros expanded."""
    out = _Builder()
    if not macros.by_name:
        out.add(text, base, True)
        return out.done()
    _expand_into(text, base, True, macros, budget, out, depth=0)
    return out.done()


def _expand_into(text: str, base: int, literal: bool, macros: Macros, budget: Budget, out: _Builder,
                 depth: int) -> None:
    position = 0
    for match in CONTROL_WORD.finditer(text):
        if match.start() < position:
            continue  # inside the arguments just consumed
        macro = macros.lookup(match.group(1), base + match.start()) if budget.exhausted is None else None
        if macro is None:
            continue
        if depth >= MAX_DEPTH:
            budget.exhausted = budget.exhausted or f"macros nested more than {MAX_DEPTH} deep"
            break
        args, end = _arguments(text, match.end(), macro)
        body = _substitute(macro.body, args)
        budget.expansions -= 1
        budget.chars -= len(body)
        if budget.expansions < 0 or budget.chars < 0:
            budget.exhausted = (f"more than {MAX_EXPANSIONS:,} macro expansions" if budget.expansions < 0
                                else f"macros expanding to more than {MAX_EXPANDED_CHARS:,} characters")
            break
        out.add(text[position:match.start()], base + position if literal else base, literal)
        origin = base + match.start() if literal else base
        _expand_into(body, origin, False, macros, budget, out, depth + 1)
        position = end
    out.add(text[position:], base + position if literal else base, literal)


def _arguments(text: str, i: int, macro: Macro) -> tuple[list[str], int]:
    args: list[str] = []
    if macro.default is not None:
        j = skip_spaces(text, i)
        if text.startswith("[", j):
            value, i = read_group(text, j, "[", "]")
            args.append(value)
        else:
            args.append(macro.default)
    while len(args) < macro.n_args:
        arg, i = _one_argument(text, i)
        args.append(arg)
    return args, i


def _one_argument(text: str, i: int) -> tuple[str, int]:
    """TeX's undelimited argument: a {group}, a control word, or one character."""
    i = skip_spaces(text, i)
    if i >= len(text):
        return "", i
    if text[i] == "{":
        return read_group(text, i)
    word = CONTROL_WORD.match(text, i)
    if word:
        return word.group(), word.end()
    if text[i] == "\\":
        return text[i:i + 2], i + 2
    return text[i], i + 1


PARAMETER = re.compile(r"##|#(\d)")


def _substitute(body: str, args: list[str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) is None:
            return "#"
        k = int(match.group(1)) - 1
        return args[k] if 0 <= k < len(args) else ""
    return PARAMETER.sub(replace, body)
