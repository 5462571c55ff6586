"""report.html: the report as one self-contained, styled page (templates/report.html.j2, Jinja2).

Above the fold: the headline, the claims table (from headline.claim_tables, verdicts as coloured
badges) and the figures, inlined as SVG; below them the details, each a <details> element.
Text in the report comes from inputs nobody vetted (a paper's LaTeX, paper.yaml, claims, run
folders), so nothing passes into the page unescaped: the template autoescapes, the markdown
renderer's raw-HTML rules are switched off (a tag shows as text), and a link or image may only
point at http(s), a relative path or an anchor (no `javascript:`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as escape_html
from xml.etree.ElementTree import Element

import jinja2
import markdown as markdown_lib
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from workbench.report.format import slug
from workbench.report.headline import TABLE_NOTE, ClaimTable
from workbench.report.markdown import Section
from workbench.report.verdict import VERDICTS

SAFE_URL = re.compile(r"^(https?://|#|[A-Za-z0-9_./-]+$)", re.IGNORECASE)
MIME = {".png": "image/png", ".svg": "image/svg+xml"}
ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("workbench.report", "templates"), autoescape=True,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


class SafeLinks(Treeprocessor):
    """Drop href/src values that are not http(s), relative or an anchor."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not SAFE_URL.match(value.strip()):
                    element.set(attribute, "#")


def markdown_to_html(markdown_text: str) -> str:
    md = markdown_lib.Markdown(extensions=["tables", "fenced_code"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(SafeLinks(md), "safe_links", 0)
    return md.convert(markdown_text)


@dataclass(frozen=True)
class PageSection:
    """A section as the template draws it: its title and anchor, and its body already made safe HTML."""

    title: str
    anchor: str
    html: Markup
    folded: bool
    claims: bool


def render_html(markdown_text: str, images: dict[str, bytes], title: str) -> str:
    """One markdown text as a styled page; each figures/<name> image becomes a data URI of images[name]
    (of its SVG where images holds name.svg)."""
    return render_report_html([Section(markdown_text)], [], images, title)


def render_report_html(sections: Sequence[Section], tables: Sequence[ClaimTable], images: dict[str, bytes],
                       title: str) -> str:
    """The report's sections as a page: the claims section drawn from `tables`, folded sections in <details>."""
    shown = [_page_section(s, images) for s in sections]
    return ENVIRONMENT.get_template("report.html.j2").render(
        title=title, sections=shown, tables=tables, note=TABLE_NOTE, verdicts=VERDICTS, verdict_class=verdict_class)


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict's badge: "v-not-reproduced"."""
    return "v-" + verdict.replace(" ", "-")


def _page_section(section: Section, images: dict[str, bytes]) -> PageSection:
    html = _inline_images(markdown_to_html(section.body), images)
    anchor = slug(section.title).lower() if section.title else "top"
    # markdown_to_html escapes every tag of the input and SafeLinks vetted its URLs: the result is safe
    return PageSection(section.title, anchor, Markup(html), section.folded, section.claims)


def _inline_images(html: str, images: dict[str, bytes]) -> str:
    """figures/<name>.png as a data URI: of name.svg where there is one (sharp at any zoom, and in print)."""
    for name in sorted(n for n in images if n.endswith(".png")):
        svg = name.removesuffix(".png") + ".svg"
        shown = svg if svg in images else name
        data = base64.b64encode(images[shown]).decode("ascii")
        html = html.replace(f'src="figures/{escape_html(name)}"', f'src="data:{MIME[shown[-4:]]};base64,{data}"')
    return html
