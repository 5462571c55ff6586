"""`workbench status`: reading checklist progress, the three stage gates, claim verdicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Column, Table

from workbench.files import shown_path
from workbench.project import Paper
from workbench.run import record

CHECKBOX = re.compile(r"^\s*[-*] \[( |x|X)\]", re.MULTILINE)
STAGES = ("component", "prototype", "reproduction")


@dataclass
class Gate:
    stage: str
    state: str  # passed | failed | not started | n runs
    detail: str


def checklist_progress(path: Path) -> tuple[int, int]:
    """(ticked, total) items in CHECKLIST.md: `- [x]` done, `- [ ]` open; `- [~]` (not applicable) is in neither."""
    if not path.exists():
        return 0, 0
    marks = CHECKBOX.findall(path.read_text(encoding="utf-8"))
    return sum(m in "xX" for m in marks), len(marks)


def run_summaries(runs_dir: Path, stage: str) -> list[tuple[Path, dict[str, Any]]]:
    """(folder, summary) of a stage's runs, oldest first, each summary read as written by a run
    of that stage (another stage's summary copied in does not count)."""
    return [(folder, summary) for folder, summary in record.stage_summaries(runs_dir, stage)
            if summary.get("stage", stage) == stage]


def count_runs(runs_dir: Path) -> dict[str, int]:
    return {stage: n for stage in STAGES if (n := len(run_summaries(runs_dir, stage)))}


def number(value: Any) -> float | None:
    """A summary's number, or None for anything else a hand-edited file may hold there."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def finished(runs: list[tuple[Path, dict[str, Any]]]) -> tuple[list[tuple[Path, dict[str, Any]]], str]:
    """The runs that are not running, and a note on the newest one that is (or was: killed)."""
    running = [(folder, summary) for folder, summary in runs if summary.get("status") == "running"]
    note = ""
    if running:
        folder, summary = running[-1]
        stopped = record.stopped_while_running(folder, summary)
        note = (f"; {folder.name} stopped before finishing ({stopped}): `workbench resume {shown_path(folder)}`"
                if stopped else f"; {folder.name} is running")
    return [r for r in runs if r[1].get("status") != "running"], note


def component_gate(runs_dir: Path, paper: str) -> Gate:
    """Passed only when the newest component run is pytest's own record of tests passing."""
    runs, note = finished(run_summaries(runs_dir, "component"))
    if not runs:
        return Gate("component", "not started", f"workbench run {paper} stage=component{note}")
    _, last = runs[-1]
    gate = last.get("gate") if isinstance(last.get("gate"), dict) else {}
    tests = gate.get("tests") if isinstance(gate.get("tests"), dict) else {}
    passed = (last.get("status") == "completed" and gate.get("passed") is True
              and (number(tests.get("passed")) or 0) > 0 and not (number(tests.get("failed")) or 0))
    detail = ", ".join(f"{n} {k}" for k, n in tests.items() if number(n) is not None) if passed else ""
    if not passed:
        detail = text(last.get("message")) or ("no component tests ran in it" if not tests else "tests did not pass")
    return Gate("component", "passed" if passed else "failed", detail + note)


def prototype_gate(runs_dir: Path, paper: str) -> Gate:
    runs, note = finished(run_summaries(runs_dir, "prototype"))
    if not runs:
        return Gate("prototype", "not started", f"workbench run {paper} stage=prototype{note}")
    _, last = runs[-1]
    gate = last.get("gate") if isinstance(last.get("gate"), dict) else {}
    first, final = number(gate.get("first_train_loss")), number(gate.get("last_train_loss"))
    if last.get("status") == "completed" and gate.get("loss_fell") is True and first is not None and final is not None:
        return Gate("prototype", "passed", f"train loss {first:.3g} -> {final:.3g}{note}")
    status = last.get("status") if isinstance(last.get("status"), str) else "unknown"
    return Gate("prototype", "failed", (text(last.get("message")) or f"status {status}, loss did not fall") + note)


def reproduction_gate(runs_dir: Path, paper: str) -> Gate:
    runs = run_summaries(runs_dir, "reproduction")
    if not runs:
        return Gate("reproduction", "not started", f"workbench run {paper} stage=reproduction -m seed=0,1,2")
    _, note = finished(runs)
    by_status: dict[str, int] = {}
    for _, r in runs:
        status = r.get("status") if isinstance(r.get("status"), str) else "?"
        by_status[status] = by_status.get(status, 0) + 1
    return Gate("reproduction", f"{len(runs)} runs", ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) + note)


def gates(runs_dir: Path, paper: str) -> list[Gate]:
    return [component_gate(runs_dir, paper), prototype_gate(runs_dir, paper), reproduction_gate(runs_dir, paper)]


def render(root: Path, paper: Paper) -> Panel:
    done, total = checklist_progress(paper.dir / "CHECKLIST.md")
    gate_table = Table("stage", "gate", Column("detail", overflow="fold"), box=None)
    colors = {"passed": "green", "failed": "red", "not started": "dim"}
    for gate in gates(paper.repro_dir(root) / "runs", paper.name):
        gate_table.add_row(gate.stage, f"[{colors.get(gate.state, 'cyan')}]{gate.state}[/]", escape(gate.detail))  # a message may hold [
    parts: list[Any] = [f"checklist: {done}/{total} items done", gate_table]
    parts.append(claims_section(root, paper))
    return Panel(Group(*parts), title=escape(f"{paper.name} · arXiv {paper.arxiv_id or '-'} · {paper.title}"))


def claims_section(root: Path, paper: Paper) -> Any:
    """Claims confirmed and to review, and each confirmed one's verdict as `workbench report` would give it."""
    from workbench.claims.schema import load_claims
    from workbench.report.inputs import judge_paper

    claims_path = paper.dir / "claims.yaml"
    if not claims_path.exists():
        return "claims: none yet (claims.yaml missing)"
    claims = load_claims(claims_path)
    confirmed = sum(c.status == "confirmed" for c in claims)
    counts = f"claims: {confirmed} confirmed, {sum(c.status == 'candidate' for c in claims)} candidates to review"
    if not confirmed:
        return f"{counts} (`workbench claims {paper.name}`)"
    judged = judge_paper(paper.dir, paper.repro_dir(root))
    rows = [{"id": r.claim.id, "kind": r.claim.kind, "unit": r.claim.unit, "verdict": r.verdict,
             "direction": r.judgement.direction, "seeds_needed": r.judgement.seeds_needed, "statistic": r.statistic,
             "bound": None if r.claim.bound is None else {"min": r.claim.bound.min, "max": r.claim.bound.max},
             "paper": {"value": r.claim.value, "std": r.claim.std},
             "ours": {"mean": r.stats.mean if r.stats else None, "std": r.stats.std if r.stats else None,
                      "n": r.stats.n if r.stats else 0}}
            for r in judged.comparison.results]
    return Group(counts, verdict_table(rows))


VERDICT_COLORS = {"reproduced": "green", "not reproduced": "red", "inconclusive": "yellow", "not comparable": "magenta",
                  "missing": "dim"}


def verdict_table(claims: list[dict[str, Any]]) -> Table:
    """Rows as in comparison.json's "claims": paper value ± std beside our mean ± std (n), and the verdict."""
    from workbench.report.format import bound_text, format_number, unit_suffix, verdict_label  # as REPORT.md writes them
    table = Table("paper", "ours (mean ± std, n)", "verdict", title="claims")
    table.columns.insert(0, Column("claim", overflow="fold"))
    for c in claims:
        unit = unit_suffix(c.get("unit") or "")
        paper, ours = c["paper"], c["ours"]
        paper_text = format_number(paper["value"]) + (f" ± {format_number(paper['std'])}" if paper.get("std") is not None else "") + unit
        ours_text = ("-" if ours["mean"] is None
                     else f"{format_number(ours['mean'])} ± {format_number(ours['std'])}{unit} (n={ours['n']})")
        kind = c.get("kind", "value")
        if kind != "value":  # a relative claim: its bound beside our statistic
            bound = c.get("bound") or {}
            paper_text = bound_text(kind, bound.get("min"), bound.get("max"))
            ours_text = "-" if c.get("statistic") is None else f"{kind} {format_number(c['statistic'])}"
        label = verdict_label(c["verdict"], c.get("direction"), c.get("seeds_needed"))
        table.add_row(escape(str(c["id"])), escape(paper_text), escape(ours_text), f"[{VERDICT_COLORS.get(c['verdict'], 'white')}]{label}[/]")
    return table
