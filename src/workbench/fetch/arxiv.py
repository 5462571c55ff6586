"""arXiv: id parsing, metadata (through the `arxiv` package), PDF/source/BibTeX downloads, cache.

Every request goes through `Http`: a timeout, retries with exponential backoff on 429/5xx and
connection errors (a server's Retry-After wins), and redirects followed only to the configured
hosts. Base URLs come from WORKBENCH_ARXIV_URL (abs/pdf/e-print/bibtex) and
WORKBENCH_ARXIV_API_URL (the Atom query endpoint), so tests and mirrors can point elsewhere.

A fetched version is cached in <cache>/arxiv/<id>v<n>/ (cache = WORKBENCH_CACHE, default
~/.cache/workbench). An entry is assembled in a temp folder and renamed into place, so a cache
folder that exists is complete; a second fetch of the same version needs no network.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from workbench.errors import UserError
from workbench.files import atomic_write_json

DEFAULT_BASE_URL = "https://arxiv.org"
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_REDIRECTS = 5
MAX_DOWNLOAD_BYTES = 1 << 30  # 1 GiB: no arXiv PDF or e-print comes near it
USER_AGENT = "workbench (https://github.com/; re-implementing ML papers)"

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


# ---------------------------------------------------------------- HTTP


@dataclass
class Http:
    """GET with a timeout, bounded retries, backoff and a host allow-list for redirects."""

    allowed_hosts: set[str]
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0           # seconds before the first retry; doubles each time
    max_wait: float = 120.0        # a Retry-After longer than this is cut to it
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, url: str, stream: bool = False) -> requests.Response:
        """The final response (2xx, 4xx, or the last 5xx after all retries)."""
        host = urlsplit(url).netloc
        for attempt in range(self.retries + 1):
            last_try = attempt == self.retries
            try:
                response = self._follow(url, stream)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last_try:
                    raise UserError(
                        f"cannot reach {host} for {url} after {attempt + 1} tries ({type(exc).__name__}); "
                        "check your network, or fetch offline with --from <file> --id <id>"
                    ) from None
                self.sleep(self.delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and not last_try:
                wait = self.delay(attempt, response.headers.get("Retry-After"))
                response.close()
                self.sleep(wait)
                continue
            return response
        raise AssertionError("unreachable")

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """The server's Retry-After (seconds or an HTTP date) if given, else backoff · 2^attempt."""
        wanted = parse_retry_after(retry_after)
        if wanted is None:
            wanted = self.backoff * 2**attempt
        return min(max(wanted, 0.0), self.max_wait)

    def _follow(self, url: str, stream: bool) -> requests.Response:
        for _ in range(MAX_REDIRECTS + 1):
            self._check_host(url)
            response = self.session.get(url, timeout=self.timeout, stream=stream, allow_redirects=False,
                                        headers={"User-Agent": USER_AGENT})
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers["Location"])
            response.close()
        raise UserError(f"{url}: more than {MAX_REDIRECTS} redirects; the server is misconfigured, try later")

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc not in self.allowed_hosts:
            raise UserError(
                f"refused to follow a redirect to {url}: {parts.netloc or url} is not one of the configured "
                f"arXiv hosts ({', '.join(sorted(self.allowed_hosts))}); set WORKBENCH_ARXIV_URL if it is a mirror"
            )


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.now(timezone.utc)).total_seconds()


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
        WORKBENCH_ARXIV_BACKOFF (seconds before the first retry) for slow mirrors or impatient tests."""
        service = cls(base_url=os.environ.get("WORKBENCH_ARXIV_URL", DEFAULT_BASE_URL),
                      api_url=os.environ.get("WORKBENCH_ARXIV_API_URL", DEFAULT_API_URL))
        service.http.retries = int(_env_number("WORKBENCH_ARXIV_RETRIES", service.http.retries))
        service.http.backoff = _env_number("WORKBENCH_ARXIV_BACKOFF", service.http.backoff)
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
        missing = UserError(f"arXiv has no paper '{paper_id}'; check the id at {self.base_url}/abs/{paper_id}")
        if not results:
            raise missing
        try:
            return metadata_from_result(results[0], self.base_url)
        except UserError:  # the API's error entries (id .../api/errors#...) are not papers
            raise missing from None

    def download(self, url: str, dest: Path, what: str) -> None:
        """Stream url to dest through a temp file; a short or failed body leaves nothing at dest."""
        for attempt in range(self.http.retries + 1):
            response = self.http.get(url, stream=True)
            try:
                if response.status_code == 404:
                    raise MissingOnArxiv(f"{url} answered 404")
                if response.status_code != 200:
                    raise UserError(f"downloading the {what} from {url} failed: HTTP {response.status_code}; try again later")
                _stream_to_file(response, dest, what, self.progress)
                return
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


class TruncatedDownload(Exception):
    pass


class _ArxivSession:
    """What arxiv.Client needs of a requests.Session (`get`), answered through our Http."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def get(self, url: str, **_: Any) -> requests.Response:
        return self.http.get(url)


def metadata_from_result(result: Any, base_url: str) -> dict[str, Any]:
    short = result.get_short_id()
    paper_id = parse_id(short)
    return {
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
        "abs_url": f"{base_url}/abs/{paper_id}",
        "pdf_url": f"{base_url}/pdf/{paper_id}",
    }


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
    root = Path(os.environ.get("WORKBENCH_CACHE") or Path.home() / ".cache" / "workbench")
    return root / "arxiv"


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
    try:
        record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
        entry = CachedPaper(folder, record["metadata"], dict(record["files"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for name, digest in entry.files.items():
        path = folder / name
        if not path.is_file() or sha256_file(path) != digest:
            return None
    return entry


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
    if paper_id.version is not None:
        entry = read_cache_entry(root / paper_id.folder_name)
        if entry is not None:
            say(f"using the cached copy of {paper_id} ({entry.dir})")
            return entry
    elif not refresh and (versions := cached_versions(paper_id, root)):
        say(f"using the cached copy of {versions[-1].paper_id} ({versions[-1].dir}); --refresh checks arXiv for a newer version")
        return versions[-1]
    service = service or Arxiv.from_env()
    meta = service.metadata(paper_id)
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
        service.download(service.pdf_url(paper_id), staging / "paper.pdf", "PDF")
        try:
            service.download(service.eprint_url(paper_id), staging / "eprint", "source")
        except MissingOnArxiv:
            say(f"arXiv has no source for {paper_id}; the folder gets the PDF only (no LaTeX, no claim candidates)")
        try:
            service.download(service.bibtex_url(paper_id), staging / "paper.bib", "BibTeX")
        except MissingOnArxiv:
            say(f"arXiv has no BibTeX for {paper_id}; paper.yaml's bibtex stays empty")
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
