"""`workbench status`: reading checklist progress, the three stage gates, claim verdicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Column, Table

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
    """(ticked, total) `- [x]` items in CHECKLIST.md."""
    if not path.exists():
        return 0, 0
    marks = CHECKBOX.findall(path.read_text(encoding="utf-8"))
    return sum(m in "xX" for m in marks), len(marks)


def run_summaries(runs_dir: Path, stage: str) -> list[dict[str, Any]]:
    return record.stage_summaries(runs_dir, stage)


def count_runs(runs_dir: Path) -> dict[str, int]:
    return {stage: n for stage in STAGES if (n := len(run_summaries(runs_dir, stage)))}


def component_gate(runs_dir: Path, paper: str) -> Gate:
    runs = run_summaries(runs_dir, "component")
    if not runs:
        return Gate("component", "not started", f"workbench run {paper} stage=component")
    last = runs[-1]
    tests = ", ".join(f"{n} {k}" for k, n in (last.get("gate") or {}).get("tests", {}).items())
    return Gate("component", "passed" if last.get("status") == "completed" else "failed", tests or last.get("message") or "")


def prototype_gate(runs_dir: Path, paper: str) -> Gate:
    runs = [r for r in run_summaries(runs_dir, "prototype") if r.get("status") != "running"]
    if not runs:
        return Gate("prototype", "not started", f"workbench run {paper} stage=prototype")
    last = runs[-1]
    gate = last.get("gate") or {}
    if last.get("status") == "completed" and gate.get("loss_fell"):
        return Gate("prototype", "passed", f"train loss {gate['first_train_loss']:.3g} -> {gate['last_train_loss']:.3g}")
    return Gate("prototype", "failed", last.get("message") or f"status {last.get('status')}, loss did not fall")


def reproduction_gate(runs_dir: Path, paper: str) -> Gate:
    runs = run_summaries(runs_dir, "reproduction")
    if not runs:
        return Gate("reproduction", "not started", f"workbench run {paper} stage=reproduction -m seed=0,1,2")
    by_status: dict[str, int] = {}
    for r in runs:
        by_status[r.get("status", "?")] = by_status.get(r.get("status", "?"), 0) + 1
    return Gate("reproduction", f"{len(runs)} runs", ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())))


def gates(runs_dir: Path, paper: str) -> list[Gate]:
    return [component_gate(runs_dir, paper), prototype_gate(runs_dir, paper), reproduction_gate(runs_dir, paper)]


def render(root: Path, paper: Paper) -> Panel:
    done, total = checklist_progress(paper.dir / "CHECKLIST.md")
    gate_table = Table("stage", "gate", "detail", box=None)
    colors = {"passed": "green", "failed": "red", "not started": "dim"}
    for gate in gates(paper.repro_dir(root) / "runs", paper.name):
        gate_table.add_row(gate.stage, f"[{colors.get(gate.state, 'cyan')}]{gate.state}[/]", gate.detail)
    parts: list[Any] = [f"checklist: {done}/{total} items done", gate_table]
    parts.append(claims_section(root, paper))
    return Panel(Group(*parts), title=f"{paper.name} · arXiv {paper.arxiv_id or '-'} · {paper.title}")


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
        table.add_row(c["id"], paper_text, ours_text, f"[{VERDICT_COLORS.get(c['verdict'], 'white')}]{label}[/]")
    return table
