"""`workbench fetch`: a paper's files from arXiv (or a local file) → papers/<name>/, ready for stage 1.

A new folder is assembled next to its final place and renamed in, so it exists whole or not at
all. Fetching again refreshes paper.yaml's arXiv fields and paper/ (the PDF, the source, the
table read-out); every other file is regenerated only if the user has not changed it since it
was written (its sha256 is kept in .workbench-scaffold.json). `force` regenerates changed files
too, after copying them to .workbench-backup/<time>/.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from workbench.fetch import eprint
from workbench.fetch import latex
from workbench.fetch.checklist import PaperItems, no_source_items, paper_items, section_numbers
from workbench.fetch.frontmatter import code_url, paper_title
from workbench.fetch.recipe import RecipeEntry, read_recipe, recipe_yaml, reproduction_yaml
from workbench.fetch.arxiv import ArxivId, CachedPaper, fetch_to_cache, parse_id, sha256_file
from workbench.errors import UserError
from workbench.files import atomic_write_json, atomic_write_text, filled_templates
from workbench.project import list_papers, project_root, read_paper_yaml

MANIFEST = ".workbench-scaffold.json"
BACKUPS = ".workbench-backup"
NAME = re.compile(r"[a-z][a-z0-9_]*")
# paper.yaml keys that come from arXiv and are refreshed on every fetch; the user owns the rest.
ARXIV_FIELDS = ("arxiv_id", "version", "title", "authors", "year", "published", "updated", "primary_category",
                "doi", "journal_ref", "abs_url", "pdf_url", "mirror", "abstract", "bibtex", "files", "fetched_at")


@dataclass
class Fetched:
    """What a fetch did, for the CLI to print."""

    name: str
    dir: Path
    arxiv: str
    title: str
    created: bool
    n_sections: int = 0
    n_tables: int = 0
    n_candidates: int = 0
    n_unparsed: int = 0
    source: str = "none"
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    backup: Path | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Material:
    """Everything a paper folder is built from: metadata and the files that go into paper/."""

    meta: dict[str, Any]
    pdf: Path | None
    eprint: Path | None
    bibtex: Path | None


def fetch_paper(root: Path, id_text: str | None, name: str | None = None, from_file: Path | None = None,
                refresh: bool = False, force: bool = False, say: Callable[[str], None] = print) -> Fetched:
    """The whole `workbench fetch`: download (or take the local file), then scaffold or update."""
    if id_text is None:
        raise UserError("give an arXiv id, e.g. `workbench fetch 2011.14439` (with --from, `--id 2011.14439`)")
    paper_id = parse_id(id_text)  # a malformed id stops here, before any request
    if name is not None:
        check_name(name)
    folder = _existing_folder(root, paper_id, name)
    if folder is None and name is not None:
        _check_target_free(root / "papers" / name)  # before any download
    if from_file is not None:
        material = _local_material(from_file, paper_id)
    else:
        material = _cached_material(fetch_to_cache(paper_id, refresh=refresh, say=say))
    try:
        done = _scaffold(root, material, folder, name, force)
    except OSError as exc:
        where = exc.filename or root / "papers"
        raise UserError(f"cannot write {where} ({exc.strerror}); free some space or check permissions, then fetch again") from None
    if done.warnings:  # one line, however many bounds the reader hit
        say("warning: " + "; ".join(done.warnings))
    return done


def fetch_root(say: Callable[[str], None] = print) -> Path:
    """The project folder; outside any project, the working folder becomes one (papers/ is made
    on the first fetch), so `workbench fetch` is also how a new project starts."""
    try:
        return project_root()
    except UserError:
        if os.environ.get("WORKBENCH_ROOT"):
            raise
        here = Path.cwd()
        say(f"no papers/ folder in {here} or above: starting a workbench project here")
        return here


MAX_NAME = 64  # a folder name, a Python package name and part of every run's W&B name


def check_name(name: str) -> None:
    if len(name) > MAX_NAME:
        raise UserError(f"--name is {len(name)} characters long; a paper folder name has at most {MAX_NAME} "
                        f"(e.g. hnn or mnist1d)")
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise UserError(
            f"--name '{name}' is not a valid paper folder name; use lowercase letters, digits and "
            "underscores, starting with a letter (a Python identifier, e.g. hnn or mnist1d)"
        )


def default_name(meta: dict[str, Any]) -> str:
    """From the title's first words (hamiltonian_neural_networks), else from the id (arxiv_1906_01563)."""
    words = re.findall(r"[a-z0-9]+", (meta.get("title") or "").lower())
    name = ""
    for word in words:
        if len(name) + len(word) + 1 > 32:
            break
        name = f"{name}_{word}" if name else word
    if not name:
        name = "arxiv_" + re.sub(r"[^a-z0-9]+", "_", meta["arxiv_id"].lower())
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"p_{name}"
    return name


def _existing_folder(root: Path, paper_id: ArxivId, name: str | None) -> Path | None:
    papers_dir = root / "papers"
    if papers_dir.exists() and not papers_dir.is_dir():
        raise UserError(f"{papers_dir} is a file, not a folder; move it away so workbench can put papers there")
    for paper in list_papers(root) if papers_dir.is_dir() else []:
        if paper.arxiv_id and parse_id_quietly(paper.arxiv_id) == paper_id.base:
            if name is not None and name != paper.name:
                raise UserError(f"arXiv {paper_id.base} is already papers/{paper.name}; "
                                f"run `workbench fetch {paper_id}` without --name to update it")
            return paper.dir
    return None


def parse_id_quietly(text: str) -> str | None:
    try:
        return parse_id(text).base
    except UserError:
        return None


def _cached_material(entry: CachedPaper) -> Material:
    return Material(dict(entry.meta), entry.path("paper.pdf"), entry.path("eprint"), entry.path("paper.bib"))


def _local_material(path: Path, paper_id: ArxivId) -> Material:
    """--from: a local .tar.gz / .gz / .tex / .pdf; the metadata is what the file itself says."""
    if not path.is_file():
        raise UserError(f"--from {path}: no such file; give a .tar.gz, .gz, .tex or .pdf of the paper")
    with path.open("rb") as handle:
        head = handle.read(512)
    meta = {"arxiv_id": paper_id.base, "version": paper_id.version, "title": None, "authors": [], "year": None,
            "abs_url": f"https://arxiv.org/abs/{paper_id}", "pdf_url": f"https://arxiv.org/pdf/{paper_id}",
            "local_source": str(path)}
    is_pdf = eprint.detect_kind(head) == "pdf"
    return Material(meta, path if is_pdf else None, None if is_pdf else path, None)


# ---------------------------------------------------------------- building the folder


def _scaffold(root: Path, material: Material, existing: Path | None, name: str | None, force: bool) -> Fetched:
    _canonical_links(material.meta)
    papers_dir = root / "papers"
    papers_dir.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=papers_dir, prefix=".fetch-", suffix=".tmp"))
    try:
        reading = _build_paper_dir(material, staging / "paper")
        meta = material.meta
        if not meta.get("title"):
            meta["title"] = reading.title or f"arXiv {meta['arxiv_id']}"
        if existing is None:
            name = name or default_name(meta)
            target = papers_dir / name
            _check_target_free(target)
        else:
            name, target = existing.name, existing
        arxiv = _arxiv_label(meta)
        result = Fetched(name, target, arxiv, meta["title"], existing is None, len(reading.sections),
                         len(reading.tables), reading.n_candidates, reading.n_unparsed, reading.source_kind,
                         warnings=reading.warnings)
        files = _generated_files(name, meta, reading)
        paper_yaml = _paper_yaml(target / "paper.yaml", name, meta, staging / "paper", existing is not None,
                                 reading.code_url)
        if existing is None:
            for rel, text in files.items():
                _write_new(staging / rel, text)
            atomic_write_text(staging / "paper.yaml", paper_yaml)
            _write_manifest(staging, {rel: _sha(text) for rel, text in files.items()})
            if target.is_dir():
                target.rmdir()  # an empty folder the user made: _check_target_free allowed it
            os.replace(staging, target)
            result.written = sorted(files)
        else:
            _update_existing(target, files, paper_yaml, staging / "paper", force, result)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return result


def _canonical_links(meta: dict[str, Any]) -> None:
    """arxiv.org's links in every file written, even for a cache entry a mirror filled; the mirror
    that served it is kept apart, under `mirror`."""
    label = _arxiv_label(meta)
    for key, kind in (("abs_url", "abs"), ("pdf_url", "pdf")):
        url = meta.get(key)
        canonical = f"https://arxiv.org/{kind}/{label}"
        if url and url != canonical and "mirror" not in meta:
            meta["mirror"] = url.split(f"/{kind}/")[0]
        meta[key] = canonical


def _check_target_free(target: Path) -> None:
    if target.is_file() or target.is_symlink():
        raise UserError(f"{target} is a file, not a folder; move it or choose another --name")
    if target.is_dir():
        meta_path = target / "paper.yaml"
        if meta_path.is_file():
            other = read_paper_yaml(meta_path).get("arxiv_id")
            raise UserError(f"{target} already holds another paper (arXiv {other}); choose another --name")
        if any(target.iterdir()):
            raise UserError(f"{target} exists and is not a paper folder; move it or choose another --name")


def _arxiv_label(meta: dict[str, Any]) -> str:
    return meta["arxiv_id"] + (f"v{meta['version']}" if meta.get("version") else "")


@dataclass
class Reading:
    """What the LaTeX says: title, sections, tables, claim candidates."""

    title: str | None = None
    sections: list[latex.Section] = field(default_factory=list)
    tables: list[latex.TableResult] = field(default_factory=list)
    source_kind: str = "none"
    main_tex: str | None = None
    warnings: list[str] = field(default_factory=list)  # bounds the reader hit, one line each
    recipe: list[RecipeEntry] = field(default_factory=list)
    items: PaperItems = field(default_factory=no_source_items)
    code_url: str | None = None
    cited_sections: dict[tuple[str, int], str] = field(default_factory=dict)  # (file, line) → section number

    @property
    def n_candidates(self) -> int:
        return sum(len(t.candidates) for t in self.tables)

    @property
    def n_unparsed(self) -> int:
        return sum(len(t.unparsed) for t in self.tables)


def _build_paper_dir(material: Material, paper_dir: Path) -> Reading:
    """paper/: the PDF, the e-print as downloaded, the unpacked source, BibTeX, tables.json."""
    paper_dir.mkdir()
    reading = Reading()
    if material.pdf is not None:
        shutil.copyfile(material.pdf, paper_dir / "paper.pdf")
    if material.bibtex is not None:
        shutil.copyfile(material.bibtex, paper_dir / "paper.bib")
    if material.eprint is not None:
        kind = eprint.unpack_source(material.eprint, paper_dir / "source")
        reading.source_kind = kind
        if kind == "pdf":  # a PDF-only paper: arXiv's e-print is the PDF itself
            if material.pdf is None:
                shutil.copyfile(material.eprint, paper_dir / "paper.pdf")
            (paper_dir / "source").rmdir()
        else:
            shutil.copyfile(material.eprint, paper_dir / f"source.{kind}")
            _read_latex(paper_dir, reading)
    return reading


def _read_latex(paper_dir: Path, reading: Reading) -> None:
    found = latex.read_source(paper_dir / "source")
    if found.main_tex is None:
        return
    reading.main_tex, reading.title, reading.warnings = found.main_tex, found.title, found.warnings
    reading.sections, reading.tables = found.sections, found.tables
    if found.document is not None:
        _read_prose(found.document, reading)
    atomic_write_json(paper_dir / "tables.json", {
        "main_tex": reading.main_tex,
        "tables": [{k: v for k, v in asdict(t).items() if k != "span"} for t in reading.tables],
    })


def _read_prose(doc: latex.Document, reading: Reading) -> None:
    """The recipe, the official code and the checklist's items from the paper's own text."""
    reading.title = paper_title(doc) or reading.title
    reading.recipe = read_recipe(doc)
    code = code_url(doc)
    reading.code_url = code[0] if code else None
    reading.items = paper_items(doc, reading.sections, reading.tables, reading.recipe, code)
    reading.cited_sections = section_numbers(doc, reading.sections)


def _generated_files(name: str, meta: dict[str, Any], reading: Reading) -> dict[str, str]:
    """Folder-relative path → text, for every file the templates make (not paper.yaml, paper/)."""
    values = {
        "name": name, "title": meta["title"], "arxiv": _arxiv_label(meta),
        "authors": ", ".join(meta.get("authors") or []) or "(authors unknown)",
        "abs_url": meta.get("abs_url") or "", "n_candidates": str(reading.n_candidates),
        **asdict(reading.items), "n_recipe": str(len(reading.recipe)),
    }
    files = filled_templates(resources.files("workbench") / "templates" / "paper", values)
    files["claims.yaml"] = claims_yaml(meta, reading)
    files["recipe.yaml"] = recipe_yaml(reading.recipe, meta["title"], _arxiv_label(meta))
    if reading.recipe:
        files["conf/stage/reproduction.yaml"] = reproduction_yaml(reading.recipe, reading.cited_sections)
    return files




def claims_yaml(meta: dict[str, Any], reading: Reading) -> str:
    arxiv = _arxiv_label(meta)
    entries = [latex.candidate_claim(c, arxiv) for t in reading.tables for c in t.candidates]
    header = (
        f"# Claims of \"{meta['title']}\" (arXiv {arxiv}).\n"
        "# Candidates were read from the LaTeX tables by `workbench fetch`. For each one you keep, check\n"
        "# metric (the key in a run's summary.json), goal (max|min), select (which runs answer it, e.g.\n"
        "# {model: cnn}) and tolerance: they are first guesses. Then set status: confirmed (or run\n"
        "# `workbench claims <paper> --confirm <id>`) or status: rejected. Only confirmed claims are\n"
        "# compared in reports.\n"
    )
    # the C emitter when libyaml is there: the pure-Python one takes seconds for a few hundred claims
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump({"claims": entries}, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    unparsed = [u for t in reading.tables for u in t.unparsed]
    if unparsed:
        body += "\n# Cells that could not be read as numbers (check them by hand):\n"
        body += "".join(f"#   table {u.table}, row {u.row!r}, column {u.column!r}: {u.text!r} ({u.file}:{u.line})\n"
                        for u in unparsed)
    return header + body


def _paper_yaml(path: Path, name: str, meta: dict[str, Any], paper_dir: Path, exists: bool,
                found_code_url: str | None = None) -> str:
    files = {f"paper/{p.name}": sha256_file(p) for p in sorted(paper_dir.iterdir()) if p.is_file()}
    bib = paper_dir / "paper.bib"
    fresh = {
        "name": name,
        **{k: meta.get(k) for k in ARXIV_FIELDS if k in meta},
        "bibtex": _clean_bibtex(bib) if bib.is_file() else None,
        "files": files,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if "local_source" in meta:
        fresh["local_source"] = meta["local_source"]
    data: dict[str, Any] = read_paper_yaml(path) if exists and path.is_file() else {}
    if exists:  # what this fetch does not know (an offline --from has no authors) keeps its old value
        fresh = {k: v for k, v in fresh.items() if v not in (None, [], "")}
    data.update(fresh)
    if "mirror" not in meta:
        data.pop("mirror", None)  # this fetch came from arxiv.org itself
    if not data.get("code_url"):  # the official code the paper links; a value the user set is kept
        data["code_url"] = found_code_url
    header = f"# Written by `workbench fetch {_arxiv_label(meta)}`; a new fetch refreshes the arXiv fields and keeps the rest.\n"
    return header + yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def _clean_bibtex(path: Path) -> str:
    """Trailing spaces stripped, so YAML can keep it as a readable `|` block."""
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n".join(line.rstrip() for line in lines) + "\n"


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the BibTeX) as `|` blocks, the way mnist1d's paper.yaml writes them."""


_BlockDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


# ---------------------------------------------------------------- re-fetching


def _update_existing(target: Path, files: dict[str, str], paper_yaml: str, new_paper_dir: Path, force: bool,
                     result: Fetched) -> None:
    manifest = _read_manifest(target)
    changed = [rel for rel in files if (target / rel).is_file() and _sha_file(target / rel) != manifest.get(rel)]
    if force and changed:
        result.backup = _backup(target, changed)
    hashes = dict(manifest)
    for rel, text in files.items():
        path = target / rel
        if rel in changed and not force:
            result.kept.append(rel)
            continue
        if not path.is_file() or _sha_file(path) != _sha(text):
            atomic_write_text(path, text)
            result.written.append(rel)
        hashes[rel] = _sha(text)
    atomic_write_text(target / "paper.yaml", paper_yaml)
    _swap_paper_dir(target / "paper", new_paper_dir)
    _write_manifest(target, hashes)


def _swap_paper_dir(old: Path, new: Path) -> None:
    """paper/ is replaced whole: the old one moves aside first, so a failure leaves one of them."""
    if old.exists():
        aside = old.with_name(f".paper-old-{os.getpid()}")
        os.replace(old, aside)
        os.replace(new, old)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(new, old)


def _backup(target: Path, rels: list[str]) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = target / BACKUPS / stamp
    for rel in rels:
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target / rel, dest)
    return folder


def _read_manifest(target: Path) -> dict[str, str]:
    try:
        data = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.get("generated", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}  # no record: every existing file counts as the user's


def _write_manifest(folder: Path, hashes: dict[str, str]) -> None:
    atomic_write_json(folder / MANIFEST, {
        "about": "sha256 of each file as `workbench fetch` wrote it; a file that differs is yours and is kept",
        "generated": dict(sorted(hashes.items())),
    })


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha_file(path: Path) -> str:
    return sha256_file(path)
