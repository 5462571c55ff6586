"""report.html: REPORT.md as one self-contained page, readable offline (the figures inlined)."""

from __future__ import annotations

import base64
from html import escape as escape_html

import markdown as markdown_lib

HTML_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 .2rem; }
pre { background: #f3f3f3; padding: .6rem; overflow-x: auto; }
"""


def render_html(markdown_text: str, pngs: dict[str, bytes], title: str) -> str:
    """The markdown as an HTML page; each figures/<name> image becomes a data URI of pngs[name]."""
    body = markdown_lib.markdown(markdown_text, extensions=["tables", "fenced_code"])
    for name, png in sorted(pngs.items()):
        data = base64.b64encode(png).decode("ascii")
        body = body.replace(f'src="figures/{name}"', f'src="data:image/png;base64,{data}"')
    return (f"<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape_html(title)}</title>\n<style>{HTML_STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
