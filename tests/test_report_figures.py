"""The report's figures as a reader needs them: 200 dpi PNG beside SVG, metrics named in words with
units, log axes for values spanning decades, no flat "curves" of scalars, the paper's values dashed
black, a colour-blind-safe palette, and small multiples past four lines."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from functools import partial

import pytest
from PIL import Image

from test_report import claim, write_paper, write_run
from workbench.report.analysis import ConfusionDrawers
from workbench.report.context import Confusion
from workbench.report.drawing import Drawings
from workbench.report.figures import PALETTE, spans_decades
from workbench.report.write import write_report

TAB10_BLUE = "#1f77b4"  # matplotlib's default first colour: not colour-blind safe beside its red and green


def report(tmp_path, claims, runs):
    paper_dir = write_paper(tmp_path, claims=claims, deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for name, options in runs:
        write_run(repro, name, **options)
    write_report(paper_dir, repro)
    return repro


def svg_text(path) -> str:
    ET.fromstring(path.read_bytes())  # well-formed
    return path.read_text()


def test_every_figure_is_a_200_dpi_png_beside_an_svg_and_both_are_named(tmp_path):
    repro = report(tmp_path, [claim("t.cnn")], [(f"20261123-11000{s}-aaaaa{s}", {"seed": s, "acc": 93.0 + s})
                                                for s in range(3)])
    pngs = sorted((repro / "figures").glob("*.png"))
    assert pngs and {p.stem for p in pngs} == {p.stem for p in (repro / "figures").glob("*.svg")}
    for png in pngs:
        dpi = Image.open(png).info["dpi"]
        assert round(dpi[0]) == 200 and round(dpi[1]) == 200
        assert "<dc:date>" not in svg_text(png.with_suffix(".svg"))  # no clock: the same runs give the same bytes
    md = (repro / "REPORT.md").read_text()
    assert all(f"(figures/{p.name})" in md for p in pngs)  # REPORT.md shows the PNGs; report.html the SVGs
    assert "data:image/svg+xml;base64," in (repro / "report.html").read_text()


def test_axes_name_the_metric_in_words_with_its_unit_and_the_paper_is_dashed_black(tmp_path):
    repro = report(tmp_path, [claim("t.cnn")], [(f"20261123-11000{s}-aaaaa{s}", {"seed": s, "acc": 93.0 + s})
                                                for s in range(3)])
    curve = svg_text(repro / "figures" / "curve_test_acc.svg")
    assert "test accuracy (%)" in curve and "training step" in curve and "test/acc" not in curve
    assert re.search(r"stroke-dasharray: [\d.,]+; stroke-dashoffset: 0; stroke: #000000", curve)  # the paper
    assert PALETTE[0].lower() in curve and TAB10_BLUE not in curve
    assert "test accuracy (%)" in svg_text(repro / "figures" / "claims_test_acc.svg")


def test_values_spanning_decades_get_log_axes_and_a_range_never_below_zero(tmp_path):
    loss = claim("t.loss", metric="test/loss", value=0.001, std=0.002, goal="min")  # std > value: ± reaches below 0
    runs = [(f"20261123-11000{s}-aaaaa{s}", {"seed": s, "loss": loss_at_end}) for s, loss_at_end in
            enumerate([0.0008, 0.0012, 0.05])]
    repro = report(tmp_path, [loss], runs)
    curve = svg_text(repro / "figures" / "curve_test_loss.svg")  # the fixture's curve falls 3x; the seeds span 60x
    assert "test loss (log scale)" in curve and "min–max" in curve  # a log axis shows the seeds' range, not ± std
    claims = svg_text(repro / "figures" / "claims_test_loss.svg")
    assert "test loss (log scale)" in claims
    assert spans_decades([0.001, 0.2]) and not spans_decades([0.03, 0.2]) and not spans_decades([-1.0, 1000.0])


def test_a_metric_that_never_changes_gets_no_curve_but_its_claim_figure(tmp_path):
    grok = claim("t.grok", metric="test/grok_epoch", value=10000.0, std=None, tolerance={"kind": "rel", "value": 0.3})
    runs = [(f"20261123-11000{s}-aaaaa{s}", {"seed": s, "extra_metrics": {"test/grok_epoch": 7900.0 + s}})
            for s in range(2)]
    paper_dir = write_paper(tmp_path, claims=[claim("t.cnn"), grok], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for name, options in runs:
        run = write_run(repro, name, **options)
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        for row in rows:  # logged at every evaluation, always the same number: a scalar, not a curve
            if row["split"] == "test":
                row["grok_epoch"] = options["extra_metrics"]["test/grok_epoch"]
        (run / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    write_report(paper_dir, repro)
    assert not (repro / "figures" / "curve_test_grok_epoch.png").exists()
    assert (repro / "figures" / "claims_test_grok_epoch.png").exists()
    assert "test grok epoch" in svg_text(repro / "figures" / "claims_test_grok_epoch.svg")
    assert (repro / "figures" / "curve_test_acc.png").exists()


def test_more_than_four_configurations_are_small_multiples_with_one_colour_per_line(tmp_path):
    claims, runs = [], []
    for d, data in enumerate(("standard", "shuffled")):
        for m, model in enumerate(("cnn", "mlp", "gru")):
            claims.append(claim(f"t.{model}.{data}", value=50.0 + 10 * m, select={"model": model, "data": data}))
            runs += [(f"20261123-1{d}{m}00{s}-aaa{d}{m}{s}", {"seed": s, "model": model, "data": data,
                                                             "acc": 50.0 + 10 * m + s}) for s in range(2)]
    repro = report(tmp_path, claims, runs)
    curve = svg_text(repro / "figures" / "curve_test_acc.svg")
    assert "data=standard" in curve and "data=shuffled" in curve  # one panel per data variant
    assert "model=cnn (n=2)" in curve and "data=standard, model=cnn" not in curve
    assert all(colour.lower() in curve for colour in PALETTE[:3])


def _confusion(diagonal: int) -> Confusion:
    k = 10
    return Confusion([str(i) for i in range(k)], [[diagonal if i == j else (i + j) % 7 for j in range(k)]
                                                   for i in range(k)], 3, f"confusion_{diagonal}.png", [])


def test_figures_drawn_in_worker_processes_are_the_bytes_drawn_in_this_one():
    drawers = ConfusionDrawers()  # one figure redrawn per configuration, as the report does

    def drawings() -> Drawings:
        d = Drawings()
        for diagonal in (50, 90, 120, 300, 700):
            d.add(f"confusion_{diagonal}.png", partial(drawers.drawn, _confusion(diagonal), f"d={diagonal}"), tight=False)
        return d

    serial = drawings().draw_all(workers=1)
    parallel = drawings().draw_all(workers=2)
    assert len(serial) == 10 and sorted(parallel) == sorted(serial)
    assert all(parallel[name] == serial[name] for name in serial)
    assert serial["confusion_50.png"] != serial["confusion_90.png"]  # each figure shows its own matrix


def test_a_figure_that_fails_to_draw_in_a_worker_fails_the_report_with_its_error():
    def broken() -> None:
        raise ValueError("the figure's data is broken")

    d = Drawings()
    for i in range(4):
        d.add(f"f{i}.png", broken)
    with pytest.raises(ValueError, match="the figure's data is broken"):
        d.draw_all(workers=2)
