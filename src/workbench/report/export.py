"""comparison.json for other tools: Hugging Face model-index YAML, the all-papers index.

- `write_hf_export` writes reproductions/<paper>/export/hf/model-index.yaml: the `model-index`
  block of a Hugging Face model card, one model per configuration, one result per *reproduced*
  value claim (a claim we did not reproduce, or could not compare, is not a result to publish;
  a relative claim has no number of the paper's to put beside ours), `verified: false`.
- `write_index` writes reproductions/INDEX.md and reproductions/index.html: every paper with its
  claims reproduced / total, read from each paper's comparison.json.
Both read comparison.json with report/comparison.py's read_comparison, which checks its schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.errors import UserError
from workbench.files import atomic_write_text
from workbench.report.comparison import read_comparison
from workbench.report.format import cell
from workbench.report.html import render_html


# --- Hugging Face -----------------------------------------------------------------------------


def hf_model_index(comparison: dict[str, Any]) -> dict[str, Any]:
    """model-index entries for the reproduced value claims, grouped by the configuration they select."""
    paper = comparison["paper"]
    source = {"name": f"workbench reproduction of arXiv:{paper.get('arxiv_id')}{paper.get('version') or ''}",
              "url": paper.get("abs_url") or f"https://arxiv.org/abs/{paper.get('arxiv_id')}"}
    models: dict[str, list[dict[str, Any]]] = {}
    for claim in comparison["claims"]:
        if claim["verdict"] != "reproduced" or claim.get("kind", "value") != "value":
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
    rows = index_rows(root, names)
    lines = ["# Reproductions", "", "| paper | title | claims reproduced | verdicts |", "| --- | --- | ---: | --- |"]
    for row in rows:
        score = "—" if row["total"] is None else f"{row['reproduced']} / {row['total']}"
        report = f"[{row['paper']}]({row['paper']}/REPORT.md)" if row["total"] is not None else row["paper"]
        lines.append(f"| {report} | {cell(row['title'])} | {score} | {cell(row['note'])} |")
    markdown = "\n".join(lines) + "\n"
    md_path, html_path = root / "reproductions" / "INDEX.md", root / "reproductions" / "index.html"
    atomic_write_text(md_path, markdown)
    atomic_write_text(html_path, render_html(markdown.replace("/REPORT.md)", "/report.html)"), {}, "Reproductions"))
    return md_path, html_path, rows
