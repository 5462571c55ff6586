"""comparison.json for other tools: its JSON Schema, Hugging Face model-index YAML, the all-papers index.

- `validate_comparison` checks a comparison against schemas/comparison.schema.json (versioned by
  `schema_version`; a new version gets a new schema file and the old one stays).
- `write_hf_export` writes reproductions/<paper>/export/hf/model-index.yaml: the `model-index`
  block of a Hugging Face model card, one model per configuration, one result per *reproduced*
  claim (a claim we did not reproduce is not a result to publish), `verified: false`.
- `write_index` writes reproductions/INDEX.md and reproductions/index.html: every paper with its
  claims reproduced / total, read from each paper's comparison.json.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import UserError
from workbench.files import atomic_write_text, shown_path

SCHEMA_FILES = {1: "comparison.schema.json"}


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
    path = repro_dir / "comparison.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{shown_path(path)}: not found. Run `workbench report {repro_dir.name}` first.") from None
    except ValueError as exc:
        raise UserError(f"{shown_path(path)}: not valid JSON ({exc}). Run `workbench report {repro_dir.name}` again.") from None
    validate_comparison(data, shown_path(path))
    return data


# --- Hugging Face -----------------------------------------------------------------------------


def hf_model_index(comparison: dict[str, Any]) -> dict[str, Any]:
    """model-index entries for the reproduced claims, grouped by the configuration they select."""
    paper = comparison["paper"]
    source = {"name": f"workbench reproduction of arXiv:{paper.get('arxiv_id')}{paper.get('version') or ''}",
              "url": paper.get("abs_url") or f"https://arxiv.org/abs/{paper.get('arxiv_id')}"}
    models: dict[str, list[dict[str, Any]]] = {}
    for claim in comparison["claims"]:
        if claim["verdict"] != "reproduced":
            continue
        config = ", ".join(f"{k}={v}" for k, v in sorted(claim["select"].items()))
        result = {
            "task": {"type": "other", "name": paper.get("title") or paper["name"]},
            "dataset": {"name": f"{paper['name']} ({config})" if config else paper["name"], "type": paper["name"],
                        "config": config or "default"},
            "metrics": [{
                "type": claim["metric"],
                "name": f"{claim['id']} (paper: {claim['paper']['value']}{claim['unit']})",
                "value": claim["ours"]["mean"],
                "verified": False,
            }],
            "source": source,
        }
        models.setdefault(config, []).append(result)
    name = paper["name"]
    return {"model-index": [{"name": f"{name}-{_slug(config)}" if config else name, "results": results}
                            for config, results in sorted(models.items())]}


def write_hf_export(repro_dir: Path) -> tuple[Path, int]:
    """export/hf/model-index.yaml from comparison.json; returns the path and the number of results."""
    comparison = read_comparison(repro_dir)
    index = hf_model_index(comparison)
    path = repro_dir / "export" / "hf" / "model-index.yaml"
    header = (f"# Hugging Face model card metadata (model-index) for the claims of {comparison['paper']['name']}\n"
              f"# that `workbench report` found reproduced; paste it into a model card's YAML header.\n")
    atomic_write_text(path, header + yaml.safe_dump(index, sort_keys=False, allow_unicode=True))
    return path, sum(len(m["results"]) for m in index["model-index"])


def _slug(config: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in config.replace(", ", "_")).strip("-")


# --- index of every paper ---------------------------------------------------------------------


def index_rows(root: Path, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        repro_dir = root / "reproductions" / name
        try:
            data = read_comparison(repro_dir)
        except UserError as exc:
            rows.append({"paper": name, "title": "", "reproduced": None, "total": None, "note": str(exc)})
            continue
        summary = data["summary"]
        rows.append({"paper": name, "title": data["paper"].get("title") or "", "reproduced": summary["reproduced"],
                     "total": summary["total"], "note": ", ".join(f"{n} {v}" for v, n in summary["by_verdict"].items() if n)})
    return rows


def write_index(root: Path, names: list[str]) -> tuple[Path, Path, list[dict[str, Any]]]:
    """reproductions/INDEX.md and index.html from each paper's comparison.json."""
    from workbench.report.write import render_html

    rows = index_rows(root, names)
    lines = ["# Reproductions", "", "| paper | title | claims reproduced | verdicts |", "| --- | --- | ---: | --- |"]
    for row in rows:
        score = "—" if row["total"] is None else f"{row['reproduced']} / {row['total']}"
        report = f"[{row['paper']}]({row['paper']}/REPORT.md)" if row["total"] is not None else row["paper"]
        lines.append(f"| {report} | {_cell(row['title'])} | {score} | {_cell(row['note'])} |")
    markdown = "\n".join(lines) + "\n"
    md_path, html_path = root / "reproductions" / "INDEX.md", root / "reproductions" / "index.html"
    atomic_write_text(md_path, markdown)
    atomic_write_text(html_path, render_html(markdown.replace("/REPORT.md)", "/report.html)"), {}, "Reproductions"))
    return md_path, html_path, rows


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
