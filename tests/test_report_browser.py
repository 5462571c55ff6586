"""report.html in a real browser (headless Chromium): the claims table and every figure show, the
details are folded below the figures, the verdicts are coloured badges, and the page prints.

`make test` installs Debian's chromium first (Makefile target `browser`); this test is skipped
only when no chromium can be found.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_report import confusion, write_paper, write_run
from workbench.report.write import write_report

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
# Runs after load, inside the page: records what the browser actually laid out and decoded.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const cells = [...document.querySelectorAll("td")].filter(td => td.getBoundingClientRect().width > 0);
  document.body.dataset.images = imgs.length;
  document.body.dataset.decoded = imgs.filter(i => i.complete && i.naturalWidth > 100 && i.getBoundingClientRect().height > 50).length;
  document.body.dataset.cells = cells.length;
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no chromium on PATH: `make browser` (run by `make test`) installs it (apt-get install chromium); report.html not rendered")


def browse(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,5000", *args,
               page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def report_html(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, acc in enumerate([93.0, 94.0, 95.0]):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=acc, confusion=confusion(8))
    write_report(paper_dir, repro)
    return repro / "report.html"


def test_the_browser_lays_out_the_claims_table_and_decodes_every_figure(tmp_path, report_html):
    probed = tmp_path / "probed.html"
    probed.write_text(report_html.read_text().replace("</body>", PROBE + "\n</body>"))
    proc = browse(tmp_path, probed, "--virtual-time-budget=5000", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", proc.stdout).group(1)
    data = dict(re.findall(r'data-(\w+)="(\d+)"', body))
    n_figures = len(list((report_html.parent / "figures").glob("*.png")))
    assert int(data["images"]) == n_figures >= 3
    assert int(data["decoded"]) == n_figures  # every inlined PNG decoded and laid out at a real size
    assert int(data["cells"]) > 12
    assert "table1.cnn.standard.test_acc" in proc.stdout and "<strong>reproduced</strong>" in proc.stdout


def test_the_screenshot_shows_the_table_and_coloured_figures(tmp_path, report_html):
    shot = tmp_path / "shot.png"
    proc = browse(tmp_path, report_html, f"--screenshot={shot}")
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (5000, 1200)
    # the table's header row is shaded #f3f3f3 with #ccc borders near the top of the page
    top = pixels[:800]
    assert (np.abs(top - 0xF3).max(axis=2) <= 2).sum() > 5000
    assert (np.abs(top - 0xCC).max(axis=2) <= 8).sum() > 500
    # the page's text is grey; only the figures (plots, the blue confusion matrix) are saturated colour
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    rows_with_colour = np.nonzero((saturation > 80).sum(axis=1) > 20)[0]
    assert len(rows_with_colour) > 150  # the blue arXiv link alone is about 15 rows


# Measures, inside the page, what a reader sees first and what is folded; written to the body as JSON.
LAYOUT_PROBE = """<script>
window.addEventListener("load", () => {
  const top = el => el.getBoundingClientRect().top + window.scrollY;
  const table = document.querySelector("table.claims");
  const badge = cls => getComputedStyle(document.querySelector(".badge." + cls)).backgroundColor;
  const details = [...document.querySelectorAll("details")];
  const height = () => document.querySelector("main").getBoundingClientRect().height;
  const folded = height();
  const hiddenItems = [...document.querySelectorAll("details li")].filter(li => !li.checkVisibility());
  details.forEach(d => d.open = true);
  document.body.dataset.probe = JSON.stringify({
    tableTop: top(table), tableBottom: top(table) + table.getBoundingClientRect().height,
    firstFigureTop: top(document.images[0]), details: details.length,
    summaries: details.map(d => d.querySelector("summary").textContent),
    hiddenItems: hiddenItems.length, folded: folded, unfolded: height(),
    reproduced: badge("v-reproduced"), notReproduced: badge("v-not-reproduced"),
  });
});
</script>"""


def test_the_table_comes_first_then_the_figures_and_the_details_are_folded(tmp_path, report_html):
    probed = tmp_path / "probed.html"
    probed.write_text(report_html.read_text().replace("</body>", LAYOUT_PROBE + "\n</body>"))
    proc = browse(tmp_path, probed, "--virtual-time-budget=5000", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', proc.stdout).group(1)))
    assert seen["tableTop"] < 700  # the headline is short: the claims table starts on the first screen
    assert seen["tableBottom"] < seen["firstFigureTop"]  # then the figures
    assert {"Claim details", "Deviations from the paper", "Runs excluded", "Provenance"} <= set(seen["summaries"])
    assert seen["hiddenItems"] >= 3  # every claim's details is in the page, folded away
    assert seen["unfolded"] > seen["folded"] + 300
    # verdicts are coloured badges (Okabe-Ito tints), not bold text alone
    assert seen["reproduced"] == "rgb(217, 242, 233)" and seen["notReproduced"] == "rgb(249, 220, 204)"


def test_the_page_prints_to_pdf(tmp_path, report_html):
    pdf = tmp_path / "report.pdf"
    proc = browse(tmp_path, report_html, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert proc.returncode == 0 and pdf.exists(), proc.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 2
