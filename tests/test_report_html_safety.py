"""report.html is stored XSS-proof: text from a paper's LaTeX, paper.yaml, claims, deviations and
run folders reaches the page escaped, and no link can run script."""

from __future__ import annotations

from html.parser import HTMLParser

import yaml

from test_report import CLAIMS, DEVIATIONS, PAPER, claim, write_paper, write_run
from workbench.report.html import render_html
from workbench.report.write import write_report

HOSTILE = '<img src="x" onerror="alert(1)"><script>alert(2)</script>'


class Elements(HTMLParser):
    """Every element the browser would build, with its attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_no_script(page: str) -> None:
    for tag, attrs in Elements(page).found:
        assert tag != "script", "a <script> element"
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> has an event handler {attrs}"
        for name in ("href", "src"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript"), f"<{tag} {name}={attrs[name]}>"


def test_hostile_text_in_every_input_is_escaped(tmp_path):
    source = {"arxiv": "2011.14439", "table": f"1 {HOSTILE}", "row": f"MNIST {HOSTILE}", "column": HOSTILE}
    claims = [claim("table1.cnn.standard.test_acc", quote=f"CNN {HOSTILE}", source=source), *CLAIMS[1:]]
    deviations = [{**DEVIATIONS[0], "why": f"see [here](javascript:alert(3)) {HOSTILE}"}]
    paper_dir = write_paper(tmp_path, claims=claims, deviations=deviations)
    (paper_dir / "paper.yaml").write_text(yaml.safe_dump({**PAPER, "title": f"Deep Nets {HOSTILE}"}))
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaa0", seed=0, acc=94.0, message=HOSTILE)
    write_report(paper_dir, repro)
    page = (repro / "report.html").read_text()
    assert_no_script(page)
    assert "&lt;script&gt;" in page  # shown as text, so a reader sees what the input said
    claims_table = page[page.index('<table class="claims">'):]
    assert "MNIST &lt;img" in claims_table[:claims_table.index("</table>")]  # the paper's row label, escaped


def test_safe_links_and_inlined_figures_still_work():
    page = render_html("![curve](figures/a.png) [abs](https://arxiv.org/abs/1) [up](../x.md) [x](JavaScript:alert(1))",
                       {"a.png": b"png"}, "t")
    assert 'src="data:image/png;base64,cG5n"' in page
    assert 'href="https://arxiv.org/abs/1"' in page and 'href="../x.md"' in page
    assert 'href="#"' in page
    assert_no_script(page)
