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

from workbench.fetch.cells import cell_text, parse_number
from workbench.fetch.eprint import SourceLine
from workbench.fetch.tables import TableResult, candidate_claim, tables
from workbench.fetch.sections import Section, sections, title
from workbench.fetch.tex import MAX_CELLS, Document

__all__ = ["MAX_CELLS", "Document", "Section", "TableResult", "candidate_claim", "cell_text", "parse_number",
           "read_document", "sections", "tables", "title"]


def read_document(lines: list[SourceLine]) -> tuple[Document, list[Section], list[TableResult]]:
    doc = Document(lines)
    return doc, sections(doc), tables(doc)
