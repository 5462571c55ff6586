"""LaTeX prose → plain text that keeps, for every character, its offset in the source.

The recipe and checklist readers match sentences like "a learning rate of $10^{-3}$" or
"$\\beta_1 = 0.9$" in this text, then map a match back to file and line through the offsets.
Math delimiters and braces go, formatting commands leave their arguments, citations and
references vanish with theirs, Greek letters become their names. One pass, linear in the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.fetch.tex import read_group, skip_spaces

# Their argument is a key or a length, never prose: dropped with it.
DROP_WITH_ARG = {"cite", "citep", "citet", "citealp", "citealt", "citeauthor", "citeyear", "ref", "eqref", "autoref",
                 "cref", "Cref", "label", "url", "includegraphics", "vspace", "hspace", "bibliography",
                 "bibliographystyle", "input", "include", "color", "cellcolor", "rowcolor",
                 "setlength", "addtolength", "pagestyle", "thispagestyle", "newcommand", "renewcommand",
                 "usepackage", "documentclass", "hypersetup", "captionsetup", "definecolor", "multicolumn",
                 "multirow", "nocite", "cmidrule", "cline", "cdashline", "specialrule", "addlinespace", "arrayrulecolor",
                 "path"}
BREAKS = {"item", "par", "hline", "toprule", "midrule", "bottomrule", "newline", "footnote", "State", "STATE"}
HEADINGS = {"section", "subsection", "subsubsection", "paragraph", "subparagraph", "caption", "chapter"}
GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "eta", "theta", "lambda", "mu", "rho", "sigma",
         "tau", "kappa", "omega", "phi", "psi", "xi", "zeta", "nu", "pi", "ell"}
SYMBOLS = {"times": "×", "cdot": "×", "sim": "~", "approx": "~", "%": "%", "{": "{", "}": "}", "_": "_",
           "&": "&", "#": "#", ",": "", ";": " ", "!": "", " ": " ", "ldots": "...", "dots": "...",
           "cdots": "...", "in": "∈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "colon": ":", "mid": "|"}
UNICODE = {"−": "-", "–": "-", "—": " - ", "β": "beta", "ϵ": "epsilon", "ε": "epsilon", "η": "eta", "λ": "lambda",
           "γ": "gamma", "α": "alpha", "τ": "tau", "\u00a0": " ", "~": " "}
NAME = re.compile(r"[A-Za-z]+")
ENV = re.compile(r"\{([A-Za-z*]+)\}")
TABULAR_ARGS = {"tabular": 1, "tabular*": 2, "tabularx": 2, "tabulary": 2, "longtable": 1, "array": 1}


@dataclass
class Plain:
    """Plain text and, for each of its characters, the offset in the LaTeX it came from."""

    text: str
    offsets: list[int]

    def source_offset(self, i: int) -> int:
        return self.offsets[min(max(i, 0), len(self.offsets) - 1)] if self.offsets else 0


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.offsets: list[int] = []

    def add(self, text: str, offset: int) -> None:
        for ch in text:
            if ch in " \t\n" and self.chars and self.chars[-1] in " \n":
                if ch == "\n" and self.chars[-1] == " ":
                    self.chars[-1] = "\n"  # a break wins over the space before it
                continue
            self.chars.append(" " if ch == "\t" else ch)
            self.offsets.append(offset)


def to_plain(latex: str, base: int = 0) -> Plain:
    """`latex` (a slice of the document starting at offset `base`) as plain text with offsets.
    A blank line, \\item, a sectioning command, \\\\ or & ends a statement: it becomes a newline."""
    out = _Builder()
    i, n = 0, len(latex)
    while i < n:
        ch = latex[i]
        if ch == "\\":
            i = _command(latex, i, base, out)
        elif ch == "\n":
            j = i + 1
            while j < n and latex[j] in " \t":
                j += 1
            out.add("\n" if j < n and latex[j] == "\n" else " ", base + i)
            i = j
        elif ch in "{}$":
            i += 1
        elif ch == "&":
            out.add("\n", base + i)
            i += 1
        else:
            out.add(UNICODE.get(ch, ch), base + i)
            i += 1
    return Plain("".join(out.chars), out.offsets)


def _command(latex: str, i: int, base: int, out: _Builder) -> int:
    match = NAME.match(latex, i + 1)
    if match is None:  # \\, \%, \{, \, ...
        nxt = latex[i + 1:i + 2]
        out.add("\n" if nxt == "\\" else SYMBOLS.get(nxt, ""), base + i)
        return i + 2
    name, j = match.group(0), match.end()
    if j < len(latex) and latex[j] == "*":
        j += 1
    if name in ("begin", "end"):
        out.add("\n", base + i)
        env = ENV.match(latex, skip_spaces(latex, j))
        extra = 0 if env is None or name == "end" else TABULAR_ARGS.get(env.group(1), 0)
        return _skip_args(latex, j, 1 + extra, keep_last=False)
    if name in DROP_WITH_ARG or name == "href":  # \href{url}{text}: the text stays
        n_args = {"multicolumn": 3, "multirow": 3, "href": 1}.get(name, 1)
        return _skip_args(latex, j, n_args, keep_last=name.startswith("multi"))
    if name in HEADINGS:  # a heading is a statement of its own: breaks before and after it
        return _heading(latex, i, j, base, out)
    if name in BREAKS:
        out.add("\n", base + i)
    elif name in GREEK:
        out.add(" " + ("l" if name == "ell" else name.removeprefix("var")), base + i)
    elif name in SYMBOLS:
        out.add(f" {SYMBOLS[name]} ", base + i)
    else:
        out.add(" " if name in ("quad", "qquad", "enspace", "thinspace") else "", base + i)
    return j


def _heading(latex: str, i: int, j: int, base: int, out: _Builder) -> int:
    out.add("\n", base + i)
    j = skip_spaces(latex, j)
    while j < len(latex) and latex[j] == "[":
        _, j = read_group(latex, j, "[", "]")
        j = skip_spaces(latex, j)
    if j < len(latex) and latex[j] == "{":
        title, end = read_group(latex, j)
        inner = to_plain(title, base + j + 1)
        for ch, offset in zip(inner.text, inner.offsets):
            out.add(ch, offset)
        out.add("\n", base + end - 1)
        return end
    return j


def _skip_args(latex: str, j: int, n: int, keep_last: bool) -> int:
    """Past [optional] and n {} arguments; `keep_last` leaves the last one to be read as text."""
    for k in range(n):
        j = skip_spaces(latex, j)
        while j < len(latex) and latex[j] in "[(":  # [optional] and \cmidrule's (lr)
            _, j = read_group(latex, j, latex[j], "]" if latex[j] == "[" else ")")
            j = skip_spaces(latex, j)
        if j >= len(latex) or latex[j] != "{" or (keep_last and k == n - 1):
            return j
        _, j = read_group(latex, j)
    return j
