"""Hyperparameter tables: rows "Learning rate & 0.001" (one value column, or one column per model
or dataset, which becomes the entry's scope), or the transpose, a header row of names.

A row counts only when its label is a hyperparameter's name as tables write it ("Learning rate",
"lr", "# epochs", "Batch size (per GPU)"), so results tables with a "dropout" ablation row stay out."""

from __future__ import annotations

import re

from workbench.fetch.numbers import NUM_RE, parse_number
from workbench.fetch.plain import to_plain
from workbench.fetch.recipe_schema import RecipeEntry, RecipeSource, Value
from workbench.fetch.recipe_text import CATEGORIES, plausible
from workbench.fetch.sections import document_body
from workbench.fetch.tex import Document, env_end, read_args, split_top

TABULAR = re.compile(r"\\begin\{(tabular\*?|tabularx|tabulary|longtable)\}")
N_ARGS = {"tabular": 1, "tabular*": 2, "tabularx": 2, "tabulary": 2, "longtable": 1}
LABELS = {
    "optimizer": r"optimi[sz]er|optimi[sz]ation (?:algorithm|method)",
    "learning_rate": r"(?:initial |base |peak |max(?:imum)? )?(?:learning rate|lr)",
    "lr_schedule": r"(?:learning rate |lr )?(?:schedule|scheduler|decay schedule)",
    "lr_decay_factor": r"(?:learning rate |lr )?decay (?:factor|rate)",
    "min_learning_rate": r"min(?:imum)? (?:learning rate|lr)|final (?:learning rate|lr)",
    "warmup_steps": r"warm-?\s?up(?: steps| iterations)?", "warmup_epochs": r"warm-?\s?up epochs",
    "warmup_ratio": r"warm-?\s?up (?:ratio|proportion|fraction)",
    "batch_size": r"(?:mini-?)?batch(?: size)?(?: per (?:gpu|device))?", "epochs": r"(?:number of |training |max(?:imum)? )?epochs?",
    "steps": r"(?:training |max(?:imum)? |total )?(?:steps|updates)", "iterations": r"(?:training )?iterations",
    "weight_decay": r"weight decay|(?:l ?2 )?(?:regulari[sz]ation|penalty|weight penalty)(?: coefficient| weight)?|l ?2", "momentum": r"momentum",
    "beta1": r"beta\s*_?1|adam beta\s*_?1", "beta2": r"beta\s*_?2|adam beta\s*_?2",
    "epsilon": r"(?:adam )?epsilon|(?:adam )?eps", "dropout": r"dropout(?: rate| probability)?",
    "label_smoothing": r"label smoothing", "gradient_clip": r"gradient clip(?:ping)?(?: norm)?|grad(?:ient)? norm clip|"
                                                             r"max(?:imum)? grad(?:ient)? norm|clip(?:ping)? norm",
    "hidden_size": r"hidden (?:size|dim|dimension|units|channels|layer size)s?|d_?model|width",
    "embedding_dim": r"embedding (?:size|dim|dimension)", "num_layers": r"(?:number of )?(?:\w+ )?layers|depth",
    "num_heads": r"(?:number of )?(?:attention )?heads", "kernel_size": r"kernel size",
    "image_size": r"(?:image|input|crop) (?:size|resolution)|resolution",
    "sequence_length": r"(?:max(?:imum)? )?(?:sequence|context|input) length|max length|max(?:imum)? position(?: embeddings?| embed)?",
    "vocab_size": r"vocab(?:ulary)?(?: size)?", "beam_size": r"beam (?:size|width)", "temperature": r"temperature",
    "num_seeds_or_runs": r"(?:number of )?(?:seeds|runs|trials)", "cv_folds": r"(?:number of )?(?:cv )?folds",
    "early_stopping_patience": r"(?:early stopping )?patience", "loss": r"loss(?: function)?|objective",
}
LABEL_RES = {name: re.compile(r"(?:" + regex + r")") for name, regex in LABELS.items()}
# Names whose head noun is distinctive enough to take a qualifier in front ("inner batch size").
QUALIFIED = {"learning_rate", "batch_size", "hidden_size", "weight_decay", "dropout", "epochs", "iterations", "steps",
             "embedding_dim", "warmup_steps", "gradient_clip", "num_layers", "num_heads", "optimizer", "sequence_length"}
GENERIC_HEADERS = re.compile(r"^(?:values?|settings?|hyper-?\s?parameters?|parameters?|default|choice|configuration|"
                             r"config|search space|range|grid|candidates|searched values|options?|)$")


def table_entries(doc: Document) -> list[RecipeEntry]:
    start, stop = document_body(doc)
    found: list[RecipeEntry] = []
    for match in TABULAR.finditer(doc.text, start, stop):
        _, body_start = read_args(doc.text, match.end(), N_ARGS[match.group(1)])
        body_end, _ = env_end(doc.text, match.group(1), match.end())
        rows = _rows(doc, body_start, body_end)
        found += _rows_as_entries(doc, rows) or _columns_as_entries(doc, rows)
    return found


def _rows(doc: Document, start: int, end: int) -> list[list[tuple[str, int]]]:
    """Each row's cells as (plain text, offset in the document); rules and blank rows gone."""
    rows = []
    for row_offset, row in split_top(doc.text[start:end], "\\\\"):
        cells = []
        for cell_offset, cell in split_top(row, "&"):
            base = start + row_offset + cell_offset
            text = " ".join(to_plain(cell, base).text.split())
            cells.append((text, base + len(cell) - len(cell.lstrip())))
        if any(text for text, _ in cells):
            rows.append(cells)
    return rows


def name_of(label: str) -> str | None:
    """The vocabulary name a table label spells, or None; up to three qualifying words may come
    first ("Adam learning rate", "Meta batch size", "MLP decoder hidden sizes") for the names in QUALIFIED."""
    text = re.sub(r"\(.*?\)|[:*†‡]", " ", label.lower()).replace("#", "number of ").replace("num.", "number of")
    text = " ".join(text.replace("-", " ").replace("_", " ").split())
    text = re.sub(r"^(?:number|no\.?|num) of ", "", text).rstrip(". ")
    words = text.split()
    unqualified = [" ".join(words[k:]) for k in (1, 2, 3) if len(words) > k]
    for name, regex in LABEL_RES.items():
        if regex.fullmatch(text) or (name in QUALIFIED and any(regex.fullmatch(t) for t in unqualified)):
            return name
    return None


def _rows_as_entries(doc: Document, rows: list[list[tuple[str, int]]]) -> list[RecipeEntry]:
    named = [(row, name) for row in rows if row and (name := name_of(row[0][0]))]
    if len(named) < (1 if _settings_header(rows) else 2):  # one stray row named like a setting is not enough
        return []
    header = next((row for row in rows if not name_of(row[0][0]) and len(row) > 2), None)
    found = []
    for row, name in named:
        for col, (text, offset) in enumerate(row[1:], start=1):
            scope = _scope(header, col)
            entry = _entry(doc, name, text, offset, scope, f"{row[0][0]}: {text}")
            if entry is not None:
                found.append(entry)
    return found


def _settings_header(rows: list[list[tuple[str, int]]]) -> bool:
    """A first row like "Parameter & Value" or "Hyperparameter & Setting": the table lists settings."""
    return bool(rows) and len(rows[0]) >= 2 and all(GENERIC_HEADERS.match(text.lower().strip()) for text, _ in rows[0][:2])


def _columns_as_entries(doc: Document, rows: list[list[tuple[str, int]]]) -> list[RecipeEntry]:
    if not rows:
        return []
    header = rows[0]
    names = {col: name for col, (text, _) in enumerate(header) if col > 0 and (name := name_of(text))}
    if len(names) < 2:
        return []
    found = []
    for row in rows[1:]:
        for col, name in names.items():
            if col < len(row):
                text, offset = row[col]
                entry = _entry(doc, name, text, offset, row[0][0] or None, f"{header[col][0]}: {text}")
                if entry is not None:
                    found.append(entry)
    return found


def _scope(header: list[tuple[str, int]] | None, col: int) -> str | None:
    if header is None or col >= len(header):
        return None
    text = header[col][0]
    return None if GENERIC_HEADERS.match(text.lower().strip()) else text


def _entry(doc: Document, name: str, text: str, offset: int, scope: str | None, quote: str) -> RecipeEntry | None:
    parsed = _cell_value(name, text)
    if parsed is None:
        return None
    where = doc.where(offset)
    source = RecipeSource(file=where.file, line=where.line, quote=quote)
    if isinstance(parsed, list):
        return RecipeEntry(name=name, values=parsed, scope=scope, source=source)
    return RecipeEntry(name=name, value=parsed, scope=scope, source=source)


def _cell_value(name: str, text: str) -> Value | list[Value] | None:
    low = text.lower().strip()
    if not low or low in ("-", "--", "n/a", "none"):
        return None
    if name in CATEGORIES:
        for regex, value in CATEGORIES[name]:
            if re.search(regex, low):
                return value
        return re.sub(r"\s+", "_", low) if len(low) <= 30 and not NUM_RE.search(low) else None
    numbers = [parse_number(m.group(0) + ("%" if low[m.end():].lstrip().startswith("%") else ""))
               for m in NUM_RE.finditer(low)]
    numbers = list(dict.fromkeys(n for n in numbers if n is not None and plausible(name, n)))  # [512, 512]: one size
    if not numbers:
        return None
    listed = low.startswith(("{", "[")) or bool(re.search(r"\d\s*(?:,|/|\bor\b)\s*[\d.]", low))
    return numbers if listed and len(numbers) > 1 else numbers[0]
