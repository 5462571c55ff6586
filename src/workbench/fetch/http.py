"""HTTP for fetching: GET with a timeout, bounded retries with exponential backoff on 429/5xx and
connection errors (a server's Retry-After wins), redirects followed only to the configured hosts,
and streamed downloads that are capped and leave nothing behind when cut short.

A server that stays silent for the whole timeout is not asked again: one timeout, one message.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from workbench.errors import UserError
from workbench.fetch.eprint import NOT_SOURCE, SOURCE_KINDS, detect_kind

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_REDIRECTS = 5
MAX_DOWNLOAD_BYTES = 1 << 30  # 1 GiB: no arXiv PDF or e-print comes near it
USER_AGENT = "workbench (https://github.com/; re-implementing ML papers)"


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
            except requests.Timeout:  # a hung server: another try would cost another full timeout
                raise Unreachable(timeout_message(host, url, self.timeout)) from None
            except requests.ConnectionError as exc:
                if last_try:
                    raise Unreachable(
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


class Unreachable(UserError):
    """arXiv could not be reached (no network, refused, timed out): a cached copy may do instead."""


def timeout_message(host: str, url: str, timeout: float) -> str:
    return (f"{host} did not answer within {timeout:g} s for {url.split('?')[0]}; it may be down or slow: try again later, "
            f"raise WORKBENCH_ARXIV_TIMEOUT (seconds), or fetch offline with --from <file> --id <id>")


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


class TruncatedDownload(Exception):
    pass


class Stalled(Exception):
    """The server went silent in the middle of a body for the whole timeout."""


class NotWhatWasAsked(UserError):
    """A download that is not the file asked for (an HTML error page, an empty body): `found` says what it is."""

    def __init__(self, message: str, found: str) -> None:
        super().__init__(message)
        self.found = found


def check_download(path: Path, content_type: str, expected: str, url: str) -> None:
    """Refuse, before it is cached, a download that is not a PDF / an e-print / BibTeX."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    kind = detect_kind(head)
    is_html = kind == "html" or content_type.split(";")[0].strip().lower() == "text/html"
    if expected == "pdf":
        wrong = None if kind == "pdf" and not is_html else "an HTML page" if is_html else NOT_SOURCE.get(kind, f"a {kind} file")
    elif expected == "source":
        wrong = "an HTML page" if is_html else None if kind in SOURCE_KINDS else NOT_SOURCE[kind]
    else:
        wrong = "an HTML page" if is_html else None if head.lstrip().startswith(b"@") else NOT_SOURCE.get(kind, "not BibTeX")
    if wrong is not None:
        label = {"pdf": "PDF", "source": "source", "bibtex": "BibTeX"}[expected]
        raise NotWhatWasAsked(f"the {label} arXiv served at {url} is {wrong}, not the file asked for (an error page?); "
                              f"nothing was cached: try again later", wrong)
