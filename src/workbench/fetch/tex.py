"""The flattened LaTeX document and its small scanners (brace groups, arguments, environments),
its sections and title. Every scanner is linear in the input and bounded on broken input."""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from workbench.fetch.eprint import SourceLine


MAX_CELLS = 50_000
MAX_CELL_CHARS = 300
MAX_GROUP_CHARS = 20_000  # no caption, title or cell argument is longer; bounds work on broken input
MAX_TABLES = 2_000        # floats and bare tabulars together; real papers have under 100
MAX_ROWS = 20_000         # per document
MAX_NESTING = 100         # tabulars inside a cell, environments inside environments


@dataclass
class Document:
    """Flattened source as one string, with offsets mapped back to file and line."""

    lines: list[SourceLine]
    text: str = ""
    starts: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line per bound the reading hit

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

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


def split_top(text: str, separator: str, limit: int = 0) -> list[tuple[int, str]]:
    """Split at `separator` outside braces and not escaped; (offset, piece) pairs. With a
    `limit`, at most that many pieces: the last one holds the rest."""
    pieces, depth, last = [], 0, 0
    for match in _split_tokens(separator).finditer(text):
        token = match.group()
        if token == separator:
            if depth == 0:
                pieces.append((last, text[last:match.start()]))
                last = match.end()
                if limit and len(pieces) >= limit - 1:
                    break
        elif token == "{":
            depth += 1
        elif token == "}":
            depth = max(0, depth - 1)
    pieces.append((last, text[last:]))
    return pieces


@functools.lru_cache(maxsize=8)
def _split_tokens(separator: str) -> re.Pattern:
    """What split_top looks at: braces, escaped characters (\\& is no separator) and the separator."""
    return re.compile(r"\\.|[{}]|" + re.escape(separator), re.DOTALL)
