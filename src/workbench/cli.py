"""`workbench` command line. Thin: parse, call one function per command, print.

Errors a user can cause print one line `error: ...` and exit 1; `--debug` shows the traceback.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.table import Table

from workbench import status as status_mod
from workbench.console import stderr as err
from workbench.console import stdout as console
from workbench.errors import UserError
from workbench.files import ensure_writable_folder
from workbench.project import find_paper, list_papers, project_root

if TYPE_CHECKING:
    from workbench.run.runner import RunOutcome

# Hydra, torch, matplotlib and wandb load inside the commands that need them (run/config and
# run/launch, report), so help, list, status and config errors answer at once.

app = typer.Typer(
    help="Re-implement ML papers in three gated stages and put your numbers beside the paper's.\n\n"
         "Typical path: workbench fetch <arXiv id> -> workbench claims <paper> -> workbench run <paper> stage=prototype -> "
         "workbench run <paper> stage=reproduction -m seed=0,1,2 -> workbench report <paper>.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
DEBUG = {"on": False}


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    DEBUG["on"] = debug


RUN_HELP = """Train a paper's experiment from its Hydra configs; every run gets its own folder.

[bold]Overrides[/] are Hydra's: [cyan]stage=reproduction model=cnn trainer.max_steps=500 optim.lr=3e-3
logger=wandb debug=fast[/]. [cyan]-m[/] sweeps comma lists (one run per combination):
[cyan]workbench run mnist1d stage=reproduction -m model=logistic,mlp,cnn,gru data=standard,shuffled seed=0,1,2[/].
[cyan]--cfg job[/] prints the composed config without running.

Stages: [cyan]stage=component[/] runs the paper's component tests (gate 1); [cyan]stage=prototype[/] a
small fast run whose loss must fall (gate 2); [cyan]stage=reproduction[/] the paper's recipe (gate 3).
Runs land in reproductions/<paper>/runs/<stage>/<time>-<id>/.
"""


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, help=RUN_HELP)
def run(ctx: typer.Context, paper: str = typer.Argument(..., help="Paper folder name (or arXiv id).")) -> None:
    from workbench.run.config import set_project_root, split_run_args, validate_run
    from workbench.run.launch import launch

    root = project_root()
    found = find_paper(root, paper)
    set_project_root(root)
    args = split_run_args(list(ctx.args))
    jobs = [] if args.prints_config else validate_run(found.conf_dir, args.overrides, args.multirun)
    for runs_dir in sorted({str(job.paths.runs_dir) for job in jobs}):
        ensure_writable_folder(Path(runs_dir), "the runs folder")
    outcomes = launch(root, found, args.flags, args.overrides, n_jobs=len(jobs))
    if not args.prints_config:
        finish_runs(outcomes)


FETCH_HELP = """Fetch a paper from arXiv and scaffold papers/<name>/ for the three stages.

Downloads metadata, PDF, LaTeX source and BibTeX (cached in ~/.cache/workbench/arxiv, or
$WORKBENCH_CACHE, so a second fetch needs no network), then writes paper.yaml, CHECKLIST.md
(reading questions plus one item per section), claims.yaml (candidates read from the LaTeX
tables), deviations.yaml, code skeletons, conf/ and skipped tests.

Ids: [cyan]2011.14439[/], [cyan]2011.14439v2[/], [cyan]arXiv:2011.14439[/], abs/ or pdf/ URLs, [cyan]hep-th/9901001[/].
Fetching again updates paper.yaml and paper/ and never overwrites a file you changed
([cyan]--force[/] regenerates those after a backup in .workbench-backup/).
Offline: [cyan]workbench fetch --from paper-src.tar.gz --id 1906.01563[/] (a .tar.gz, .gz, .tex or .pdf).
"""


@app.command(help=FETCH_HELP)
def fetch(
    paper_id: Optional[str] = typer.Argument(None, metavar="ARXIV_ID", help="arXiv id or abs/pdf URL."),
    name: Optional[str] = typer.Option(None, "--name", help="Folder name under papers/ (a Python identifier, e.g. hnn)."),
    from_file: Optional[Path] = typer.Option(None, "--from", help="A local .tar.gz/.gz/.tex/.pdf instead of downloading."),
    id_option: Optional[str] = typer.Option(None, "--id", help="The arXiv id of the --from file."),
    refresh: bool = typer.Option(False, "--refresh", help="Ask arXiv for a newer version even if one is cached."),
    force: bool = typer.Option(False, "--force", help="Regenerate files you changed (after backing them up)."),
) -> None:
    from workbench.fetch.scaffold import fetch_paper, fetch_root

    if paper_id and id_option and paper_id != id_option:
        raise UserError(f"two ids given ({paper_id} and --id {id_option}); give one")
    if id_option and from_file is None:
        raise UserError("--id goes with --from <file>; to download, give the id alone: workbench fetch <id>")
    if from_file is not None and not (paper_id or id_option):
        raise UserError(f"--from {from_file} needs the paper's arXiv id: add --id <id>")
    done = fetch_paper(fetch_root(err.print), paper_id or id_option, name, from_file, refresh, force, say=err.print)
    verb = "created" if done.created else "updated"
    console.print(f"[bold]{verb} papers/{done.name}[/] · arXiv {done.arxiv} · {escape(done.title)}")
    console.print(f"  source: {done.source}; {done.n_sections} sections, {done.n_tables} tables, "
                  f"{done.n_candidates} claim candidates, {done.n_unparsed} cells not read as numbers")
    for rel in done.kept:
        console.print(f"  [yellow]kept your {rel}[/] (changed since fetch wrote it; --force regenerates it after a backup)")
    if done.backup:
        console.print(f"  backed up your changed files to {done.backup}")
    console.print(f"next: $EDITOR papers/{done.name}/CHECKLIST.md, then `workbench claims {done.name}`")


@app.command(help="List a paper's claims (candidates read from its LaTeX tables, and confirmed ones) with table, "
                  "row, column and source line. [cyan]workbench claims hnn --confirm table1.spring.hnn table1.pendulum.hnn[/] "
                  "marks candidates confirmed in claims.yaml (or edit the file by hand).")
def claims(
    paper: str = typer.Argument(..., help="Paper folder name (or arXiv id)."),
    confirm: Optional[list[str]] = typer.Option(None, "--confirm", help="Claim id(s) to mark confirmed; more ids may follow it."),
    more_ids: Optional[list[str]] = typer.Argument(None, metavar="MORE_IDS", hidden=True),
) -> None:
    from workbench.claims import review as candidates

    found = find_paper(project_root(), paper)
    if more_ids and not confirm:
        raise UserError(f"unexpected arguments {' '.join(more_ids)}; to confirm claims use --confirm <id> ...")
    if confirm:
        candidates.confirm_and_report(console, found, [*confirm, *(more_ids or [])])
    else:
        candidates.show(console, found)


@app.command(help="Continue a killed or interrupted run in its own folder, to the same final numbers.")
def resume(run_dir: Path = typer.Argument(..., help="The run folder, e.g. reproductions/mnist1d/runs/reproduction/20261123-101500-a1b2c3.")) -> None:
    from workbench.run.config import set_project_root
    from workbench.run.runner import resume_run

    root = project_root()
    set_project_root(root)
    outcome = resume_run(root, run_dir.resolve())
    finish_runs([outcome])


REPORT_HELP = """Write reproductions/<paper>/REPORT.md, report.html, comparison.json, figures/ and evidence/ from the runs.

A run answers a claim only on the recipe (its config differs from the stage's composed config only in
seed, device, threads, logger, launcher, paths and claims.yaml's [cyan]allow[/]), and only the runs of one
commit count: the one whose runs answer the most claims. evidence/ keeps the files of every run the
report names, so a fresh clone (no runs/) regenerates the same report.

[cyan]--stage[/] picks the stage compared (default reproduction); [cyan]--allow-dirty[/] counts runs made
with uncommitted changes (the headline says so); when the runs found answer fewer claims than the
comparison.json already there, nothing is written and the command fails, unless [cyan]--force[/].
[cyan]--publish[/] also sends the report to W&B (offline unless [cyan]--online[/] and a key), [cyan]--dry-run[/]
writes what would be sent to publish/wandb_spec.json instead, [cyan]--mlflow[/] mirrors it to MLflow,
[cyan]--all[/] reports every paper and writes reproductions/INDEX.md and index.html.
"""


@app.command(help=REPORT_HELP)
def report(
    paper: Optional[str] = typer.Argument(None, help="Paper folder name (or arXiv id)."),
    all_papers: bool = typer.Option(False, "--all", help="Every paper, and an index of claims reproduced."),
    publish: bool = typer.Option(False, "--publish", help="Also publish to W&B (offline by default)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --publish: write the W&B spec, send nothing."),
    online: bool = typer.Option(False, "--online", help="With --publish: upload now (needs `wandb login`)."),
    mlflow: bool = typer.Option(False, "--mlflow", help="Also log the report to MLflow (publish/mlruns)."),
    stage: str = typer.Option("reproduction", "--stage", help="The stage whose runs answer the claims."),
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="Count runs made with uncommitted changes."),
    force: bool = typer.Option(False, "--force", help="Write the report even if it answers fewer claims than the one there."),
) -> None:
    from workbench.report.write import write_report

    root = project_root()
    if all_papers == bool(paper):
        raise UserError("name one paper (`workbench report mnist1d`) or pass --all, not both or neither")
    papers = list_papers(root) if all_papers else [find_paper(root, paper)]
    for found in papers:
        repro_dir = found.repro_dir(root)
        comparison = write_report(found.dir, repro_dir, stage, allow_dirty=allow_dirty, force=force)
        for warning in comparison.get("warnings", []):
            err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        console.print(status_mod.verdict_table(comparison["claims"]))
        summary = comparison["summary"]
        console.print(f"[bold]{found.name}: {summary['reproduced']} of {summary['total']} claims reproduced[/]")
        console.print(f"wrote REPORT.md, report.html, comparison.json, figures/ and evidence/ in {repro_dir}")
        if publish or dry_run:
            print_published(repro_dir, comparison, online=online, dry_run=dry_run)
        if mlflow:
            print_mlflow(repro_dir, comparison)
    if all_papers:
        from workbench.report.export import write_index

        md_path, html_path, _ = write_index(root, [p.name for p in papers])
        console.print(f"wrote {md_path} and {html_path}")


def print_published(repro_dir: Path, comparison: dict, *, online: bool, dry_run: bool) -> None:
    from workbench.report.publish import publish

    result = publish(repro_dir, comparison, online=online, dry_run=dry_run)
    for message in result.messages:
        err.print(f"[yellow]warning:[/] {escape(message)}" if result.mode != "dry-run" else escape(message), highlight=False)
    if result.sync_command:
        console.print(f"W&B report run written offline to {result.path}; upload it with:\n  {result.sync_command}")
    elif result.mode == "online":
        console.print(f"W&B report run uploaded" + (f"; report: {result.report_url}" if result.report_url else ""))


def print_mlflow(repro_dir: Path, comparison: dict) -> None:
    from workbench.report.publish import publish_report_to_mlflow

    try:
        uri = publish_report_to_mlflow(repro_dir, comparison)
    except Exception as exc:  # the local report is written; MLflow trouble is only reported
        err.print(f"[yellow]warning:[/] MLflow publish failed ({type(exc).__name__}: {escape(str(exc))[:200]}); "
                  f"the local report is complete", highlight=False)
        return
    console.print(f"report logged to MLflow at {uri}")


@app.command(help="Export a paper's reproduced claims for other tools: --format hf writes Hugging Face model-index YAML.")
def export(
    paper: str = typer.Argument(..., help="Paper folder name (or arXiv id)."),
    fmt: str = typer.Option("hf", "--format", help="Only 'hf' so far: export/hf/model-index.yaml."),
) -> None:
    from workbench.report.export import write_hf_export

    if fmt != "hf":
        raise UserError(f"--format {fmt}: unknown format; the only one is 'hf' (Hugging Face model-index YAML)")
    root = project_root()
    found = find_paper(root, paper)
    path, n = write_hf_export(found.repro_dir(root))
    console.print(f"wrote {path} ({n} reproduced claim(s))")


@app.command(help="Checklist progress, stage gates and claim verdicts, for one paper or all.")
def status(paper: Optional[str] = typer.Argument(None, help="Paper folder name; all papers when left out.")) -> None:
    root = project_root()
    papers = [find_paper(root, paper)] if paper else list_papers(root)
    for found in papers:
        console.print(status_mod.render(root, found))


@app.command("list", help="The papers in papers/, with their arXiv ids and stages reached.")
def list_cmd() -> None:
    root = project_root()
    table = Table("paper", "arXiv", "title", "runs", title=f"papers in {root / 'papers'}")
    for found in list_papers(root):
        runs = status_mod.count_runs(found.repro_dir(root) / "runs")
        table.add_row(found.name, found.arxiv_id or "-", found.title, ", ".join(f"{k} {v}" for k, v in runs.items()) or "none")
    console.print(table)


def finish_runs(outcomes: list["RunOutcome"]) -> None:
    bad = [o for o in outcomes if not o.ok]
    if len(outcomes) > 1:
        err.print(f"{len(outcomes) - len(bad)} of {len(outcomes)} runs completed")
    if bad or not outcomes:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except UserError as exc:
        if DEBUG["on"]:
            traceback.print_exc()
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
