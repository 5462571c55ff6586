"""report.html: REPORT.md as one self-contained page, readable offline (the figures inlined).

Text in the report comes from inputs nobody vetted (a paper's LaTeX, paper.yaml, claims, run
folders), so the page never passes raw HTML through: the markdown renderer's raw-HTML rules are
switched off (a tag shows as text), and a link or image may only point at http(s), a relative
path or an anchor (no `javascript:`).
"""

from __future__ import annotations

import base64
import re
from html import escape as escape_html
from xml.etree.ElementTree import Element

import markdown as markdown_lib
from markdown.treeprocessors import Treeprocessor

HTML_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 .2rem; }
pre { background: #f3f3f3; padding: .6rem; overflow-x: auto; }
"""
SAFE_URL = re.compile(r"^(https?://|#|[A-Za-z0-9_./-]+$)", re.IGNORECASE)


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


def render_html(markdown_text: str, pngs: dict[str, bytes], title: str) -> str:
    """The markdown as an HTML page; each figures/<name> image becomes a data URI of pngs[name]."""
    body = markdown_to_html(markdown_text)
    for name, png in sorted(pngs.items()):
        data = base64.b64encode(png).decode("ascii")
        body = body.replace(f'src="figures/{escape_html(name)}"', f'src="data:image/png;base64,{data}"')
    return (f"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape_html(title)}</title>\n<style>{HTML_STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
