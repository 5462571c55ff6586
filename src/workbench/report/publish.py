"""`workbench report <paper> --publish`: the written report, mirrored to W&B.

One W&B run with job_type=report, in the same project, entity and group as the paper's training
runs (`<paper>-<stage>`, as tracking/wandb.py names it; project and entity are --project/--entity,
else what most of the report's runs recorded in logger.wandb, else the paper's logger=wandb config). Its id is
`<paper>-<stage>-report`, the same at every publish, so re-publishing updates that run. Its config
holds the paper, stage, commit and verdict counts, its tags the paper, stage and counts
("8 reproduced"), and it holds:
  - the comparison as a wandb.Table "comparison" (one row per claim),
  - every figures/*.png as a wandb.Image under "figures/<name>",
  - REPORT.md, report.html, comparison.json as one artifact of type "report",
  - one summary key per claim, "claim/<id>" = its verdict ("direction/<id>" = better or worse
    where it is not reproduced), and claims_reproduced / claims_total.
Offline by default (no key, no network): the run lands in reproductions/<paper>/publish/wandb/ and
the `wandb sync` command that uploads it is printed. Online only when asked for and a key exists;
then a W&B Report (wandb-workspaces) with the claims table and learning-curve panels is saved too,
its training runs grouped by every key the claims select (model and data: one line per configuration).
`--dry-run` writes publish/wandb_spec.json (the run's contents and the Report's blocks) and sends
nothing. The local report is written before any of this, so a W&B failure never loses it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.files import atomic_write_text, shown_path
from workbench.report.format import verdict_label
from workbench.run import record
from workbench.tracking.wandb import has_wandb_key

TABLE_COLUMNS = ["claim", "metric", "unit", "paper_value", "paper_std", "paper_n", "ours_mean", "ours_std",
                 "ours_n", "ci95_low", "ci95_high", "verdict", "direction", "seeds_needed", "welch_p"]
ARTIFACT_FILES = ("REPORT.md", "report.html", "comparison.json")
DEFAULT_PROJECT = "workbench"  # configs/logger/wandb.yaml's, for a paper folder without conf/


@dataclass
class Published:
    """What publishing did, for the CLI to print."""

    mode: str                     # offline | online | dry-run
    path: Path                    # the offline run folder, or the spec file
    messages: list[str] = field(default_factory=list)
    sync_command: str | None = None
    report_url: str | None = None


def publish_spec(repro_dir: Path, comparison: dict[str, Any], *, project: str = DEFAULT_PROJECT,
                 entity: str | None = None) -> dict[str, Any]:
    """Everything publishing sends, as data: the dry run writes it, the real run follows it."""
    paper = comparison["paper"]["name"]
    stage = comparison["stage"]
    group = f"{paper}-{stage}"
    figures = sorted(p.name for p in (repro_dir / "figures").glob("*.png"))
    metrics = sorted({c["metric"] for c in comparison["claims"]})
    summary = comparison["summary"]
    select_keys = sorted({k for c in comparison["claims"] for k in c["select"]})
    return {
        "project": project,
        "entity": entity,
        "run": {"name": f"{paper}-report", "group": group, "job_type": "report"},
        "id": f"{paper}-{stage}-report",  # stable: publishing again updates this run
        "config": {"paper": paper, "stage": stage, "arxiv_id": comparison["paper"].get("arxiv_id"),
                   "commit": comparison.get("commit"), "claims_total": summary["total"],
                   "claims_reproduced": summary["reproduced"], "verdicts": summary["by_verdict"]},
        "tags": [paper, stage, "report", *(f"{n} {verdict}" for verdict, n in summary["by_verdict"].items() if n)],
        "runset_groupby": [wandb_config_key(key, choice_keys(repro_dir, comparison)) for key in select_keys],
        "table": {"key": "comparison", "columns": TABLE_COLUMNS, "rows": table_rows(comparison)},
        "images": [{"key": f"figures/{Path(name).stem}", "file": f"figures/{name}"} for name in figures],
        "artifact": {"name": f"{paper}-report", "type": "report", "files": list(ARTIFACT_FILES)},
        "summary": {
            **{f"claim/{c['id']}": c["verdict"] for c in comparison["claims"]},
            **{f"direction/{c['id']}": c["direction"] for c in comparison["claims"] if c.get("direction")
               and c["verdict"] == "not reproduced"},
            "claims_reproduced": summary["reproduced"],
            "claims_total": summary["total"],
        },
        "wandb_report": {
            "title": f"Reproduction: {comparison['paper'].get('title') or paper}",
            "description": f"{summary['reproduced']} of {summary['total']} claims reproduced (stage {stage})",
            "blocks": [
                {"type": "h1", "text": f"{summary['reproduced']} of {summary['total']} claims reproduced"},
                {"type": "markdown", "text": claims_markdown(comparison)},
                {"type": "line_plots", "runset_filter_group": group, "metrics": metrics, "groupby": select_keys},
            ],
        },
    }


def claim_run_folders(repro_dir: Path, comparison: dict[str, Any]) -> list[Path]:
    """The run folders (under runs/ or evidence/) whose numbers the report used."""
    names = {run["run"] for c in comparison["claims"] for run in c.get("runs") or [] if run.get("run")}
    return [repro_dir / name for name in sorted(names)]


def choice_keys(repro_dir: Path, comparison: dict[str, Any]) -> set[str]:
    """The config groups the report's runs chose options of (model, data, stage, ...)."""
    keys: set[str] = set()
    for folder in claim_run_folders(repro_dir, comparison):
        config = record.read_yaml_quietly(folder / record.CONFIG)
        if isinstance(config, dict) and isinstance(config.get("choices"), dict):
            keys |= set(config["choices"])
    return keys


def wandb_config_key(select_key: str, groups: set[str]) -> str:
    """Where a claim's select key sits in a training run's W&B config (claims/schema.py's lookup)."""
    return f"config.choices.{select_key}" if select_key in groups else f"config.{select_key}"


def recorded_logger_options(repro_dir: Path, comparison: dict[str, Any], tracker: str) -> dict[str, Any]:
    """logger.<tracker> as the report's runs recorded it: per key, the value most of them used."""
    counts: dict[str, Counter] = {}
    for folder in claim_run_folders(repro_dir, comparison):
        config = record.read_yaml_quietly(folder / record.CONFIG)
        logger = config.get("logger") if isinstance(config, dict) else None
        options = logger.get(tracker) if isinstance(logger, dict) else None
        for key, value in (options.items() if isinstance(options, dict) else ()):
            if isinstance(value, (str, int, float)):  # not tags: a list is no single place
                counts.setdefault(key, Counter())[value] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in counts.items()}


def configured_logger_options(paper_dir: Path, tracker: str) -> dict[str, Any]:
    """logger.<tracker> as the paper's config composes with logger=<tracker>; {} without a conf/."""
    from workbench.run.config import compose_config, resolve_user_config

    if not (paper_dir / "conf").is_dir():
        return {}
    try:
        config = resolve_user_config(compose_config(paper_dir / "conf", [f"logger={tracker}"]))
    except ConfigError:
        return {}
    options = (config.get("logger") or {}).get(tracker)
    return dict(options) if isinstance(options, dict) else {}


def logger_options(paper_dir: Path, repro_dir: Path, comparison: dict[str, Any], tracker: str) -> dict[str, Any]:
    """Where the training runs went (recorded), else where the paper's config sends them."""
    configured = {k: v for k, v in configured_logger_options(paper_dir, tracker).items() if v is not None}
    return {**configured, **recorded_logger_options(repro_dir, comparison, tracker)}


def table_rows(comparison: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for c in comparison["claims"]:
        ci = c["ours"]["ci95"] or [None, None]
        rows.append([c["id"], c["metric"], c["unit"], c["paper"]["value"], c["paper"]["std"], c["paper"]["n"],
                     c["ours"]["mean"], c["ours"]["std"], c["ours"]["n"], ci[0], ci[1], c["verdict"],
                     c.get("direction"), c.get("seeds_needed"), c["welch_p"]])
    return rows


def claims_markdown(comparison: dict[str, Any]) -> str:
    lines = ["| claim | paper | ours (mean ± std, n) | verdict |", "| --- | --- | --- | --- |"]
    for c in comparison["claims"]:
        value = c["paper"]["value"]
        paper = ("—" if value is None else f"{value:.4g}") + (f" ± {c['paper']['std']:.3g}" if c["paper"]["std"] is not None else "")
        ours = "—" if c["ours"]["mean"] is None else f"{c['ours']['mean']:.4g} ± {c['ours']['std']:.3g} (n={c['ours']['n']})"
        verdict = verdict_label(c["verdict"], c.get("direction"), c.get("seeds_needed"))
        lines.append(f"| {c['id']} | {paper}{c['unit']} | {ours} | {verdict} |")
    return "\n".join(lines)


def publish(repro_dir: Path, comparison: dict[str, Any], *, paper_dir: Path | None = None, online: bool = False,
            dry_run: bool = False, project: str | None = None, entity: str | None = None) -> Published:
    """Publish the report already written in repro_dir. Never raises for W&B trouble: it says so.

    project and entity, where not given, are the training runs' (see logger_options)."""
    repro_dir = Path(repro_dir)
    options = logger_options(paper_dir, repro_dir, comparison, "wandb") if paper_dir else {}
    spec = publish_spec(repro_dir, comparison, project=project or options.get("project") or DEFAULT_PROJECT,
                        entity=entity or options.get("entity"))
    out_dir = repro_dir / "publish"
    if dry_run:
        path = out_dir / "wandb_spec.json"
        atomic_write_text(path, json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
        return Published("dry-run", path, [f"dry run: wrote {shown_path(path)}; nothing was sent"])
    messages: list[str] = []
    mode = "offline"
    if online and not has_wandb_key():
        messages.append("--online needs a W&B key (`wandb login` or WANDB_API_KEY); publishing offline instead")
    elif online:
        mode = "online"
    try:
        run = _init(spec, out_dir, mode)
    except Exception as exc:  # wandb raises many kinds: unreachable, bad key, timeouts
        if mode == "offline":
            messages.append(f"W&B could not start offline ({type(exc).__name__}: {_first_line(exc)}); "
                            f"the local report in {shown_path(repro_dir)} is complete")
            return Published("failed", out_dir, messages)
        messages.append(f"W&B unreachable ({type(exc).__name__}: {_first_line(exc)}); publishing offline instead")
        mode = "offline"
        try:
            run = _init(spec, out_dir, mode)
        except Exception as exc2:
            messages.append(f"W&B could not start offline either ({type(exc2).__name__}); the local report is complete")
            return Published("failed", out_dir, messages)
    _fill(run, spec, repro_dir)
    run_dir = Path(run.dir).parent  # run.dir is <run folder>/files
    run.finish()
    result = Published(mode, run_dir, messages)
    if mode == "offline":
        result.sync_command = f"wandb sync {shown_path(run_dir)}"
    else:
        result.report_url = _save_wandb_report(spec, messages)
    return result


def _init(spec: dict[str, Any], out_dir: Path, mode: str) -> Any:
    import wandb

    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")
    return wandb.init(project=spec["project"], entity=spec["entity"], name=spec["run"]["name"], id=spec["id"],
                      resume="allow", group=spec["run"]["group"], job_type=spec["run"]["job_type"],
                      config=spec["config"], tags=spec["tags"], dir=str(out_dir), mode=mode,
                      settings=wandb.Settings(init_timeout=float(os.environ.get("WANDB_INIT_TIMEOUT", 30))))


def _fill(run: Any, spec: dict[str, Any], repro_dir: Path) -> None:
    import wandb

    table = spec["table"]
    run.log({table["key"]: wandb.Table(columns=table["columns"], data=table["rows"])})
    images = {image["key"]: wandb.Image(str(repro_dir / image["file"])) for image in spec["images"]}
    if images:
        run.log(images)
    artifact = wandb.Artifact(spec["artifact"]["name"], type=spec["artifact"]["type"])
    for name in spec["artifact"]["files"]:
        artifact.add_file(str(repro_dir / name), name=name)
    run.log_artifact(artifact)
    for key, value in spec["summary"].items():
        run.summary[key] = value


def _save_wandb_report(spec: dict[str, Any], messages: list[str]) -> str | None:
    """The W&B Report, built from the spec's blocks; needs the optional wandb-workspaces package."""
    try:
        import wandb_workspaces.reports.v2 as wr
    except ImportError:
        messages.append("the W&B Report needs the wandb-workspaces package (`pip install wandb-workspaces`); "
                        "the report run was published without it")
        return None
    try:
        report = wr.Report(project=spec["project"], entity=spec["entity"] or "", title=spec["wandb_report"]["title"],
                           description=spec["wandb_report"]["description"])
        report.blocks = [_block(wr, spec, block) for block in spec["wandb_report"]["blocks"]]
        report.save()
        return str(report.url)
    except Exception as exc:
        messages.append(f"the W&B Report could not be saved ({type(exc).__name__}: {_first_line(exc)})")
        return None


def _block(wr: Any, spec: dict[str, Any], block: dict[str, Any]) -> Any:
    if block["type"] == "h1":
        return wr.H1(text=block["text"])
    if block["type"] == "markdown":
        return wr.MarkdownBlock(text=block["text"])
    # grouping the runset (not each panel, which takes one key) draws one line per configuration
    runset = wr.Runset(entity=spec["entity"] or "", project=spec["project"], name="training runs",
                       filters=f"Group = '{block['runset_filter_group']}'", groupby=spec["runset_groupby"])
    panels = [wr.LinePlot(title=metric, x="Step", y=[metric]) for metric in block["metrics"]]
    return wr.PanelGrid(runsets=[runset], panels=panels)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"
