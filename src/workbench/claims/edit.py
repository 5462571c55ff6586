"""Edits to claims.yaml that keep the user's comments and layout.

A status change rewrites one `status:` line. Setting metric, tolerance or select rewrites only the
entries concerned, each dumped back at its own indentation; the text between entries (comments,
blank lines) and every other entry stay byte for byte. The result is validated before it replaces
the file, so a bad edit leaves claims.yaml as it was.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from workbench.claims.schema import load_claims
from workbench.errors import UserError
from workbench.files import atomic_write_text, shown_path

ENTRY = re.compile(r"^(\s*)- id:\s*(.+?)\s*$")
STATUS = re.compile(r"^(\s*)status:\s*(\S+)\s*$")


def apply(path: Path, statuses: dict[str, str], fields: dict[str, dict[str, Any]]) -> None:
    """Set each id's status and fields (metric, tolerance, select, ...) in claims.yaml."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for claim_id, changes in fields.items():
        lines = _rewrite_entry(lines, claim_id, changes, path)
    for claim_id, status in statuses.items():
        _set_status(lines, claim_id, status, path)
    text = "".join(lines)
    tmp_check = path.with_name(f".{path.name}.check")
    try:
        atomic_write_text(tmp_check, text)
        load_claims(tmp_check)
    finally:
        tmp_check.unlink(missing_ok=True)
    atomic_write_text(path, text)


def _entry_span(lines: list[str], claim_id: str) -> tuple[int, int, int] | None:
    """(first line, line after the last, indent of `- `) of the entry with this id."""
    start, indent = None, 0
    for i, line in enumerate(lines):
        match = ENTRY.match(line)
        if start is None:
            if match and match.group(2).strip("'\"") == claim_id:
                start, indent = i, len(match.group(1))
            continue
        if match and len(match.group(1)) <= indent:
            return start, _last_content(lines, start, i), indent
        if line.strip() and not line.startswith(" " * (indent + 1)) and not line.lstrip().startswith("#"):
            return start, _last_content(lines, start, i), indent  # the list ended: a top-level key
    return None if start is None else (start, _last_content(lines, start, len(lines)), indent)


def _last_content(lines: list[str], start: int, stop: int) -> int:
    """Trailing blank and comment lines belong to what follows, not to the entry."""
    while stop > start + 1 and (not lines[stop - 1].strip() or lines[stop - 1].lstrip().startswith("#")):
        stop -= 1
    return stop


def _rewrite_entry(lines: list[str], claim_id: str, changes: dict[str, Any], path: Path) -> list[str]:
    span = _entry_span(lines, claim_id)
    if span is None:
        raise UserError(f"{shown_path(path)}: claim '{claim_id}' is not a `- id:` entry of its own; edit it by hand")
    start, stop, indent = span
    block = "".join(lines[start:stop])
    (entry,) = yaml.safe_load(_dedent(block, indent))
    entry.update(changes)
    dumped = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=120)
    pad = " " * indent
    new = [pad + line + "\n" for line in dumped.splitlines()]
    return lines[:start] + new + lines[stop:]


def _dedent(block: str, indent: int) -> str:
    return "".join(line[indent:] if line[:indent].strip() == "" else line for line in block.splitlines(keepends=True))


def _set_status(lines: list[str], claim_id: str, status: str, path: Path) -> None:
    span = _entry_span(lines, claim_id)
    if span is not None:
        start, stop, indent = span
        for i in range(start, stop):
            found = STATUS.match(lines[i])
            if found and len(found.group(1)) == indent + 2:
                lines[i] = f"{found.group(1)}status: {status}\n"
                return
    raise UserError(f"{shown_path(path)}: claim '{claim_id}' has no `status:` line of its own; set status: {status} by hand")
