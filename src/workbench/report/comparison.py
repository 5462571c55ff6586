"""comparison.json: the report for other tools, versioned by `schema_version`, and its JSON Schema.

Each version has its schema file in workbench/schemas (a new version gets a new file and the old
one stays). The same runs and claims give the same comparison apart from `generated_at`.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.claims.schema import tolerance_width
from workbench.errors import UserError
from workbench.files import json_safe, shown_path
from workbench.report.compare import ClaimResult, Side, commit_of, runs_of
from workbench.report.context import ReportContext
from workbench.report.recipe import config_hash
from workbench.report.verdict import VERDICTS

SCHEMA_VERSION = 2
SCHEMA_FILES = {1: "comparison.schema.json", 2: "comparison.v2.schema.json"}


def comparison_dict(ctx: ReportContext) -> dict[str, Any]:
    """The comparison of every confirmed claim, JSON-safe (non-finite numbers as null)."""
    counts = Counter(r.verdict for r in ctx.results)
    used = runs_of(ctx.results)
    commit = ctx.commit
    return json_safe(
        {
            "schema_version": SCHEMA_VERSION,
            "paper": ctx.paper,
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "stage": ctx.stage,
            "commit": None if commit is None else {"sha": commit.sha, "dirty": commit.dirty},
            "allow_dirty": ctx.allow_dirty,
            "claims": [_claim_entry(ctx, r) for r in ctx.results],
            "not_confirmed": [c.id for c in ctx.claims if c.status == "candidate"],
            "warnings": list(ctx.warnings),
            "summary": {
                "reproduced": counts["reproduced"],
                "total": len(ctx.results),
                "by_verdict": {v: counts[v] for v in VERDICTS},
                "runs": len(used),
                "seeds": sorted({r.seed for r in used if r.seed is not None}),
            },
        }
    )


def _claim_entry(ctx: ReportContext, result: ClaimResult) -> dict[str, Any]:
    claim, j, versus = result.claim, result.judgement, result.versus
    return {
        "id": claim.id,
        "kind": claim.kind,
        "metric": claim.metric,
        "unit": claim.unit,
        "goal": claim.goal,
        "select": dict(sorted(claim.select.items())),
        "versus": None if versus is None else dict(sorted(versus.select.items())),
        "versus_metric": None if versus is None else versus.metric,
        "paper": {"value": claim.value, "std": claim.std, "n": claim.n_seeds},
        "bound": None if claim.bound is None else {"min": claim.bound.min, "max": claim.bound.max},
        "tolerance": (None if claim.tolerance is None
                      else {**claim.tolerance.model_dump(exclude_none=True), "width": tolerance_width(claim)}),
        "ours": _side_stats(result.side),
        "ours_versus": None if versus is None else _side_stats(versus),
        "statistic": result.statistic,
        "verdict": j.verdict,
        "direction": j.direction,
        "scale": j.scale,
        "interval90": None if j.interval90 is None else list(j.interval90),
        "interval95": None if j.interval95 is None else list(j.interval95),
        "spread": j.spread,
        "seeds_needed": j.seeds_needed,
        "runs": _runs(ctx, result),
        "excluded": [{"run": ctx.shown(e.run), "status": e.status} for e in result.excluded],
        "off_recipe": [{"run": ctx.shown(o.run), "changed": [str(d) for d in o.differences]} for o in result.off_recipe],
        "welch_p": result.welch_p,
        "note": "; ".join(n for n in (result.note, j.note) if n) or None,
    }


def _side_stats(side: Side) -> dict[str, Any]:
    s = side.stats
    return {"mean": s.mean if s else None, "std": s.std if s else None, "n": s.n if s else 0,
            "ci95": list(s.ci95) if s else None}


def _runs(ctx: ReportContext, result: ClaimResult) -> list[dict[str, Any]]:
    """Each averaged run: which side, its value and seed, its commit, and its recipe's config hash."""
    entries = []
    for name, side in zip(("select", "versus"), result.sides):
        for run, value in zip(side.runs, side.values):
            commit = commit_of(run)
            entries.append({"run": ctx.shown(run), "side": name, "value": value, "seed": run.seed,
                            "commit": commit.sha, "dirty": commit.dirty, "config_hash": config_hash(run.config, result.allow)})
    return entries


def answered_on_disk(repro_dir: Path) -> int:
    """How many claims the comparison.json already in repro_dir answers with runs (0 when none is readable)."""
    try:
        data = json.loads((repro_dir / "comparison.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return 0
    return sum(_has_runs(c.get("ours")) and (c.get("ours_versus") is None or _has_runs(c.get("ours_versus")))
               for c in claims if isinstance(c, dict))


def _has_runs(ours: Any) -> bool:
    return isinstance(ours, dict) and isinstance(ours.get("n"), int) and ours["n"] > 0


def dump_json(comparison: dict[str, Any]) -> str:
    """comparison.json's text: indented, UTF-8 as is, and no NaN (it is not JSON)."""
    return json.dumps(comparison, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def comparison_schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    name = SCHEMA_FILES.get(version)
    if name is None:
        raise UserError(f"comparison.json schema_version {version} is unknown to this workbench "
                        f"(it knows {', '.join(map(str, SCHEMA_FILES))}); upgrade workbench or re-run the report")
    return json.loads(resources.files("workbench.schemas").joinpath(name).read_text(encoding="utf-8"))


def validate_comparison(data: Any, where: str = "comparison.json") -> None:
    """One UserError naming the first place the data breaks its schema."""
    import jsonschema

    version = data.get("schema_version") if isinstance(data, dict) else None
    schema = comparison_schema(version if isinstance(version, int) else 1)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(f"{where}: does not match its schema at {at}: {error.message}. "
                        f"Regenerate it with `workbench report <paper>`.")


def read_comparison(repro_dir: Path) -> dict[str, Any]:
    """A paper's comparison.json, checked against its schema; missing or broken is one UserError."""
    path = repro_dir / "comparison.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{shown_path(path)}: not found. Run `workbench report {repro_dir.name}` first.") from None
    except ValueError as exc:
        raise UserError(f"{shown_path(path)}: not valid JSON ({exc}). Run `workbench report {repro_dir.name}` again.") from None
    validate_comparison(data, shown_path(path))
    return data
