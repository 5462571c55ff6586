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

from workbench.console import stderr as err
from workbench.console import stdout as console
from workbench.errors import UserError
from workbench.project import find_paper, list_papers, project_root
from workbench.run.overrides_help import complete_paper, complete_run_override, config_groups_table

if TYPE_CHECKING:
    from workbench.run.record import RunOutcome

# Only typer, rich and workbench's small modules load at start (benchmarks/cli_startup.py);
# Hydra, torch, matplotlib and wandb load inside the commands that need them (run/config and
# run/launch, report), so help, list, status and config errors answer at once.

app = typer.Typer(
    help="Re-implement ML papers in three gated stages and put your numbers beside the paper's.\n\n"
         "Typical path: workbench fetch <arXiv id> -> workbench claims <paper> -> workbench run <paper> stage=prototype -> "
         "workbench run <paper> stage=reproduction -m seed=0,1,2 -> workbench report <paper>. "
         "Start a papers repository of your own with workbench init <folder>.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
DEBUG = {"on": False}


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"workbench {version('workbench')}")
        raise typer.Exit()


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print workbench's version and exit."),
) -> None:
    DEBUG["on"] = debug


RUN_HELP = """Train a paper's experiment from its Hydra configs; every run gets its own folder.

[bold]Overrides[/] are Hydra's: [cyan]stage=reproduction model=cnn trainer.max_steps=500 optim.lr=3e-3
logger=wandb debug=fast[/]. [cyan]-m[/] sweeps comma lists (one run per combination):
[cyan]workbench run mnist1d stage=reproduction -m model=logistic,mlp,cnn,gru data=standard,shuffled seed=0,1,2[/].
[cyan]--cfg job[/] prints the composed config without running.

Stages: [cyan]stage=component[/] runs the paper's component tests (gate 1); [cyan]stage=prototype[/] a
small fast run whose loss must fall (gate 2); [cyan]stage=reproduction[/] the paper's recipe (gate 3).
Runs land in reproductions/<paper>/runs/<stage>/<time>-<id>/ (workbench picks the folder, so
[cyan]hydra.run.dir[/] and [cyan]hydra.sweep.dir[/] are ignored, with a warning).

[cyan]experiment=<name>[/] applies a preset from the paper's conf/experiment/ or workbench's shared
configs/experiment/ (e.g. [cyan]workbench run mnist1d -m experiment=table1[/]: the whole Table 1 sweep).
Other sweepers work too: [cyan]-m hydra/sweeper=optuna sweep.objective=test/acc 'optim.lr=interval(1e-4,1e-1)'[/]
(each job returns the metric [cyan]sweep.objective[/] names). Hydra's [cyan]--info[/], [cyan]--cfg job|hydra|all[/],
[cyan]--resolve[/] and [cyan]--package[/] work as in any Hydra app (with [cyan]-m[/], [cyan]--cfg job[/] prints every job's config).
Tab completes overrides as Hydra's [cyan]--shell-completion[/] would, once [cyan]workbench --install-completion[/] ran.
[cyan]workbench run <paper> --help[/] also lists the paper's config groups and their options.
"""


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
             help=RUN_HELP)
def run(
    ctx: typer.Context,
    paper: Optional[str] = typer.Argument(None, help="Paper folder name (or arXiv id).", autocompletion=complete_paper),
    overrides: Optional[list[str]] = typer.Argument(
        None, metavar="[OVERRIDES]...", show_default=False, autocompletion=complete_run_override,
        help="key=value overrides and Hydra's flags (-m, --cfg job, --info, ...); tab completes them."),
    show_help: bool = typer.Option(False, "--help", "-h", help="Show this message (and the paper's config groups) and exit."),
) -> None:
    if show_help or paper is None:
        typer.echo(ctx.get_help(), nl=False)
        if paper is not None:
            console.print(config_groups_table(paper))
        return
    from workbench.files import ensure_writable_folder
    from workbench.run.config import set_project_root, split_run_args
    from workbench.run.launch import launch, warn_ignored_overrides
    from workbench.run.sweep import check_command_line

    root = project_root()
    found = find_paper(root, paper)
    set_project_root(root)
    args = split_run_args([*(overrides or []), *ctx.args])
    warn_ignored_overrides(args.overrides)
    plan = check_command_line(found.conf_dir, args)
    for runs_dir in sorted({str(job.paths.runs_dir) for job in plan.jobs}):
        ensure_writable_folder(Path(runs_dir), "the runs folder")
    outcomes = launch(root, found, args.flags, args.overrides, plan)
    if not args.prints_config:
        finish_runs(outcomes)


FETCH_HELP = """Fetch a paper from arXiv and scaffold papers/<name>/ for the three stages.

Downloads metadata, PDF, LaTeX source and BibTeX (cached in ~/.cache/workbench/arxiv, or
$WORKBENCH_CACHE, so a second fetch needs no network; a silent server is waited for
$WORKBENCH_ARXIV_TIMEOUT seconds, default 30), then writes paper.yaml, CHECKLIST.md
(reading steps, then the paper's sections, evaluation protocol, hyperparameters, equations,
tables, figures and code), claims.yaml (candidates read from the LaTeX tables), recipe.yaml
(the training hyperparameters the paper states, each citing its line; conf/stage/reproduction.yaml
is pre-filled from it), deviations.yaml, code skeletons, conf/ and skipped tests.

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


CLAIMS_HELP = """List a paper's claims (candidates read from its LaTeX tables, and confirmed ones), table by table,
with row, column, value and source line; [cyan]--unread[/] also lists the cells not read as numbers.

[cyan]--confirm[/] and [cyan]--reject[/] take ids, globs or blocks (a table or a row: every claim under it), and more may
follow: [cyan]workbench claims hnn --confirm 'table1.*.test_loss_hnn'[/]. With [cyan]--confirm[/], [cyan]--metric[/],
[cyan]--tolerance[/] (paper_std:<k>, abs:<width>, rel:<fraction>) and [cyan]--select[/] (a template filled from each
claim's row and column: [cyan]--select 'model={row},data={column}'[/]) set those fields too.
Schema: docs/claims.md.
"""


@app.command(help=CLAIMS_HELP)
def claims(
    paper: str = typer.Argument(..., help="Paper folder name (or arXiv id)."),
    confirm: Optional[list[str]] = typer.Option(None, "--confirm", help="Claim ids, globs or blocks to mark confirmed."),
    reject: Optional[list[str]] = typer.Option(None, "--reject", help="Claim ids, globs or blocks to mark rejected."),
    metric: Optional[str] = typer.Option(None, "--metric", help="With --confirm: the summary.json metric they compare."),
    tolerance: Optional[str] = typer.Option(None, "--tolerance", help="With --confirm: paper_std:2, abs:0.5 or rel:0.05."),
    select: Optional[str] = typer.Option(None, "--select", help="With --confirm: e.g. 'model={row},data={column}'."),
    unread: bool = typer.Option(False, "--unread", help="Also list the table cells not read as numbers."),
    more_ids: Optional[list[str]] = typer.Argument(None, metavar="MORE_IDS", hidden=True),
) -> None:
    from workbench.claims import review as candidates

    found = find_paper(project_root(), paper)
    if more_ids and not (confirm or reject):
        raise UserError(f"unexpected arguments {' '.join(more_ids)}; to confirm claims use --confirm <id> ...")
    if more_ids and confirm and reject:
        raise UserError(f"with both --confirm and --reject, repeat the option before each of {' '.join(more_ids)}")
    if confirm or reject:
        extra = list(more_ids or [])
        asked = candidates.Review(confirm=[*(confirm or []), *(extra if confirm else [])],
                                  reject=[*(reject or []), *(extra if not confirm else [])],
                                  metric=metric, tolerance=tolerance, select=select)
        candidates.review_and_report(console, found, asked)
    elif metric or tolerance or select:
        raise UserError("--metric, --tolerance and --select set fields of the claims you --confirm; add --confirm <ids>")
    else:
        candidates.show(console, found, unread=unread)


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
[cyan]--publish[/] also sends the report to W&B (offline unless [cyan]--online[/] and a key; to the training
runs' project and entity unless [cyan]--project[/]/[cyan]--entity[/]), [cyan]--dry-run[/] writes what would be
sent to publish/wandb_spec.json instead, [cyan]--mlflow[/] logs it to the training runs' MLflow store
(reproductions/mlflow.db unless [cyan]--tracking-uri[/]), [cyan]--all[/] reports every paper and writes
reproductions/INDEX.md and index.html.
"""


@app.command(help=REPORT_HELP)
def report(
    paper: Optional[str] = typer.Argument(None, help="Paper folder name (or arXiv id)."),
    all_papers: bool = typer.Option(False, "--all", help="Every paper, and an index of claims reproduced."),
    publish: bool = typer.Option(False, "--publish", help="Also publish to W&B (offline by default)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --publish: write the W&B spec, send nothing."),
    online: bool = typer.Option(False, "--online", help="With --publish: upload now (needs `wandb login`)."),
    mlflow: bool = typer.Option(False, "--mlflow", help="Also log the report to MLflow (the training runs' store)."),
    wandb_project: Optional[str] = typer.Option(None, "--project", help="With --publish: the W&B project (default: the runs')."),
    wandb_entity: Optional[str] = typer.Option(None, "--entity", help="With --publish: the W&B entity (default: the runs')."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="With --mlflow: the MLflow store (default: the runs')."),
    stage: str = typer.Option("reproduction", "--stage", help="The stage whose runs answer the claims."),
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="Count runs made with uncommitted changes."),
    force: bool = typer.Option(False, "--force", help="Write the report even if it answers fewer claims than the one there."),
) -> None:
    from workbench.report.write import write_report
    from workbench.status import verdict_table

    root = project_root()
    if all_papers == bool(paper):
        raise UserError("name one paper (`workbench report mnist1d`) or pass --all, not both or neither")
    papers = list_papers(root) if all_papers else [find_paper(root, paper)]
    failed = []
    for found in papers:
        repro_dir = found.repro_dir(root)
        try:
            comparison = write_report(found.dir, repro_dir, stage, allow_dirty=allow_dirty, force=force)
        except UserError as exc:
            if not all_papers:
                raise
            err.print(f"[red]error:[/] {escape(found.name)}: {escape(str(exc))}", highlight=False)  # --all goes on
            failed.append(found.name)
            continue
        for warning in comparison.get("warnings", []):
            err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        console.print(verdict_table(comparison["claims"]))
        summary = comparison["summary"]
        console.print(f"[bold]{found.name}: {summary['reproduced']} of {summary['total']} claims reproduced[/]")
        console.print(f"wrote REPORT.md, report.html, comparison.json, figures/ and evidence/ in {repro_dir}")
        if publish or dry_run:
            print_published(found.dir, repro_dir, comparison, online=online, dry_run=dry_run,
                            project=wandb_project, entity=wandb_entity)
        if mlflow:
            print_mlflow(found.dir, repro_dir, comparison, tracking_uri)
    if all_papers:
        from workbench.report.export import write_index

        md_path, html_path, _ = write_index(root, [p.name for p in papers])
        console.print(f"wrote {md_path} and {html_path}")
        if failed:
            raise UserError(f"{len(failed)} of {len(papers)} papers could not be reported ({', '.join(failed)}; "
                            f"their errors are above); fix them and run `workbench report --all` again")


def print_published(paper_dir: Path, repro_dir: Path, comparison: dict, *, online: bool, dry_run: bool,
                    project: Optional[str], entity: Optional[str]) -> None:
    from workbench.report.publish import publish

    result = publish(repro_dir, comparison, paper_dir=paper_dir, online=online, dry_run=dry_run,
                     project=project, entity=entity)
    for message in result.messages:
        err.print(f"[yellow]warning:[/] {escape(message)}" if result.mode != "dry-run" else escape(message), highlight=False)
    if result.sync_command:
        console.print(f"W&B report run written offline to {result.path}; upload it with:\n  {result.sync_command}\n"
                      f"or every offline run of the paper with:\n  workbench sync {comparison['paper']['name']}")
    elif result.mode == "online":
        console.print("W&B report run uploaded" + (f"; report: {result.report_url}" if result.report_url else ""))


def print_mlflow(paper_dir: Path, repro_dir: Path, comparison: dict, tracking_uri: Optional[str]) -> None:
    from workbench.report.publish_mlflow import publish_report_to_mlflow

    try:
        uri = publish_report_to_mlflow(repro_dir, comparison, tracking_uri, paper_dir=paper_dir)
    except Exception as exc:  # the local report is written; MLflow trouble is only reported
        err.print(f"[yellow]warning:[/] MLflow publish failed ({type(exc).__name__}: {escape(str(exc))[:200]}); "
                  f"the local report is complete", highlight=False)
        return
    console.print(f"report logged to MLflow at {uri}")


SYNC_HELP = """Upload every W&B offline run of a paper (training runs and published report) in one `wandb sync`.

A run made with [cyan]logger=wandb[/] (offline by default) keeps its W&B run in its folder's wandb/; this
finds each one not uploaded yet and uploads them oldest first. Needs a W&B key ([cyan]wandb login[/] or
WANDB_API_KEY). [cyan]--project[/]/[cyan]--entity[/] upload into another project or entity; [cyan]--dry-run[/]
lists the runs and shows what wandb would do, uploading nothing. docs/tracking.md has more.
"""


@app.command(help=SYNC_HELP)
def sync(
    paper: str = typer.Argument(..., help="Paper folder name (or arXiv id)."),
    project: Optional[str] = typer.Option(None, "--project", help="Upload into this W&B project instead."),
    entity: Optional[str] = typer.Option(None, "--entity", help="Upload into this W&B entity instead."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the offline runs; upload nothing."),
) -> None:
    import subprocess

    import importlib.util

    from workbench.extras import missing_extra_message
    from workbench.files import shown_path
    from workbench.tracking.wandb import has_wandb_key, offline_runs, sync_command

    root = project_root()
    found = find_paper(root, paper)
    if importlib.util.find_spec("wandb") is None:
        raise UserError(missing_extra_message("wandb"))
    runs = offline_runs(found.repro_dir(root))
    if not runs:
        console.print(f"no W&B offline runs of {found.name} left to upload")
        return
    if not dry_run and not has_wandb_key():
        raise UserError(f"{len(runs)} W&B offline run(s) of {found.name} wait to be uploaded but there is no W&B key; "
                        f"run `wandb login` (or set WANDB_API_KEY), then `workbench sync {found.name}`")
    console.print(f"{len(runs)} W&B offline run(s) of {found.name}:")
    for run in runs:
        console.print(f"  {shown_path(run)}", soft_wrap=True, highlight=False)
    console.file.flush()  # before wandb's own lines
    proc = subprocess.run(sync_command(runs, project=project, entity=entity, dry_run=dry_run), stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise UserError(f"wandb sync failed (exit {proc.returncode}, its messages are above); the offline runs are "
                        f"kept: run `workbench sync {found.name}` again")
    console.print("dry run: nothing was uploaded" if dry_run else f"uploaded {len(runs)} run(s)")


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
    from workbench import status as status_mod

    root = project_root()
    papers = [find_paper(root, paper)] if paper else list_papers(root)
    for found in papers:
        console.print(status_mod.render(root, found))


@app.command("list", help="The papers in papers/, with their arXiv ids and stages reached.")
def list_cmd() -> None:
    from rich.table import Table

    from workbench.status import count_runs

    root = project_root()
    table = Table("paper", "arXiv", "title", "runs", title=f"papers in {root / 'papers'}")
    for found in list_papers(root):
        runs = count_runs(found.repro_dir(root) / "runs")
        table.add_row(found.name, found.arxiv_id or "-", found.title, ", ".join(f"{k} {v}" for k, v in runs.items()) or "none")
    console.print(table)


INIT_HELP = """Start a papers repository of your own in FOLDER (new, or empty).

Writes papers/ (fetch papers into it), configs/ with an experiment preset, pyproject.toml
depending on workbench, .gitignore (runs stay out of git), a CI workflow
(.github/workflows/workbench.yml) running your papers' gates and tests, and a README.
Then: [cyan]cd FOLDER && workbench fetch <arXiv id>[/].
"""


@app.command("init", help=INIT_HELP)
def init_cmd(
    folder: Path = typer.Argument(..., metavar="FOLDER", help="The new repository's folder."),
    name: Optional[str] = typer.Option(None, "--name", help="Project name in pyproject.toml (default: the folder's name)."),
) -> None:
    from workbench.init import init_repository

    made = init_repository(folder, name)
    console.print(f"[bold]started papers repository {made.name}[/] in {made.folder}")
    for rel in made.files:
        console.print(f"  {rel}")
    console.print(f"next: cd {made.folder} && git init && workbench fetch <arXiv id>")


def finish_runs(outcomes: list["RunOutcome"]) -> None:
    bad = [o for o in outcomes if not o.ok]
    if len(outcomes) > 1:
        from workbench.run.launch import sweep_table

        title, table = sweep_table(outcomes)
        console.print(title, highlight=False)
        console.print(table)
        err.print(f"{len(outcomes) - len(bad)} of {len(outcomes)} runs completed")
    if bad or not outcomes:
        raise typer.Exit(1)


def main() -> None:
    try:
        app(prog_name="workbench")  # also under `python -m workbench`: usage lines and the completion variable
    except UserError as exc:
        fail(str(exc))
    except ModuleNotFoundError as exc:
        from workbench.extras import is_optional, missing_extra_message

        if not is_optional(exc.name):
            raise
        fail(missing_extra_message(str(exc.name)))


def fail(message: str) -> None:
    """One line `error: ...` and exit 1 (`--debug` shows the traceback first)."""
    if DEBUG["on"]:
        traceback.print_exc()
    err.print(f"[red]error:[/] {escape(message)}", highlight=False)
    sys.exit(1)


if __name__ == "__main__":
    main()
