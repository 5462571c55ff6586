"""A fake arXiv on 127.0.0.1: the Atom API, /pdf/, /e-print/ and /bibtex/, served from fixtures.

Papers are registered with `add_paper`; scripted failures (503, 429 + Retry-After, redirects,
truncated bodies) are queued per path with `script`. Every request is recorded in `requests`.
"""

from __future__ import annotations

import io
import re
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"


def atom_entry(paper_id: str, version: int) -> bytes:
    text = (FIXTURES / "entry.atom").read_text(encoding="utf-8")
    return text.replace("{{id}}", paper_id).replace("{{version}}", str(version)).encode()


def empty_feed(paper_id: str) -> bytes:
    return (FIXTURES / "empty.atom").read_text(encoding="utf-8").replace("{{id}}", paper_id).encode()


def source_tarball(folder: Path = FIXTURES / "source", extra: dict[str, bytes] | None = None) -> bytes:
    """A gzipped tar of a LaTeX source folder, as arXiv's /e-print/ serves it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate_to: int | None = None  # send a Content-Length for the whole body, then only this much


class FakeArxiv:
    def __init__(self) -> None:
        self.latest: dict[str, int] = {}
        self.files: dict[str, bytes] = {}
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def env(self) -> dict[str, str]:
        return {"WORKBENCH_ARXIV_URL": self.url, "WORKBENCH_ARXIV_API_URL": f"{self.url}/api/query"}

    def start(self) -> FakeArxiv:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()

    def add_paper(self, paper_id: str, version: int, eprint: bytes | None, pdf: bytes | None = None,
                  bibtex: bytes | None = None) -> None:
        self.latest[paper_id] = version
        self.files[f"/pdf/{paper_id}v{version}"] = pdf if pdf is not None else (FIXTURES / "paper.pdf").read_bytes()
        if eprint is not None:
            self.files[f"/e-print/{paper_id}v{version}"] = eprint
        self.files[f"/bibtex/{paper_id}"] = bibtex if bibtex is not None else (FIXTURES / "paper.bib").read_bytes()

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts.setdefault(path, []).extend(replies)

    def count(self, prefix: str) -> int:
        return sum(r.startswith(prefix) for r in self.requests)

    def _answer(self, raw_path: str) -> Reply:
        path = urlsplit(raw_path).path
        if self.scripts.get(path):
            return self.scripts[path].pop(0)
        if path == "/api/query":
            wanted = parse_qs(urlsplit(raw_path).query).get("id_list", [""])[0]
            base, version = re.fullmatch(r"(.+?)(?:v(\d+))?", wanted).groups() if wanted else ("", None)
            if base in self.latest and (not version or int(version) <= self.latest[base]):
                return Reply(body=atom_entry(base, int(version) if version else self.latest[base]))
            return Reply(body=empty_feed(wanted))
        if path in self.files:
            return Reply(body=self.files[path])
        return Reply(404, b"not found")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                fake.requests.append(self.path)
                reply = fake._answer(self.path)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                body = reply.body if reply.truncate_to is None else reply.body[:reply.truncate_to]
                self.wfile.write(body)
                if reply.truncate_to is not None:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        return Handler
