"""Hostile text planted in every input a report shows (the paper's title and authors, a claim's
quote and source, each field of a deviation, a run's message and its config choices): report.html
builds no element, handler or link from it. Each planted string is one HTML injection tried; it
is escaped when the page holds no script it brought."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import examples, tally
from test_report import CLAIMS, DEVIATIONS, PAPER, claim, write_paper, write_run
from test_report_html_safety import Elements
from workbench.report.write import write_report

VECTORS = [
    '<script>alert(1)</script>', '<SCRIPT SRC=//x.example/x.js></SCRIPT>', '<img src=x onerror=alert(1)>',
    '"><svg onload=alert(1)>', "'><body onload=alert(1)>", '<iframe src="javascript:alert(1)"></iframe>',
    '<scr<script>ipt>alert(1)</scr</script>ipt>', '[click](javascript:alert(1))', '![x](javascript:alert(1))',
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)', '<a href="javascript:alert(1)">x</a>',
    '<object data="x.swf"></object>', '<embed src=x>', '<style>*{background:url(javascript:alert(1))}</style>',
    '<details open ontoggle=alert(1)>', '{{7*7}} ${7*7} <% alert(1) %>', '<math><mi xlink:href="javascript:alert(1)">x',
    '&lt;script&gt;alert(1)&lt;/script&gt;', '<!--<script>-->alert(1)', '| a | <b onmouseover=alert(1)>b</b> |',
]
FIELDS = ["title", "author", "claim quote", "claim row", "deviation what", "deviation paper", "deviation we_do",
          "deviation why", "run message", "run model choice"]
# Elements a planted string may never add. Markdown links and images in a text may become <a> and
# <img> with a safe address (their addresses are checked below), so those two are not listed.
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "details", "base", "form", "b", "body"}
BENIGN = "plain words"


def elements(page: str) -> tuple[dict[str, int], list[str]]:
    """How many of each tag a planted string could bring the page holds, and every handler or
    script link in it (a page of ours has none)."""
    counts: dict[str, int] = {}
    risky = []
    for tag, attrs in Elements(page).found:
        if tag in FORBIDDEN_TAGS:
            counts[tag] = counts.get(tag, 0) + 1
        risky += [f"<{tag} {a}>" for a in attrs if a.startswith("on")]
        for name in ("href", "src", "data", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            if value.startswith(("javascript", "vbscript", "data:text/html")):
                risky.append(f"<{tag} {name}={value[:40]}>")
    return counts, risky


def injected(page: str, baseline: str) -> list[str]:
    """What the page has that the same report with harmless text lacks: elements, handlers, links."""
    counts, risky = elements(page)
    base_counts, _ = elements(baseline)
    extra = [f"<{tag}> x{n - base_counts.get(tag, 0)}" for tag, n in sorted(counts.items()) if n > base_counts.get(tag, 0)]
    return extra + risky


def plant(tmp_path, field: str, payload: str):
    claims = [dict(c) for c in CLAIMS]
    deviations = [dict(d) for d in DEVIATIONS]
    if field == "claim quote":
        claims[0] = {**claims[0], "quote": payload}
    if field == "claim row":
        claims[0] = {**claims[0], "source": {**claims[0]["source"], "row": payload}}
    if field.startswith("deviation "):
        deviations[0] = {**deviations[0], field.split()[1]: payload}
    paper_dir = write_paper(tmp_path, claims=claims, deviations=deviations)
    meta = {**PAPER}
    if field == "title":
        meta["title"] = f"Deep Nets {payload}"
    if field == "author":
        meta["authors"] = [payload, "A. Person"]
    (paper_dir / "paper.yaml").write_text(yaml.safe_dump(meta))
    repro = tmp_path / "reproductions" / "mnist1d"
    model = payload if field == "run model choice" else "cnn"
    if model != "cnn":
        claims.append(claim("table1.hostile.standard.test_acc", select={"model": model, "data": "standard"}))
        (paper_dir / "claims.yaml").write_text(yaml.safe_dump({"claims": claims}, allow_unicode=True))
    write_run(repro, "20261123-110000-aaaaa0", seed=0, acc=94.0, model=model, curve=False,  # no curve: no figure to draw
              message=payload if field == "run message" else None, status="failed" if field == "run message" else "completed")
    write_run(repro, "20261123-120000-bbbbb0", seed=1, acc=93.0, curve=False)
    return paper_dir, repro


BASELINES: dict[str, str] = {}


def baseline(tmp_path_factory, field: str) -> str:
    """report.html with harmless text in the same field (made once per field)."""
    if field not in BASELINES:
        paper_dir, repro = plant(tmp_path_factory.mktemp("benign"), field, BENIGN)
        write_report(paper_dir, repro)
        BASELINES[field] = (repro / "report.html").read_text(encoding="utf-8")
    return BASELINES[field]


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), payload=st.one_of(st.sampled_from(VECTORS),
                                                        st.lists(st.sampled_from(VECTORS), min_size=2, max_size=3).map(" ".join)))
def test_hostile_text_in_any_input_reaches_report_html_escaped(tmp_path_factory, field, payload):
    tmp_path = tmp_path_factory.mktemp("xss")
    paper_dir, repro = plant(tmp_path, field, payload)
    tally("html_injections_tried", what=field)
    try:
        write_report(paper_dir, repro)
    except Exception as exc:  # a one-line refusal (e.g. a claim id rules out the text) is fine; a crash is not
        from workbench.errors import UserError

        if not isinstance(exc, UserError):
            tally("crashes", input=f"{field}: {payload[:60]}", error=repr(exc)[:300])
            raise
        assert "\n" not in str(exc)
        return
    page = (repro / "report.html").read_text(encoding="utf-8")
    found = injected(page, baseline(tmp_path_factory, field))
    assert found == [], (field, payload, found)
    tally("html_injections_escaped", what=field)


def test_the_detector_sees_an_injection_when_there_is_one():
    """The check above could fail: raw markup in a page is found."""
    base = "<html><body><p>ok</p><style></style></body></html>"
    assert injected("<html><body><p>ok</p><style></style><img src=x onerror=alert(1)><script>1</script></body></html>",
                    base) == ["<script> x1", "<img onerror>"]
    assert injected('<a href=" JavaScript:alert(1)">x</a><style></style><style></style>', base) == ["<style> x1", "<a href=javascript:alert(1)>"]
    assert injected(base, base) == []
