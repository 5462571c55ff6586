"""What arXiv (or something pretending to be it) serves: an HTML page, an empty body or junk where
a PDF, an e-print or BibTeX belongs; empty, cut or HTML API answers; a server that hangs; a cache
entry damaged on disk; `--from` files that are not LaTeX sources. Nothing wrong is ever cached or
stored as main.tex, a hung server costs one timeout, and each failure is one line that says what
it is."""

from __future__ import annotations

import bz2
import io
import lzma
import os
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_arxiv import FakeArxiv, Reply, atom_entry, source_tarball
from faultkit import examples, expect_one_line, tally
from workbench.errors import UserError
from workbench.fetch.arxiv import Arxiv, Http, cache_root, fetch_to_cache, parse_id
from workbench.fetch.eprint import unpack_source

HNN = "1906.01563"
SETTINGS = settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    server = FakeArxiv().start()
    yield server
    server.stop()


def service(url: str, timeout: float = 5, retries: int = 2) -> Arxiv:
    host = url.removeprefix("http://")
    http = Http(allowed_hosts={host}, timeout=timeout, retries=retries, backoff=0.01, sleep=lambda _: None)
    return Arxiv(base_url=url, api_url=f"{url}/api/query", http=http, progress=False)


def cache_listing() -> list[str]:
    root = cache_root()
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def clear_cache() -> None:
    import shutil

    shutil.rmtree(cache_root(), ignore_errors=True)


def zipped(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.tex", data)
    return buf.getvalue()


HTML_PAGES = st.builds(lambda ws, doctype, body: (ws + doctype + f"<html><head><title>{body}</title></head><body>{body}"
                                                  f"</body></html>").encode(),
                       st.sampled_from(["", "\n", "  \r\n", "\ufeff"]),
                       st.sampled_from(["<!DOCTYPE html>", "<!doctype HTML>", "", "<HTML>"]),
                       st.text(max_size=30))
JUNK = st.one_of(
    st.tuples(st.just("html"), HTML_PAGES),
    st.tuples(st.just("empty"), st.sampled_from([b"", b" ", b"\n\n", b"\t \r\n"])),
    st.tuples(st.just("binary"), st.binary(min_size=64, max_size=400).filter(lambda b: b"\x00" in b)),
    st.tuples(st.just("zip"), st.binary(max_size=200).map(zipped)),
    st.tuples(st.just("xz"), st.binary(max_size=200).map(lzma.compress)),
    st.tuples(st.just("bzip2"), st.binary(max_size=200).map(bz2.compress)),
)


@SETTINGS
@given(which=st.sampled_from(["pdf", "eprint"]), junk=JUNK)
def test_junk_served_as_the_pdf_or_the_source_is_never_cached(fake, which, junk):
    kind, body = junk
    if which == "pdf" and kind == "binary":
        body = b"%PDX" + body  # binary that is not a PDF either
    clear_cache()
    fake.files.clear()
    fake.add_paper(HNN, 1, body if which == "eprint" else source_tarball(), pdf=body if which == "pdf" else None)
    tally("faults_injected", what=f"{kind} served as the {which}")
    assert expect_one_line(lambda: fetch_to_cache(parse_id(HNN), service(fake.url), say=lambda _: None),
                           f"{kind} as {which}", names="not the file asked for") is None
    assert cache_listing() == []  # no entry, no staging folder: the next fetch asks arXiv again


@SETTINGS
@given(junk=JUNK)
def test_junk_served_as_bibtex_leaves_the_paper_without_it(fake, junk):
    kind, body = junk
    clear_cache()
    fake.files.clear()
    fake.add_paper(HNN, 1, source_tarball(), bibtex=body)
    said: list[str] = []
    tally("faults_injected", what=f"{kind} served as BibTeX")
    tally("bad_inputs_tried", what=f"{kind} as BibTeX")
    entry = fetch_to_cache(parse_id(HNN), service(fake.url), say=said.append)
    assert "paper.bib" not in entry.files and not (entry.dir / "paper.bib").exists()
    assert any("not BibTeX" in line for line in said), said


def test_the_real_files_still_pass_the_checks(fake):
    fake.add_paper(HNN, 1, source_tarball())
    entry = fetch_to_cache(parse_id(HNN), service(fake.url), say=lambda _: None)
    assert sorted(entry.files) == ["eprint", "paper.bib", "paper.pdf"]


FEEDS = st.one_of(
    st.just(("empty body", lambda full: b"")),
    st.floats(0.05, 0.95).map(lambda f: (f"cut at {f:.2f}", lambda full, f=f: full[: int(len(full) * f)])),
    st.just(("html page", lambda full: b"<!DOCTYPE html><html><body>Rate exceeded.</body></html>")),
    st.just(("feed counting 1 without its entry", lambda full: full[: full.index(b"<entry")] + b"</feed>\n")),
)


@SETTINGS
@given(feed=FEEDS, retries=st.integers(0, 3))
def test_an_empty_cut_or_html_api_answer_is_asked_again_then_one_line(fake, feed, retries):
    name, make = feed
    clear_cache()
    fake.files.clear()
    fake.scripts.clear()
    fake.requests.clear()
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/api/query", *[Reply(body=make(atom_entry(HNN, 1)))] * (retries + 1))
    tally("faults_injected", what=f"API answer: {name}")
    assert expect_one_line(lambda: fetch_to_cache(parse_id(HNN), service(fake.url, retries=retries), say=lambda _: None),
                           f"API answer: {name}", names="try again later") is None
    assert fake.count("/api/query") == retries + 1  # every try was used, none more
    assert cache_listing() == []


def test_a_feed_that_keeps_saying_zero_results_is_no_such_paper(fake):
    with pytest.raises(UserError, match="arXiv has no paper '2401.99999'"):
        fetch_to_cache(parse_id("2401.99999"), service(fake.url, retries=4), say=lambda _: None)
    assert fake.count("/api/query") == 3  # asked again twice: arXiv's API gives empty answers when busy


class SilentServer:
    """Accepts connections and reads requests, answering nothing (or a head and part of a body)."""

    def __init__(self, answer: bytes = b"") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.answer, self.connections, self.open = answer, 0, []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            conn.recv(65536)
            if self.answer:
                conn.sendall(self.answer)

    def close(self) -> None:
        for conn in self.open:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("stage", ["API silent", "download silent after its head"])
def test_a_hung_server_costs_one_timeout_and_says_so(fake, tmp_path, stage):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n%PDF-1.4 " if "download" in stage else b""
    server = SilentServer(head)
    try:
        arxiv = service(server.url, timeout=0.5, retries=4)
        tally("faults_injected", what=f"hung server: {stage}")
        if stage == "API silent":
            call = lambda: fetch_to_cache(parse_id("2101.00001"), arxiv, say=lambda _: None)  # noqa: E731
        else:
            call = lambda: arxiv.download(f"{server.url}/pdf/x", tmp_path / "paper.pdf", "PDF")  # noqa: E731
        tally("bad_inputs_tried", what=stage)
        with pytest.raises(UserError, match=r"did not answer within 0.5 s .*WORKBENCH_ARXIV_TIMEOUT") as refused:
            call()
        assert "\n" not in str(refused.value)
        assert server.connections == 1  # not retried: each retry would cost another full timeout
        assert not (tmp_path / "paper.pdf").exists()
    finally:
        server.close()


@pytest.mark.parametrize("value, ok", [("2.5", True), ("0", False), ("-1", False), ("abc", False), ("1e400", True)])
def test_the_timeout_is_set_by_an_environment_variable(monkeypatch, value, ok):
    monkeypatch.setenv("WORKBENCH_ARXIV_TIMEOUT", value)
    tally("bad_inputs_tried", what=f"WORKBENCH_ARXIV_TIMEOUT={value}")
    if ok:
        assert Arxiv.from_env().http.timeout == float(value)
    else:
        with pytest.raises(UserError, match="WORKBENCH_ARXIV_TIMEOUT"):
            Arxiv.from_env()


def test_refresh_with_arxiv_out_of_reach_uses_the_cache_with_a_warning(fake):
    fake.add_paper(HNN, 1, source_tarball())
    first = fetch_to_cache(parse_id(HNN), service(fake.url), say=lambda _: None)
    said: list[str] = []
    again = fetch_to_cache(parse_id(HNN), service("http://127.0.0.1:9"), refresh=True, say=said.append)
    assert again.dir == first.dir
    assert any(line.startswith("warning:") and "using the cached copy" in line for line in said), said


DAMAGE = ["delete the PDF", "flip a byte of the e-print", "entry.json garbage", "entry.json a list", "empty entry.json",
          "entry.json without files", "BibTeX truncated"]


def damage(folder: Path, how: str) -> None:
    if how == "delete the PDF":
        (folder / "paper.pdf").unlink()
    elif how == "flip a byte of the e-print":
        data = bytearray((folder / "eprint").read_bytes())
        data[len(data) // 2] ^= 0x01
        (folder / "eprint").write_bytes(bytes(data))
    elif how == "entry.json garbage":
        (folder / "entry.json").write_bytes(os.urandom(50))
    elif how == "entry.json a list":
        (folder / "entry.json").write_text("[1, 2]")
    elif how == "empty entry.json":
        (folder / "entry.json").write_text("")
    elif how == "entry.json without files":
        (folder / "entry.json").write_text('{"metadata": {}}')
    else:
        (folder / "paper.bib").write_bytes((folder / "paper.bib").read_bytes()[:5])


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("version", [None, 1])
def test_a_damaged_cache_entry_is_named_damaged_and_downloaded_again(fake, how, version):
    fake.add_paper(HNN, 1, source_tarball())
    wanted = parse_id(HNN if version is None else f"{HNN}v{version}")
    entry = fetch_to_cache(wanted, service(fake.url), say=lambda _: None)
    damage(entry.dir, how)
    tally("faults_injected", what=f"cache: {how}")
    tally("bad_inputs_tried", what=f"cache: {how}")
    with pytest.raises(UserError, match="is damaged .* cannot be reached"):
        fetch_to_cache(wanted, service("http://127.0.0.1:9"), say=lambda _: None)
    said: list[str] = []
    again = fetch_to_cache(wanted, service(fake.url), say=said.append)
    assert any("damaged" in line and "downloading it again" in line for line in said), said
    assert sorted(again.files) == ["eprint", "paper.bib", "paper.pdf"]


# ---------------------------------------------------------------- --from files that are not sources


def not_sources() -> st.SearchStrategy:
    tex = st.binary(max_size=200).map(lambda b: b"\\documentclass{article}\n" + b)
    return st.one_of(
        st.tuples(st.just("random bytes"), st.binary(min_size=32, max_size=600).filter(lambda b: b"\x00" in b)),
        st.tuples(st.just("zip"), tex.map(zipped)),
        st.tuples(st.just("tar.xz"), tex.map(lambda b: lzma.compress(tar_of(b)))),
        st.tuples(st.just("tar.bz2"), tex.map(lambda b: bz2.compress(tar_of(b)))),
        st.tuples(st.just("html"), HTML_PAGES),
        st.tuples(st.just("empty"), st.just(b"")),
        st.tuples(st.just("gzipped zip"), tex.map(lambda b: __import__("gzip").compress(zipped(b)))),
    )


def tar_of(data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("main.tex")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@SETTINGS
@given(case=not_sources())
def test_a_from_file_that_is_not_a_latex_source_is_refused_not_stored_as_main_tex(tmp_path_factory, case):
    kind, data = case
    folder = tmp_path_factory.mktemp("from")
    archive = folder / f"paper.{kind.replace(' ', '_')}"
    archive.write_bytes(data)
    (folder / "out").mkdir()
    target = folder / "out" / "source"
    tally("faults_injected", what=f"--from {kind}")
    assert expect_one_line(lambda: unpack_source(archive, target), f"--from {kind}", names=str(archive)) is None
    assert list((folder / "out").iterdir()) == []  # nothing stored, no staging folder


COLLISIONS = {
    "file then folder of that name": [("a", b"x"), ("a/b.tex", b"y")],
    "folder then file of that name": [("a/", None), ("a", b"x")],
    "file then a file under it": [("main.tex", b"x"), ("main.tex/more.tex", b"y")],
    "deep file then folder": [("s/t/u", b"x"), ("s/t/u/v/w.tex", b"y")],
}


@pytest.mark.parametrize("name", sorted(COLLISIONS))
def test_a_tar_whose_members_collide_says_so(tmp_path, name):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, data in COLLISIONS[name]:
            info = tarfile.TarInfo(member.rstrip("/"))
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "src.tar.gz"
    archive.write_bytes(buf.getvalue())
    (tmp_path / "out").mkdir()
    tally("faults_injected", what=f"tar: {name}")
    expect_one_line(lambda: unpack_source(archive, tmp_path / "out" / "source"), f"tar: {name}", names="malformed")
    assert list((tmp_path / "out").iterdir()) == []
