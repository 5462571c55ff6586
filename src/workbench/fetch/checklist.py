"""The parts of CHECKLIST.md found in the paper itself: one item per section with its first
sentence, the evaluation protocol quoted with file:line, the hyperparameter paragraphs linked to
recipe.yaml, the numbered equations, the tables and figures to reproduce, the official code.

Each part is Markdown checklist items (`- [ ]`); a part the paper has nothing for is one `- [~]`
item (not applicable), which `workbench status` leaves out of the total.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from workbench.fetch.plain import to_plain
from workbench.fetch.recipe_schema import RecipeEntry
from workbench.fetch.sections import Section, document_body
from workbench.fetch.tables import TableResult
from workbench.fetch.tex import Document, env_end, read_group

MAX_QUOTE = 220
MAX_PROTOCOL = 12
PROTOCOL = {  # what a protocol sentence says; a sentence needs one of these
    "split": r"\b(?:train(?:ing)?/(?:val|dev)|train(?:ing)?, validation|(?:validation|test|held[- ]out|dev) (?:set|split)s?|"
             r"splits?\b|\d+\s*/\s*\d+\s*/\s*\d+)",
    "folds": r"\bfolds?\b|cross[- ]validation",
    "repetitions": r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twenty|several|multiple|independent|random)"
                   r"\s+(?:\w+\s+)?(?:runs|seeds|trials|repetitions|restarts)\b|\bseeds\b|\brepeated\b|\brepetitions\b",
    "metrics": r"\b(?:evaluat|report|measur|metric)\w*\b[^.]{0,80}?\b(?:accuracy|error|f1|auc|rmse|mae|bleu|rouge|"
               r"perplexity|fid|precision|recall|mse|r2|correlation)\b",
    "spread": r"±|\bstandard (?:deviation|error)s?\b|\bstd\b|confidence intervals?|\bvariance\b",
}
PROTOCOL_RES = {k: re.compile(v, re.IGNORECASE) for k, v in PROTOCOL.items()}
NUMBERED = re.compile(r"\\begin\{(equation|align|gather|multline|eqnarray|flalign|alignat)\}")
FLOAT = re.compile(r"\\begin\{(figure|figure\*|wrapfigure|SCfigure)\}")


@dataclass
class PaperItems:
    """Markdown for each template placeholder."""

    sections: str
    protocol: str
    hyperparameters: str
    equations: str
    floats: str
    code: str


def paper_items(doc: Document, sections: list[Section], tables: list[TableResult], recipe: list[RecipeEntry],
                code: tuple[str, int] | None) -> PaperItems:
    return PaperItems(section_items(doc, sections), protocol_items(doc), hyperparameter_items(doc, recipe),
                      equation_items(doc), float_items(doc, tables), code_item(doc, code))


def no_source_items() -> PaperItems:
    """Without LaTeX the user lists each part by hand."""
    return PaperItems(
        "- [ ] **Sections.** (no LaTeX source was read; list the paper's sections here)",
        "- [ ] **Evaluation protocol.** Splits, folds, repetitions, metrics, how the ± was computed.",
        "- [ ] **Hyperparameters.** Copy every training setting into recipe.yaml with its page.",
        "## Equations\n\n- [ ] **Numbered equations.** List the ones the method needs.\n\n",
        "- [ ] **Tables and figures to reproduce.**",
        "- [ ] **Official code.** Look for a link in the paper; set code_url in paper.yaml.",
    )


def _quote(text: str) -> str:
    text = " ".join(text.split()).replace("`", "'")
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE - 1].rsplit(" ", 1)[0] + " …"


def _line_start(doc: Document, file: str, line: int) -> int:
    for i, source in enumerate(doc.lines):
        if source.file == file and source.line == line:
            return doc.starts[i]
    return 0


def section_items(doc: Document, sections: list[Section]) -> str:
    if not sections:
        return "- [ ] **Sections.** (the LaTeX has no \\section commands; list the paper's sections here)"
    _, stop = document_body(doc)
    starts = [_line_start(doc, s.file, s.line) for s in sections]
    lines = []
    for i, s in enumerate(sections):
        indent = "  " * (s.level - 1)
        label = f"{s.number} {s.title}".strip()
        lines.append(f"{indent}- [ ] **{label}.** ({s.file}:{s.line})")
        end = starts[i + 1] if i + 1 < len(sections) and starts[i + 1] > starts[i] else stop
        first = _first_sentence(doc, starts[i], end)  # never the next section's
        if first:
            lines.append(f"{indent}  > {_quote(first)}")
    return "\n".join(lines)


def _first_sentence(doc: Document, start: int, stop: int) -> str | None:
    """The first sentence after the heading that starts at `start`, if prose follows it."""
    plain = to_plain(doc.text[start:min(stop, start + 4000)], start).text
    chunks = [c.strip() for c in plain.split("\n") if c.strip()]
    for chunk in chunks[1:4]:  # chunks[0] is the heading; a display equation may come before the prose
        if len(re.findall(r"\b[A-Za-z]{2,}\b", chunk)) >= 4:
            return re.split(r"(?<=[.!?])\s+(?=[A-Z])", chunk)[0]
    return None


def _sentences(doc: Document) -> Iterable[tuple[str, int]]:
    """(sentence, offset in the document) for the body's prose."""
    start, stop = document_body(doc)
    plain = to_plain(doc.text[start:stop], start)
    for chunk in re.finditer(r"[^\n]+", plain.text):
        for sentence in re.finditer(r"\s*(.+?(?:[.!?](?=\s+[A-Z(])|$))", chunk.group(0)):
            yield sentence.group(1).strip(), plain.source_offset(chunk.start() + sentence.start(1))


def protocol_items(doc: Document) -> str:
    items = []
    for sentence, offset in _sentences(doc):
        kinds = [k for k, regex in PROTOCOL_RES.items() if regex.search(sentence)]
        if not kinds or len(sentence.split()) < 6:
            continue
        where = doc.where(offset)
        items.append(f"- [ ] **{', '.join(kinds)}** ({where.file}:{where.line}): \"{_quote(sentence)}\"")
        if len(items) == MAX_PROTOCOL:
            break
    if not items:
        return "- [~] **Evaluation protocol.** The LaTeX names no splits, folds, repetitions or ±; find it in the PDF."
    return "\n".join(items)


def hyperparameter_items(doc: Document, recipe: list[RecipeEntry]) -> str:
    """One item per paragraph (or table) that states hyperparameters, naming recipe.yaml's entries."""
    if not recipe:
        return "- [~] **Hyperparameters.** None were read from the LaTeX; recipe.yaml is empty (fill it in by hand)."
    paragraph = _paragraph_ids(doc)
    groups: dict[tuple[str, int], list[RecipeEntry]] = {}
    for entry in recipe:
        key = paragraph.get((entry.source.file, entry.source.line), (entry.source.file, entry.source.line))
        groups.setdefault(key, []).append(entry)
    lines = []
    for entries in groups.values():
        first = entries[0].source
        names = ", ".join(dict.fromkeys(e.name for e in entries))
        lines.append(f"- [ ] **Hyperparameters at {first.file}:{first.line}** → recipe.yaml: {names}. "
                     "Check each value and its scope against the paper.")
    return "\n".join(lines)


def _paragraph_ids(doc: Document) -> dict[tuple[str, int], tuple[str, int]]:
    """(file, line) → (file, line) of the first line of its paragraph (blank lines separate them)."""
    ids: dict[tuple[str, int], tuple[str, int]] = {}
    head: tuple[str, int] | None = None
    for source in doc.lines:
        if not source.text.strip():
            head = None
            continue
        if head is None or head[0] != source.file:
            head = (source.file, source.line)
        ids[(source.file, source.line)] = head
    return ids


def equation_items(doc: Document) -> str:
    """A section of numbered display equations, counted the way LaTeX numbers them (starred ones,
    \\nonumber and \\notag lines are not); no section at all when the paper numbers none."""
    start, stop = document_body(doc)
    lines, number = [], 0
    for match in NUMBERED.finditer(doc.text, start, stop):
        env = match.group(1)
        end, _ = env_end(doc.text, env, match.end())
        body = doc.text[match.end():end]
        rows = [body] if env in ("equation", "multline") else re.split(r"\\\\", body)
        numbered = [r for r in rows if r.strip() and not re.search(r"\\(?:nonumber|notag)\b", r)]
        if not numbered:
            continue
        where = doc.where(match.start())
        label = re.search(r"\\label\{([^{}]+)\}", body)
        first = number + 1
        number += len(numbered)
        span = f"({first})" if number == first else f"({first})–({number})"
        named = f" `{label.group(1)}`" if label else ""
        lines.append(f"- [ ] **Eq. {span}**{named} ({where.file}:{where.line}): what each symbol is, and where the code computes it.")
    return "## Equations\n\n" + "\n".join(lines) + "\n\n" if lines else ""


def float_items(doc: Document, tables: list[TableResult]) -> str:
    lines = []
    for t in tables:
        caption = f": {_quote(t.caption)}" if t.caption else ""
        lines.append(f"- [ ] **Table {t.number}** ({t.file}:{t.line}){caption} — {len(t.candidates)} claim candidates.")
    start, stop = document_body(doc)
    number = 0
    for match in FLOAT.finditer(doc.text, start, stop):
        end, _ = env_end(doc.text, match.group(1), match.end())
        caption = re.search(r"\\caption\s*(?:\[[^\]]*\])?\s*\{", doc.text[match.end():end])
        if caption is None:
            continue
        number += 1
        where = doc.where(match.start())
        text, _ = read_group(doc.text, match.end() + caption.end() - 1)
        text = " ".join(to_plain(text).text.split())
        lines.append(f"- [ ] **Figure {number}** ({where.file}:{where.line}): {_quote(text)}")
    if not lines:
        return "- [~] **Tables and figures.** The LaTeX has no captioned tables or figures."
    return "\n".join(lines)


def code_item(doc: Document, code: tuple[str, int] | None) -> str:
    if code is None:
        return "- [~] **Official code.** The paper links none (code_url in paper.yaml stays empty)."
    url, offset = code
    where = doc.where(offset)
    return (f"- [ ] **Official code:** <{url}> ({where.file}:{where.line}; code_url in paper.yaml). Read it before "
            "implementing; where it differs from the paper, write it in deviations.yaml.")


def section_numbers(doc: Document, sections: list[Section]) -> dict[tuple[str, int], str]:
    """(file, line) → the number of the section that line is in ("4.2"; "" for starred ones)."""
    heads = {(s.file, s.line): s.number for s in sections}
    numbers: dict[tuple[str, int], str] = {}
    current = ""
    for source in doc.lines:
        current = heads.get((source.file, source.line), current)
        numbers[(source.file, source.line)] = current
    return numbers
