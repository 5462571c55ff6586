"""What a paper says about itself: its title (\\title[short]{…}, \\icmltitle{…} and the other
templates' spellings) and the official code it links to (code_url in paper.yaml)."""

from __future__ import annotations

import re

from workbench.fetch.cells import plain_text
from workbench.fetch.sections import document_body
from workbench.fetch.tex import Document, read_args, read_group, skip_spaces

# Conference and journal templates that do not use \title: ICML, AISTATS, COLT, TMLR/JMLR
# variants, MDPI, Elsevier's \tnote-free forms, IEEE's \IEEEtitle, and a few common shorthands.
TITLE_COMMANDS = ("icmltitle", "aistatstitle", "title", "Title", "TITLE", "papertitle", "articletitle", "maintitle",
                  "IEEEtitle", "jmlrtitle", "coltTitle", "ShortHeadings")
TITLE = re.compile(r"\\(" + "|".join(TITLE_COMMANDS) + r")\s*(?=[\[{])")
DROP_IN_TITLE = re.compile(r"\\(thanks|footnote|footnotemark|icmlsetsymbol|tnoteref|fnref)\b")
URL = re.compile(r"\\url\s*\{([^{}\s]+)\}|\\href\s*\{([^{}\s]+)\}|(https?://[^\s{}\\,;)]+)")
CODE_HOSTS = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|huggingface\.co|codeberg\.org|"
                        r"sourceforge\.net|git\.)", re.IGNORECASE)
CODE_WORDS = re.compile(r"\bcode\b|implementation|available|release|open[- ]?source|repository|reproduc", re.IGNORECASE)
OURS = re.compile(r"\bour\b|\bwe (?:release|provide|make|open)|this (?:paper|work)|\bthe authors\b", re.IGNORECASE)


def paper_title(doc: Document) -> str | None:
    """The first title command's long form, with \\thanks and \\\\ line breaks taken out."""
    order = {name: i for i, name in enumerate(TITLE_COMMANDS)}
    found = sorted(TITLE.finditer(doc.text), key=lambda m: (order[m.group(1)], m.start()))
    for match in found:
        if match.group(1) == "ShortHeadings":
            continue  # JMLR's \ShortHeadings{short}{authors}: a running head, never the title
        (text,), _ = read_args(doc.text, match.end(), 1)
        text = _without_thanks(text).replace("\\\\", " ")
        title = plain_text(text)
        if title:
            return title
    return None


def _without_thanks(text: str) -> str:
    out, i = [], 0
    while match := DROP_IN_TITLE.search(text, i):
        out.append(text[i:match.start()])
        j = skip_spaces(text, match.end())
        if j < len(text) and text[j] == "{":
            _, j = read_group(text, j)
        i = j
    out.append(text[i:])
    return "".join(out)


def code_url(doc: Document) -> tuple[str, int] | None:
    """The first code-hosting link said to be the paper's code ("code is available at …"), or
    the first one in a footnote or the abstract, with its offset; None when the paper links none."""
    start, stop = document_body(doc)
    text = doc.text
    said_code, in_note = None, None
    for match in URL.finditer(text, start, stop):
        url = (match.group(1) or match.group(2) or match.group(3)).rstrip(".")
        if not CODE_HOSTS.match(url):
            continue
        around = text[max(start, match.start() - 200):match.start()]
        sentence = re.split(r"\.\s|\n\s*\n", around)[-1]
        if CODE_WORDS.search(sentence) and OURS.search(sentence):
            return url, match.start()  # "our code is available at …": the paper's own
        if said_code is None and CODE_WORDS.search(sentence):
            said_code = url, match.start()
        if in_note is None and re.search(r"\\footnote\s*\{[^{}]*$|\\begin\{abstract\}", around):
            in_note = url, match.start()
    return said_code or in_note
