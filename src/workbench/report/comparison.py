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
from workbench.report.compare import ClaimResult
from workbench.report.context import ReportContext
from workbench.report.stats import VERDICTS

SCHEMA_VERSION = 1
SCHEMA_FILES = {1: "comparison.schema.json"}


def comparison_dict(ctx: ReportContext) -> dict[str, Any]:
    """The comparison of every confirmed claim, JSON-safe (non-finite numbers as null)."""
    counts = Counter(r.verdict for r in ctx.results)
    return json_safe(
        {
            "schema_version": SCHEMA_VERSION,
            "paper": ctx.paper,
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "stage": ctx.stage,
            "claims": [_claim_entry(ctx, r) for r in ctx.results],
            "not_confirmed": [c.id for c in ctx.claims if c.status == "candidate"],
            "warnings": list(ctx.warnings),
            "summary": {
                "reproduced": counts["reproduced"],
                "total": len(ctx.results),
                "by_verdict": {v: counts[v] for v in VERDICTS},
            },
        }
    )


def _claim_entry(ctx: ReportContext, result: ClaimResult) -> dict[str, Any]:
    claim, s = result.claim, result.stats
    return {
        "id": claim.id,
        "metric": claim.metric,
        "unit": claim.unit,
        "goal": claim.goal,
        "select": dict(sorted(claim.select.items())),
        "paper": {"value": claim.value, "std": claim.std, "n": claim.n_seeds},
        "ours": {
            "mean": s.mean if s else None,
            "std": s.std if s else None,
            "n": s.n if s else 0,
            "ci95": list(s.ci95) if s else None,
        },
        "verdict": result.verdict,
        "tolerance": {**claim.tolerance.model_dump(exclude_none=True), "width": tolerance_width(claim)},
        "runs": [ctx.rel(r.path) for r in result.runs],
        "excluded": [{"run": ctx.rel(e.run.path), "status": e.status} for e in result.excluded],
        "welch_p": result.welch_p,
        "note": result.note,
    }


def dump_json(comparison: dict[str, Any]) -> str:
    """comparison.json's text: indented, UTF-8 as is, and no NaN (it is not JSON)."""
    return json.dumps(comparison, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def comparison_schema(version: int = 1) -> dict[str, Any]:
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
