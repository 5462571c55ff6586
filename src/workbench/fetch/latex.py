"""LaTeX source → sections (for the reading checklist) and tables → claim candidates.

`read_source` is what `workbench fetch` runs on an unpacked e-print: find the main .tex, flatten
it (`eprint.flatten`: \\input, \\include, \\subfile, \\import, a local .sty; comments gone, each line
tagged with its file and line), then read it. Tables are read the way papers write them: tabular /
tabular* / tabularx / longtable / tblr inside table floats (one table per caption), booktabs rules,
\\multicolumn and \\multirow, headers on one or two levels with or without a rule under them, the
authors' own macros expanded (macros.py), `94.1 \\pm 0.3`, `94.1 (0.3)`, `94.1_{\\pm 0.3}`, two
values in one cell, siunitx `\\num{}`/`\\SI{}{}`, thousands separators, percentages, `3.7e-2` and
`3.7 \\times 10^{-2}`, \\textbf/\\underline for the best result, footnote marks, `--` for empty.

Every value cell becomes a candidate claim or an `Unparsed` entry with the reason; none is
dropped silently. Every stage is bounded (lines and characters read, tables, rows, cells,
nesting, macro expansions and their size), and a bound that is hit leaves one warning line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.fetch import eprint
from workbench.fetch.cells import cell_text, parse_number, parse_values
from workbench.fetch.eprint import SourceLine
from workbench.fetch.candidates import TableResult, candidate_claim
from workbench.fetch.tables import tables
from workbench.fetch.sections import Section, sections, title
from workbench.fetch.tex import MAX_CELLS, Document

__all__ = ["MAX_CELLS", "Document", "Section", "SourceReading", "TableResult", "candidate_claim", "cell_text",
           "parse_number", "parse_values", "read_document", "read_source", "sections", "tables", "title"]


@dataclass
class SourceReading:
    main_tex: str | None = None           # relative to the source folder; None: no LaTeX found
    title: str | None = None
    sections: list[Section] = field(default_factory=list)
    tables: list[TableResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document: Document | None = None      # the flattened source, for readers of its prose


def read_document(lines: list[SourceLine]) -> tuple[Document, list[Section], list[TableResult]]:
    doc = Document(lines)
    return doc, sections(doc), tables(doc)


def read_source(source: Path, main: Path | None = None) -> SourceReading:
    """The unpacked e-print folder → title, sections, tables, and a warning per bound hit.
    The main .tex is found as `eprint.find_main_tex` finds it, unless given."""
    main = main or eprint.find_main_tex(source)
    if main is None:
        return SourceReading()
    warnings: list[str] = []
    doc, found_sections, found_tables = read_document(eprint.flatten(main, source, warnings))
    return SourceReading(main.relative_to(source).as_posix(), title(doc), found_sections, found_tables,
                         warnings + doc.warnings, doc)
