"""The document's sections (for the reading checklist) and its title."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.fetch.cells import plain_text
from workbench.fetch.tex import Document, read_args



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


