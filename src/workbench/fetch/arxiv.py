"""arXiv: id parsing, metadata (through the `arxiv` package), PDF/source/BibTeX downloads, cache.

Every request goes through `Http` (fetch/http.py): a timeout, retries with exponential backoff
on 429/5xx and connection errors (a server's Retry-After wins), and redirects followed only to
the configured hosts. Base URLs come from WORKBENCH_ARXIV_URL (abs/pdf/e-print/bibtex) and
WORKBENCH_ARXIV_API_URL (the Atom query endpoint), so tests and mirrors can point elsewhere.

A server that does not answer within WORKBENCH_ARXIV_TIMEOUT seconds (default 30) is given up
on at once, with a message saying so: a hung server is not retried. Each download is checked to
be what it should be (a PDF, an e-print archive or LaTeX, BibTeX; not an HTML error page or an
empty body) before it is cached, and an API answer to be a whole Atom feed (an empty or cut
one is asked again).

A fetched version is cached in <cache>/arxiv/<id>v<n>/ (cache = WORKBENCH_CACHE, default
~/.cache/workbench). An entry is assembled in a temp folder and renamed into place, so a cache
folder that exists is complete; a second fetch of the same version needs no network. A damaged
entry is said to be damaged and downloaded again; `--refresh` with arXiv out of reach uses the
cached copy, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from workbench.errors import UserError
from workbench.fetch.http import (MAX_DOWNLOAD_BYTES, Http, NotWhatWasAsked, Stalled, TruncatedDownload, Unreachable,
                                  check_download, timeout_message)
from workbench.fetch.http import parse_retry_after  # noqa: F401 (its home before http.py; tests import it here)
from workbench.fetch.eprint import looks_like_html
from workbench.files import atomic_write_json, workbench_cache

DEFAULT_BASE_URL = "https://arxiv.org"
DEFAULT_API_URL = "https://export.arxiv.org/api/query"

# New-style ids (0704.0001 onwards: YYMM.NNNN, from 1501 YYMM.NNNNN) and old-style
# archive(.SUBJECT)/YYMMNNN ids, each with an optional version. Anchored, no nested repeats.
NEW_ID = re.compile(r"(\d{4}\.\d{4,5})(?:v(\d+))?")
OLD_ID = re.compile(r"([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?")
URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|e-print|src)/", re.IGNORECASE)


@dataclass(frozen=True)
class ArxivId:
    """An arXiv identifier without decoration; version None means "the latest"."""

    base: str
    version: int | None = None

    def __str__(self) -> str:
        return self.base if self.version is None else f"{self.base}v{self.version}"

    @property
    def folder_name(self) -> str:
        """A file-system-safe spelling: old-style ids hold a '/'."""
        return str(self).replace("/", "_")


def parse_id(text: str) -> ArxivId:
    """2011.14439, 2011.14439v2, arXiv:2011.14439, abs/ and pdf/ URLs, hep-th/9901001."""
    raw = text.strip()
    core = URL_PREFIX.sub("", raw)
    if core.lower().startswith("arxiv:"):
        core = core[len("arxiv:"):]
    core = core.removesuffix("/").removesuffix(".pdf")
    for pattern in (NEW_ID, OLD_ID):
        match = pattern.fullmatch(core)
        if match:
            version = int(match.group(2)) if match.group(2) else None
            if version == 0 or (pattern is NEW_ID and not _valid_new_number(match.group(1))):
                break
            return ArxivId(match.group(1), version)
    raise UserError(
        f"{text[:200]!r} is not an arXiv id; use a form like 2011.14439, 2011.14439v2, arXiv:2011.14439, "
        "https://arxiv.org/abs/2011.14439 or hep-th/9901001"
    )


def _valid_new_number(base: str) -> bool:
    """YYMM with a real month; 4 digits after the dot until 1412, 5 from 1501 on."""
    yymm, number = base.split(".")
    month_ok = 1 <= int(yymm[2:]) <= 12
    return month_ok and len(number) == (5 if yymm >= "1501" else 4)


# ---------------------------------------------------------------- the arXiv service


@dataclass
class Arxiv:
    """Where arXiv lives (configurable) and how to talk to it."""

    base_url: str = DEFAULT_BASE_URL
    api_url: str = DEFAULT_API_URL
    http: Http | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if self.http is None:
            hosts = {urlsplit(self.base_url).netloc, urlsplit(self.api_url).netloc}
            self.http = Http(allowed_hosts=hosts)

    @classmethod
    def from_env(cls) -> Arxiv:
        """WORKBENCH_ARXIV_URL, WORKBENCH_ARXIV_API_URL, and WORKBENCH_ARXIV_RETRIES /
        WORKBENCH_ARXIV_BACKOFF (seconds before the first retry) / WORKBENCH_ARXIV_TIMEOUT (seconds
        a server may stay silent) for slow mirrors or impatient tests."""
        service = cls(base_url=os.environ.get("WORKBENCH_ARXIV_URL", DEFAULT_BASE_URL),
                      api_url=os.environ.get("WORKBENCH_ARXIV_API_URL", DEFAULT_API_URL))
        service.http.retries = int(_env_number("WORKBENCH_ARXIV_RETRIES", service.http.retries))
        service.http.backoff = _env_number("WORKBENCH_ARXIV_BACKOFF", service.http.backoff)
        timeout = _env_number("WORKBENCH_ARXIV_TIMEOUT", service.http.timeout)
        if timeout == 0:
            raise UserError("WORKBENCH_ARXIV_TIMEOUT=0 would give up before any answer; give seconds, e.g. 30")
        service.http.timeout = timeout
        return service

    def metadata(self, paper_id: ArxivId) -> dict[str, Any]:
        """Title, authors, dates, version and links from the Atom API, via the `arxiv` package."""
        import arxiv

        client = arxiv.Client(page_size=1, delay_seconds=0.0, num_retries=0)  # Http does the retrying
        client.query_url_format = self.api_url + "?{}"
        client._session = _ArxivSession(self.http)
        try:
            results = list(client.results(arxiv.Search(id_list=[str(paper_id)], max_results=1)))
        except arxiv.HTTPError as exc:
            raise UserError(f"arXiv API answered HTTP {exc.status} for {paper_id} ({self.api_url}); try again later") from None
        except arxiv.ArxivError as exc:  # an answer the package could not use (an empty page where one was promised)
            raise UserError(f"arXiv API gave an unusable answer for {paper_id} ({type(exc).__name__}); try again later") from None
        missing = UserError(f"arXiv has no paper '{paper_id}'; check the id at {self.base_url}/abs/{paper_id}")
        if not results:
            raise missing
        try:
            return metadata_from_result(results[0], self.base_url)
        except UserError:  # the API's error entries (id .../api/errors#...) are not papers
            raise missing from None

    def download(self, url: str, dest: Path, what: str) -> str:
        """Stream url to dest through a temp file; a short or failed body leaves nothing at dest.
        Returns the answer's Content-Type."""
        for attempt in range(self.http.retries + 1):
            response = self.http.get(url, stream=True)
            try:
                if response.status_code == 404:
                    raise MissingOnArxiv(f"{url} answered 404")
                if response.status_code != 200:
                    raise UserError(f"downloading the {what} from {url} failed: HTTP {response.status_code}; try again later")
                _stream_to_file(response, dest, what, self.progress)
                return response.headers.get("Content-Type", "")
            except Stalled:
                raise Unreachable(timeout_message(urlsplit(url).netloc, url, self.http.timeout)) from None
            except TruncatedDownload as exc:
                if attempt == self.http.retries:
                    raise UserError(f"the {what} from {url} arrived truncated {attempt + 1} times ({exc}); try again later") from None
                self.http.sleep(self.http.delay(attempt, None))
            finally:
                response.close()

    def pdf_url(self, paper_id: ArxivId) -> str:
        return f"{self.base_url}/pdf/{paper_id}"

    def eprint_url(self, paper_id: ArxivId) -> str:
        return f"{self.base_url}/e-print/{paper_id}"

    def bibtex_url(self, paper_id: ArxivId) -> str:
        return f"{self.base_url}/bibtex/{paper_id.base}"


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise UserError(f"{name}={value} is not a number; unset it or give one like 2") from None
    if number < 0:
        raise UserError(f"{name}={value} must not be negative")
    return number


class MissingOnArxiv(Exception):
    """A 404 for a file a paper may legitimately lack (BibTeX, source)."""


class _ArxivSession:
    """What arxiv.Client needs of a requests.Session (`get`), answered through our Http. An
    answer that is not a whole Atom feed (empty, cut short, an HTML page) or a feed with no
    entry at all is asked again: arXiv's API gives such answers when busy. A feed that keeps
    saying "0 results" is handed on (the package reports no paper)."""

    EMPTY_FEED_RETRIES = 2  # a mistyped id is also an empty feed: do not keep its user waiting long

    def __init__(self, http: Http) -> None:
        self.http = http

    def get(self, url: str, **_: Any) -> requests.Response:
        problem = ""
        for attempt in range(self.http.retries + 1):
            response = self.http.get(url)
            if response.status_code != 200:
                return response  # arxiv.Client turns it into HTTPError
            problem = feed_problem(response)
            if not problem or problem == "no entry" and attempt >= self.EMPTY_FEED_RETRIES:
                return response
            if attempt < self.http.retries:
                self.http.sleep(self.http.delay(attempt, None))
        raise UserError(f"arXiv's API ({urlsplit(url).netloc}) answered with {problem} {self.http.retries + 1} times; "
                        f"it may be busy: try again later")


def feed_problem(response: requests.Response) -> str:
    """What is wrong with an API answer ('' when it is a whole Atom feed with entries)."""
    try:
        body = response.content
    except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError):
        return "a cut-short feed"
    expected = response.headers.get("Content-Length")
    if expected and expected.isdigit() and len(body) != int(expected):
        return "a cut-short feed"
    if not body.strip():
        return "an empty body"
    if looks_like_html(body[:2048]) or b"<feed" not in body[:4096]:
        return "something that is not an Atom feed (an HTML page?)"
    if not body.rstrip().endswith(b"</feed>"):
        return "a cut-short feed"
    if b"<entry" not in body:
        total = re.search(rb"totalResults[^>]*>\s*(\d+)\s*<", body)
        return "no entry" if total is None or total.group(1) == b"0" else "a feed without the entry it counted"
    return ""


def metadata_from_result(result: Any, base_url: str) -> dict[str, Any]:
    """The paper's metadata with arxiv.org's own links, whichever server answered: a mirror
    (WORKBENCH_ARXIV_URL) is recorded apart, under `mirror`, so no generated file cites it."""
    short = result.get_short_id()
    paper_id = parse_id(short)
    meta = {
        "arxiv_id": paper_id.base,
        "version": paper_id.version,
        "title": result.title,
        "authors": [a.name for a in result.authors],
        "year": result.published.year,
        "published": result.published.date().isoformat(),
        "updated": result.updated.date().isoformat(),
        "abstract": " ".join(result.summary.split()),
        "primary_category": result.primary_category,
        "doi": result.doi or None,
        "journal_ref": result.journal_ref or None,
        "abs_url": f"{DEFAULT_BASE_URL}/abs/{paper_id}",
        "pdf_url": f"{DEFAULT_BASE_URL}/pdf/{paper_id}",
    }
    if base_url.rstrip("/") != DEFAULT_BASE_URL:
        meta["mirror"] = base_url.rstrip("/")
    return meta


def _stream_to_file(response: requests.Response, dest: Path, what: str, progress: bool) -> None:
    from workbench.console import stderr
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    expected = response.headers.get("Content-Length")
    total = int(expected) if expected and expected.isdigit() else None
    if total is not None and total > MAX_DOWNLOAD_BYTES:
        raise UserError(f"the {what} is {total} bytes, over the {MAX_DOWNLOAD_BYTES}-byte cap; fetch it by hand and use --from")
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    received = 0
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    try:
        with os.fdopen(fd, "wb") as handle, Progress(*columns, console=stderr, disable=not (progress and stderr.is_terminal),
                                                                 transient=True) as bar:
            task = bar.add_task(what, total=total)
            try:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    received += len(chunk)
                    if received > MAX_DOWNLOAD_BYTES:
                        raise UserError(f"the {what} is over the {MAX_DOWNLOAD_BYTES}-byte cap; fetch it by hand and use --from")
                    handle.write(chunk)
                    bar.update(task, advance=len(chunk))
            except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
                if "timed out" in str(exc):  # the server went silent mid-body: hung, not flaky
                    raise Stalled(response.url) from None
                raise TruncatedDownload(f"connection dropped after {received} bytes: {type(exc).__name__}") from None
            if total is not None and received != total:
                raise TruncatedDownload(f"got {received} of {total} bytes")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- cache


def cache_root() -> Path:
    return workbench_cache() / "arxiv"


@dataclass
class CachedPaper:
    """A complete cache entry: metadata.json plus the files it lists (name → sha256)."""

    dir: Path
    meta: dict[str, Any]
    files: dict[str, str]

    @property
    def paper_id(self) -> ArxivId:
        return ArxivId(self.meta["arxiv_id"], self.meta["version"])

    def path(self, name: str) -> Path | None:
        return self.dir / name if name in self.files else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_cache_entry(folder: Path) -> CachedPaper | None:
    """None for a missing, foreign or damaged entry (a damaged one is re-downloaded)."""
    entry, _ = read_cache_entry_or_problem(folder)
    return entry


def read_cache_entry_or_problem(folder: Path) -> tuple[CachedPaper | None, str | None]:
    """The entry, or None and what is wrong with it (None as well when there is no entry)."""
    if not folder.exists():
        return None, None
    try:
        record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
        entry = CachedPaper(folder, record["metadata"], dict(record["files"]))
        entry.paper_id  # noqa: B018 (metadata without an id or version is damage too)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"entry.json is unreadable ({type(exc).__name__})"
    for name, digest in entry.files.items():
        path = folder / name
        if not path.is_file():
            return None, f"{name} is missing"
        if sha256_file(path) != digest:
            return None, f"{name} does not match its checksum"
    return entry, None


def damaged_entries(paper_id: ArxivId, root: Path) -> list[tuple[Path, str]]:
    """Cache folders of this paper (of its version, when given) that are there but damaged."""
    if paper_id.version is not None:
        folders = [root / paper_id.folder_name]
    else:
        prefix = ArxivId(paper_id.base).folder_name + "v"
        folders = sorted(f for f in root.iterdir() if f.name.startswith(prefix)) if root.is_dir() else []
    found = []
    for folder in folders:
        _, problem = read_cache_entry_or_problem(folder)
        if problem is not None:
            found.append((folder, problem))
    return found


def cached_versions(paper_id: ArxivId, root: Path | None = None) -> list[CachedPaper]:
    """Complete cache entries of this paper, newest version last."""
    root = root or cache_root()
    prefix = ArxivId(paper_id.base).folder_name + "v"
    entries = []
    if root.is_dir():
        for folder in root.iterdir():
            if folder.name.startswith(prefix) and folder.name[len(prefix):].isdigit():
                entry = read_cache_entry(folder)
                if entry is not None:
                    entries.append(entry)
    return sorted(entries, key=lambda e: e.meta["version"])


def fetch_to_cache(paper_id: ArxivId, service: Arxiv | None = None, refresh: bool = False,
                   say: Callable[[str], None] = print) -> CachedPaper:
    """The paper's files from the cache, downloading them first when they are not there.

    With no version given, a cached copy is used as is unless `refresh`, which asks arXiv for
    the latest version (and downloads it if it is new).
    """
    root = cache_root()
    versions = cached_versions(paper_id, root) if paper_id.version is None else []
    if paper_id.version is not None:
        entry = read_cache_entry(root / paper_id.folder_name)
        if entry is not None:
            say(f"using the cached copy of {paper_id} ({entry.dir})")
            return entry
    elif not refresh and versions:
        say(f"using the cached copy of {versions[-1].paper_id} ({versions[-1].dir}); --refresh checks arXiv for a newer version")
        return versions[-1]
    damaged = damaged_entries(paper_id, root)
    for folder, problem in damaged:
        say(f"the cached copy in {folder} is damaged ({problem}); downloading it again")
    service = service or Arxiv.from_env()
    say(f"asking arXiv ({urlsplit(service.api_url).netloc}) about {paper_id}; a silent server is given "
        f"{service.http.timeout:g} s")
    try:
        meta = service.metadata(paper_id)
    except Unreachable as exc:
        if versions:  # --refresh offline: the newest cached copy is still a good answer
            say(f"warning: {exc}; using the cached copy of {versions[-1].paper_id} ({versions[-1].dir}) instead")
            return versions[-1]
        if damaged:
            raise UserError(f"the cached copy in {damaged[0][0]} is damaged ({damaged[0][1]}) and arXiv cannot be "
                            f"reached to download it again: {exc}") from None
        raise
    exact = ArxivId(meta["arxiv_id"], meta["version"])
    if paper_id.version is not None and exact.version != paper_id.version:
        raise UserError(f"arXiv answered {exact} when asked for {paper_id}; check the version at {service.base_url}/abs/{paper_id.base}")
    entry = read_cache_entry(root / exact.folder_name)
    if entry is not None:
        say(f"{exact} is the latest version and already cached ({entry.dir})")
        return entry
    return _download_entry(exact, meta, service, root, say)


def _download_entry(paper_id: ArxivId, meta: dict[str, Any], service: Arxiv, root: Path,
                    say: Callable[[str], None]) -> CachedPaper:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the cache folder {root} ({exc.strerror}); set WORKBENCH_CACHE to a writable folder") from None
    final = root / paper_id.folder_name
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{paper_id.folder_name}.", suffix=".tmp"))
    try:
        files: dict[str, str] = {}
        say(f"downloading {paper_id}: {meta['title']}")
        pdf_url = service.pdf_url(paper_id)
        check_download(staging / "paper.pdf", service.download(pdf_url, staging / "paper.pdf", "PDF"), "pdf", pdf_url)
        try:
            url = service.eprint_url(paper_id)
            check_download(staging / "eprint", service.download(url, staging / "eprint", "source"), "source", url)
        except MissingOnArxiv:
            say(f"arXiv has no source for {paper_id}; the folder gets the PDF only (no LaTeX, no claim candidates)")
        try:
            url = service.bibtex_url(paper_id)
            check_download(staging / "paper.bib", service.download(url, staging / "paper.bib", "BibTeX"), "bibtex", url)
        except MissingOnArxiv:
            say(f"arXiv has no BibTeX for {paper_id}; paper.yaml's bibtex stays empty")
        except NotWhatWasAsked as exc:  # the paper is whole without it
            (staging / "paper.bib").unlink(missing_ok=True)
            say(f"warning: arXiv's BibTeX for {paper_id} is {exc.found}, not BibTeX; paper.yaml's bibtex stays empty")
        for path in sorted(staging.iterdir()):
            files[path.name] = sha256_file(path)
        atomic_write_json(staging / "entry.json", {"metadata": meta, "files": files,
                                                   "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        if final.exists():  # a damaged entry: replace it
            shutil.rmtree(final)
        os.replace(staging, final)
    except OSError as exc:
        raise UserError(f"cannot write the cache entry {final} ({exc.strerror}); free some space or set WORKBENCH_CACHE") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    entry = read_cache_entry(final)
    assert entry is not None
    return entry
