"""arXiv ids, the retrying HTTP client and the download cache, against a fake arXiv on 127.0.0.1."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from workbench.fetch.arxiv import Arxiv, ArxivId, Http, cache_root, fetch_to_cache, parse_id, parse_retry_after
from workbench.errors import UserError

from fake_arxiv import FIXTURES, FakeArxiv, Reply, source_tarball

HNN = "1906.01563"


@pytest.mark.parametrize(("text", "base", "version"), [
    ("2011.14439", "2011.14439", None),
    ("2011.14439v2", "2011.14439", 2),
    ("arXiv:2011.14439", "2011.14439", None),
    ("arxiv:2011.14439v3", "2011.14439", 3),
    ("https://arxiv.org/abs/2011.14439", "2011.14439", None),
    ("https://arxiv.org/abs/2011.14439v2", "2011.14439", 2),
    ("http://arxiv.org/pdf/2011.14439v2.pdf", "2011.14439", 2),
    ("https://arxiv.org/pdf/2011.14439", "2011.14439", None),
    ("https://export.arxiv.org/abs/2011.14439/", "2011.14439", None),
    ("arxiv.org/abs/0704.0001", "0704.0001", None),
    ("  1906.01563  ", "1906.01563", None),
    ("hep-th/9901001", "hep-th/9901001", None),
    ("hep-th/9901001v2", "hep-th/9901001", 2),
    ("math.GT/0309136", "math.GT/0309136", None),
    ("https://arxiv.org/abs/cond-mat/0102536v1", "cond-mat/0102536", 1),
])
def test_every_id_form_normalises(text, base, version):
    assert parse_id(text) == ArxivId(base, version)


@pytest.mark.parametrize("text", ["", "2011.1443", "2011.144390", "20111.14439", "2011.14439v0", "2011.14439vx",
                                  "hep-th/990100", "HEP-TH/9901001", "https://example.com/abs/2011.14439",
                                  "2011.14439; rm -rf /", "../2011.14439"])
def test_malformed_ids_are_rejected_with_the_forms_that_work(text):
    with pytest.raises(UserError, match="is not an arXiv id; use a form like 2011.14439"):
        parse_id(text)


def test_old_style_ids_get_a_folder_safe_name():
    assert ArxivId("hep-th/9901001", 2).folder_name == "hep-th_9901001v2"


def test_retry_after_reads_seconds_and_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 0  # in the past: no wait


# ---------------------------------------------------------------- against the fake server


@pytest.fixture
def fake():
    server = FakeArxiv().start()
    yield server
    server.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "arxiv"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def service(fake: FakeArxiv, sleeps: Sleeps | None = None, retries: int = 3, **kwargs) -> Arxiv:
    hosts = {fake.url.removeprefix("http://")}
    http = Http(allowed_hosts=hosts, timeout=5, retries=retries, backoff=0.5, sleep=sleeps if sleeps is not None else Sleeps(), **kwargs)
    return Arxiv(base_url=fake.url, api_url=f"{fake.url}/api/query", http=http, progress=False)


def quiet(_: str) -> None:
    pass


def test_a_fetch_downloads_pdf_source_bibtex_and_records_their_hashes(fake, cache):
    fake.add_paper(HNN, 3, source_tarball())
    entry = fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    assert entry.dir == cache / "1906.01563v3"
    assert entry.meta["title"] == "Hamiltonian Neural Networks"
    assert entry.meta["authors"] == ["Sam Greydanus", "Misko Dzamba", "Jason Yosinski"]
    assert (entry.meta["version"], entry.meta["year"], entry.meta["primary_category"]) == (3, 2019, "cs.NE")
    assert sorted(entry.files) == ["eprint", "paper.bib", "paper.pdf"]
    assert (entry.dir / "paper.pdf").read_bytes() == (FIXTURES / "paper.pdf").read_bytes()
    assert [p.name for p in cache.iterdir()] == ["1906.01563v3"]  # no temp folder left behind


def test_503_then_success_is_retried_with_exponential_backoff(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/api/query", Reply(503), Reply(503))
    fake.script("/pdf/1906.01563v1", Reply(502))
    sleeps = Sleeps()
    entry = fetch_to_cache(parse_id(HNN), service(fake, sleeps), say=quiet)
    assert entry.meta["version"] == 1
    assert sleeps == [0.5, 1.0, 0.5]  # API: two backoffs (0.5, 1.0); PDF: one
    assert fake.count("/api/query") == 3


def test_429_honours_retry_after(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/api/query", Reply(429, headers={"Retry-After": "7"}))
    fake.script("/e-print/1906.01563v1", Reply(429, headers={"Retry-After": "3"}))
    sleeps = Sleeps()
    fetch_to_cache(parse_id(HNN), service(fake, sleeps), say=quiet)
    assert sleeps == [7.0, 3.0]


def test_a_huge_retry_after_is_capped(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/api/query", Reply(429, headers={"Retry-After": "86400"}))
    sleeps = Sleeps()
    fetch_to_cache(parse_id(HNN), service(fake, sleeps, max_wait=60), say=quiet)
    assert sleeps == [60]


def test_persistent_5xx_is_a_clear_error_and_leaves_no_cache_entry(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/e-print/1906.01563v1", *[Reply(503)] * 4)
    with pytest.raises(UserError, match=r"downloading the source from .*/e-print/1906.01563v1 failed: HTTP 503; try again later"):
        fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    assert fake.count("/e-print/") == 4  # 1 try + 3 retries
    assert not any(cache.iterdir())


def test_an_unknown_id_says_so(fake, cache):
    with pytest.raises(UserError, match=r"arXiv has no paper '2401.99999'; check the id at .*/abs/2401.99999"):
        fetch_to_cache(parse_id("2401.99999"), service(fake), say=quiet)
    assert not cache.exists() or not any(cache.iterdir())


def test_a_version_that_does_not_exist_is_unknown(fake, cache):
    fake.add_paper(HNN, 2, source_tarball())
    with pytest.raises(UserError, match="arXiv has no paper '1906.01563v5'"):
        fetch_to_cache(parse_id("1906.01563v5"), service(fake), say=quiet)


def test_a_truncated_download_is_retried_then_refused_and_never_cached(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    pdf = (FIXTURES / "paper.pdf").read_bytes()
    fake.script("/pdf/1906.01563v1", *[Reply(body=pdf, truncate_to=100)] * 2)
    with pytest.raises(UserError, match=r"the PDF from .* arrived truncated 2 times"):
        fetch_to_cache(parse_id(HNN), service(fake, retries=1), say=quiet)
    assert not any(cache.iterdir())
    entry = fetch_to_cache(parse_id(HNN), service(fake, retries=1), say=quiet)  # the server recovers
    assert (entry.dir / "paper.pdf").read_bytes() == pdf


def test_a_redirect_to_a_foreign_host_is_refused(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fake.script("/pdf/1906.01563v1", Reply(302, headers={"Location": "http://evil.example/pdf"}))
    with pytest.raises(UserError, match=r"refused to follow a redirect to http://evil.example/pdf: evil.example is not one of"):
        fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    assert not any(cache.iterdir())


def test_a_redirect_within_the_configured_host_is_followed(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fake.files["/moved.pdf"] = fake.files["/pdf/1906.01563v1"]
    fake.script("/pdf/1906.01563v1", Reply(301, headers={"Location": "/moved.pdf"}))
    entry = fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    assert "/moved.pdf" in fake.requests and entry.path("paper.pdf") is not None


def test_no_network_is_one_clear_error(cache):
    http = Http(allowed_hosts={"127.0.0.1:9"}, timeout=2, retries=2, sleep=Sleeps())
    arxiv = Arxiv(base_url="http://127.0.0.1:9", api_url="http://127.0.0.1:9/api/query", http=http, progress=False)
    with pytest.raises(UserError, match=r"cannot reach 127.0.0.1:9 .* after 3 tries .*check your network, or fetch offline with --from"):
        fetch_to_cache(parse_id(HNN), arxiv, say=quiet)


def test_second_fetch_is_served_from_the_cache_with_the_server_gone(fake, cache):
    fake.add_paper(HNN, 2, source_tarball())
    first = fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    fake.stop()
    messages: list[str] = []
    for text in (HNN, "1906.01563v2", "arXiv:1906.01563"):
        again = fetch_to_cache(parse_id(text), service(fake), say=messages.append)
        assert again.dir == first.dir and again.files == first.files
    assert all("using the cached copy of 1906.01563v2" in m for m in messages)


def test_a_damaged_cache_entry_is_downloaded_again(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    entry = fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    (entry.dir / "paper.pdf").write_bytes(b"%PDF-1.4 damaged")
    again = fetch_to_cache(parse_id("1906.01563v1"), service(fake), say=quiet)
    assert (again.dir / "paper.pdf").read_bytes() == (FIXTURES / "paper.pdf").read_bytes()
    assert fake.count("/pdf/") == 2


def test_refresh_picks_up_a_new_version_and_keeps_the_old_one(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    fake.add_paper(HNN, 2, source_tarball())
    assert fetch_to_cache(parse_id(HNN), service(fake), say=quiet).meta["version"] == 1  # cached, no request
    assert fetch_to_cache(parse_id(HNN), service(fake), refresh=True, say=quiet).meta["version"] == 2
    assert sorted(p.name for p in cache.iterdir()) == ["1906.01563v1", "1906.01563v2"]


def test_old_style_ids_fetch_into_a_safe_folder(fake, cache):
    fake.add_paper("hep-th/9901001", 1, gzip.compress(b"\\documentclass{article}\\begin{document}x\\end{document}"))
    entry = fetch_to_cache(parse_id("hep-th/9901001"), service(fake), say=quiet)
    assert entry.dir == cache / "hep-th_9901001v1"
    assert entry.meta["arxiv_id"] == "hep-th/9901001"
    assert "/e-print/hep-th/9901001v1" in fake.requests


def test_a_missing_bibtex_is_not_fatal(fake, cache):
    fake.add_paper(HNN, 1, source_tarball())
    del fake.files["/bibtex/1906.01563"]
    messages: list[str] = []
    entry = fetch_to_cache(parse_id(HNN), service(fake), say=messages.append)
    assert "paper.bib" not in entry.files
    assert any("no BibTeX" in m for m in messages)


def test_cache_root_follows_workbench_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    assert cache_root() == tmp_path / "arxiv"
    monkeypatch.delenv("WORKBENCH_CACHE")
    assert cache_root() == Path.home() / ".cache" / "workbench" / "arxiv"


def test_a_full_disk_is_one_clear_error_and_leaves_no_partial_entry(fake, cache, monkeypatch):
    import errno

    from workbench.fetch import arxiv as arxiv_mod

    fake.add_paper(HNN, 1, source_tarball())

    def disk_full(response, dest, what, progress):
        dest.write_bytes(b"%PDF-1.4 half")  # what a real full disk leaves: a partial file
        raise OSError(errno.ENOSPC, "No space left on device", str(dest))

    monkeypatch.setattr(arxiv_mod, "_stream_to_file", disk_full)
    with pytest.raises(UserError, match=r"cannot write the cache entry .*1906.01563v1 \(No space left on device\); free some space"):
        fetch_to_cache(parse_id(HNN), service(fake), say=quiet)
    assert not any(cache.iterdir())
