import copy
import json
import math

import pytest
import yaml

from workbench.claims.schema import Claim
from workbench.errors import UserError
from workbench.report.compare import compare
from workbench.report.write import write_report
from workbench.run.record import load_runs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

PAPER = {
    "name": "mnist1d",
    "arxiv_id": "2011.14439",
    "version": "v2",
    "title": "Scaling Down Deep Learning",
    "authors": ["Sam Greydanus"],
    "year": 2020,
    "abs_url": "https://arxiv.org/abs/2011.14439v2",
    "pdf_url": "https://arxiv.org/pdf/2011.14439v2",
    "bibtex": "@article{greydanus2020scaling}",
}


def claim(id, metric="test/acc", value=94.0, std=2.0, select=None, goal="max", status="confirmed", **extra):
    return {
        "id": id,
        "quote": f"{id} | {value}",
        "source": {"arxiv": "2011.14439", "table": 1, "row": "MNIST-1D", "column": "CNN", "file": None, "line": None},
        "metric": metric,
        "value": value,
        "std": std,
        "n_seeds": 3,
        "unit": "%" if metric.endswith("acc") else "",
        "goal": goal,
        "select": select if select is not None else {"model": "cnn", "data": "standard"},
        "tolerance": {"kind": "paper_std", "k": 2},
        "status": status,
        **extra,
    }


CLAIMS = [
    claim("table1.cnn.standard.test_acc", value=94.0, std=2.0),
    claim("table1.mlp.standard.test_acc", value=68.0, std=2.0, select={"model": "mlp", "data": "standard"}),
    claim("table1.cnn.standard.test_loss", metric="test/loss", value=0.2, std=None, goal="min",
          tolerance={"kind": "abs", "value": 0.05}),
    claim("table1.gru.standard.test_acc", value=91.0, std=None, status="candidate",
          tolerance={"kind": "abs", "value": 1.0}, select={"model": "gru", "data": "standard"}),
]

DEVIATIONS = [
    {"what": "epochs", "paper": "6000 steps (§3)", "we_do": "the same", "why": "a | pipe", "affects": ["table1.cnn.standard.test_acc"]}
]


def write_paper(root, claims=CLAIMS, deviations=DEVIATIONS):
    paper_dir = root / "papers" / "mnist1d"
    paper_dir.mkdir(parents=True)
    (paper_dir / "paper.yaml").write_text(yaml.safe_dump(PAPER, sort_keys=False))
    (paper_dir / "claims.yaml").write_text(yaml.safe_dump({"claims": claims}, sort_keys=False, allow_unicode=True))
    (paper_dir / "deviations.yaml").write_text(yaml.safe_dump(deviations, sort_keys=False))
    return paper_dir


def write_run(repro_dir, name, *, model="cnn", data="standard", seed=0, status="completed", acc=94.0, loss=0.21,
              stage="reproduction", message=None, confusion=None, extra_metrics=None, curve=True, sha="abc1234",
              dirty=False):
    """A run folder in exactly the format the trainer writes (docs/run-folder.md)."""
    run = repro_dir / "runs" / stage / name
    run.mkdir(parents=True)
    config = {
        "choices": {"stage": stage, "model": model, "data": data, "trainer": "default", "logger": "local", "paths": "default"},
        "seed": seed,
        "optim": {"lr": 0.01},
        "trainer": {"max_steps": 6000, "eval_every": 250},
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "overrides.yaml").write_text(yaml.safe_dump([f"stage={stage}", f"model={model}", f"data={data}", f"seed={seed}"]))
    metrics = {"test/acc": acc, "test/loss": loss, "train/loss": 0.01, "train/acc": 100.0, **(extra_metrics or {})}
    summary = {
        "status": status, "paper": "mnist1d", "stage": stage, "seed": seed, "step": 6000,
        "metrics": metrics, "best": {"test/acc": {"value": acc + 1, "step": 4750}},
        "wall_time_s": 12.0 + seed, "steps_per_s": 500.0, "params": 5835, "peak_memory_mb": 210.0,
        "message": message, "started_at": "2026-11-23T11:00:00+00:00", "finished_at": "2026-11-23T11:00:12+00:00",
    }
    (run / "summary.json").write_text(json.dumps(summary))
    if curve:
        lines = []
        for step in (250, 500, 750):
            lines.append({"step": step - 200, "split": "train", "loss": 1.0 / step, "acc": 50.0})
            lines.append({"step": step, "split": "test", "acc": acc * step / 750, "loss": loss * 750 / step})
        (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    provenance = {
        "git": {"sha": sha, "dirty": dirty, "diff_sha256": "0" * 64 if dirty else None},
        "packages": {"torch": "2.13.0", "numpy": "2.4.6"},
        "python": "3.11.7", "device": "cpu", "command": f"workbench run mnist1d seed={seed}",
        "host": "box", "data_hash": "d" * 8,
    }
    (run / "provenance.json").write_text(json.dumps(provenance))
    if confusion is not None:
        analysis = {"split": "test", "class_names": [str(i) for i in range(len(confusion))], "confusion_matrix": confusion}
        (run / "analysis.json").write_text(json.dumps(analysis))
    return run


def confusion(correct, k=3, wrong_to=1):
    """k classes of 10 samples each; `correct` right in every class but `wrong_to`, the rest predicted as it."""
    matrix = [[0] * k for _ in range(k)]
    for i in range(k):
        right = 10 if i == wrong_to else correct
        matrix[i][i] = right
        matrix[i][wrong_to] += 10 - right
    return matrix


@pytest.fixture
def project(tmp_path):
    """mnist1d with cnn seeds 0-2 (one diverged extra), mlp seeds 0-2, an incomplete and a corrupt run."""
    paper_dir = write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed, acc in enumerate([93.0, 94.0, 95.0]):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", seed=seed, acc=acc, loss=0.2, confusion=confusion(8))
    for seed, acc in enumerate([80.0, 80.5, 81.0]):
        write_run(repro, f"20261123-12000{seed}-bbbbb{seed}", model="mlp", seed=seed, acc=acc)
    write_run(repro, "20261123-130000-cccccc", seed=3, status="diverged", acc=float("nan"),
              message="loss became NaN at step 812; lower optim.lr")
    write_run(repro, "20261123-140000-dddddd", seed=4, status="running")
    corrupt = write_run(repro, "20261123-150000-eeeeee", seed=5)
    (corrupt / "summary.json").write_text('{"status": "compl')
    (repro / "runs" / "reproduction" / "20261123-160000-ffffff").mkdir()  # crashed before writing anything
    return paper_dir, repro


# --- load_runs -------------------------------------------------------------------------------


def test_load_runs_keeps_finished_and_skips_incomplete(project):
    _, repro = project
    runs, skipped = load_runs(repro / "runs")
    assert [r.path.name for r in runs] == [
        "20261123-110000-aaaaa0", "20261123-110001-aaaaa1", "20261123-110002-aaaaa2",
        "20261123-120000-bbbbb0", "20261123-120001-bbbbb1", "20261123-120002-bbbbb2",
        "20261123-130000-cccccc",
    ]
    assert [p.name for p in skipped] == ["20261123-140000-dddddd", "20261123-150000-eeeeee", "20261123-160000-ffffff"]
    diverged = runs[-1]
    assert (diverged.status, diverged.seed, diverged.stage) == ("diverged", 3, "reproduction")
    assert runs[0].config["choices"]["model"] == "cnn"


def test_load_runs_of_a_missing_folder_is_empty(tmp_path):
    assert load_runs(tmp_path / "runs") == ([], [])


# --- compare ---------------------------------------------------------------------------------


def test_compare_averages_completed_runs_and_lists_diverged(project):
    _, repro = project
    runs, _ = load_runs(repro / "runs")
    claims = [Claim(**c) for c in CLAIMS]
    results = {r.claim.id: r for r in compare(claims, runs).results}
    assert set(results) == {"table1.cnn.standard.test_acc", "table1.mlp.standard.test_acc", "table1.cnn.standard.test_loss"}

    cnn = results["table1.cnn.standard.test_acc"]
    assert cnn.values == [93.0, 94.0, 95.0]  # the diverged NaN run is not averaged
    assert cnn.stats.mean == pytest.approx(94.0) and cnn.stats.n == 3
    assert cnn.verdict == "reproduced"
    assert [(e.run.path.name, e.status) for e in cnn.excluded] == [("20261123-130000-cccccc", "diverged")]
    assert cnn.welch_p == pytest.approx(1.0)

    mlp = results["table1.mlp.standard.test_acc"]  # 80.5 vs 68 ± 4, tight seeds
    assert (mlp.verdict, mlp.judgement.direction) == ("not reproduced", "better")
    assert results["table1.cnn.standard.test_loss"].verdict == "reproduced"


def test_compare_counts_a_rerun_seed_once(project):
    _, repro = project
    write_run(repro, "20261124-090000-aaaaa9", seed=0, acc=99.0)  # seed 0 again, newer
    runs, _ = load_runs(repro / "runs")
    (cnn,) = compare([Claim(**CLAIMS[0])], runs).results
    assert [r.seed for r in cnn.runs] == [0, 1, 2]  # ordered by seed, whatever order they finished in
    assert cnn.values == [99.0, 94.0, 95.0]  # seed 0's newer run replaces the older one
    assert ("20261123-110000-aaaaa0", "superseded") in [(e.run.path.name, e.status) for e in cnn.excluded]


def test_claim_without_matching_runs_is_missing(project):
    _, repro = project
    runs, _ = load_runs(repro / "runs")
    (result,) = compare([Claim(**claim("table1.cnn.noisy", select={"model": "cnn", "data": "noisy"}))], runs).results
    assert result.verdict == "missing" and result.stats is None and result.runs == []


def test_unknown_metric_makes_the_claim_missing_with_a_note_naming_it(project):
    _, repro = project
    runs, _ = load_runs(repro / "runs")
    (result,) = compare([Claim(**claim("x", metric="test/accuracy"))], runs).results
    assert result.verdict == "missing" and result.stats is None
    assert "'x'" in result.note and "'test/accuracy'" in result.note
    assert "test/acc, test/loss, train/acc, train/loss" in result.note
    assert "\n" not in result.note


# --- write_report ----------------------------------------------------------------------------


def test_comparison_json_structure(project):
    paper_dir, repro = project
    returned = write_report(paper_dir, repro)
    text = (repro / "comparison.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data == returned
    assert data["schema_version"] == 2
    assert data["paper"]["arxiv_id"] == "2011.14439" and data["paper"]["title"] == PAPER["title"]
    assert isinstance(data["generated_at"], str)
    assert [c["id"] for c in data["claims"]] == [
        "table1.cnn.standard.test_acc", "table1.mlp.standard.test_acc", "table1.cnn.standard.test_loss"]
    assert data["not_confirmed"] == ["table1.gru.standard.test_acc"]
    keys = {"id", "metric", "paper", "ours", "verdict", "tolerance", "runs", "excluded", "welch_p", "direction", "scale",
            "interval90", "interval95", "seeds_needed", "note", "off_recipe"}
    for entry in data["claims"]:
        assert keys <= set(entry)
        assert set(entry["paper"]) == {"value", "std", "n"}
        assert set(entry["ours"]) == {"mean", "std", "n", "ci95"}
        assert entry["verdict"] in {"reproduced", "not reproduced", "inconclusive", "not comparable", "missing"}
    cnn = data["claims"][0]
    assert cnn["paper"] == {"value": 94.0, "std": 2.0, "n": 3}
    assert cnn["ours"]["mean"] == pytest.approx(94.0) and cnn["ours"]["n"] == 3
    lo, hi = cnn["ours"]["ci95"]
    assert lo < 94.0 < hi
    assert cnn["tolerance"] == {"kind": "paper_std", "k": 2.0, "width": 4.0}
    assert [r["run"] for r in cnn["runs"]] == [f"evidence/reproduction/20261123-11000{s}-aaaaa{s}" for s in range(3)]
    assert [(r["value"], r["seed"], r["commit"], r["side"]) for r in cnn["runs"]] == [
        (93.0, 0, "abc1234", "select"), (94.0, 1, "abc1234", "select"), (95.0, 2, "abc1234", "select")]
    assert len({r["config_hash"] for r in cnn["runs"]}) == 1  # the same recipe, seeds aside
    assert cnn["excluded"] == [{"run": "evidence/reproduction/20261123-130000-cccccc", "status": "diverged"}]
    assert cnn["scale"] == "linear" and data["claims"][2]["scale"] == "log"  # test/loss: a loss
    lo90, hi90 = cnn["interval90"]
    assert 90.0 <= lo90 < 94.0 < hi90 <= 98.0  # reproduced: the 90% interval lies inside the band
    assert data["claims"][2]["welch_p"] is None  # paper gives no std for the loss
    assert data["summary"]["reproduced"] == 2 and data["summary"]["total"] == 3
    assert data["summary"]["by_verdict"]["not reproduced"] == 1
    assert data["claims"][1]["direction"] == "better"
    assert data["commit"] == {"sha": "abc1234", "dirty": False}
    assert data["summary"]["runs"] == 6 and data["summary"]["seeds"] == [0, 1, 2]


def test_infinite_interval_is_written_as_null(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0]])
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaaa", acc=80.0)  # one seed, 7 paper stds off: not reproduced
    data = write_report(paper_dir, repro)
    assert (data["claims"][0]["verdict"], data["claims"][0]["direction"]) == ("not reproduced", "worse")
    assert data["claims"][0]["spread"] == "paper std"
    assert data["claims"][0]["ours"]["ci95"] == [None, None]
    assert "Infinity" not in (repro / "comparison.json").read_text()


def test_report_is_identical_when_generated_twice(project):
    paper_dir, repro = project
    first = write_report(paper_dir, repro)
    md_first = (repro / "REPORT.md").read_bytes()
    html_first = (repro / "report.html").read_bytes()
    figures_first = {p.name: p.read_bytes() for p in (repro / "figures").glob("*")}  # PNG and SVG
    assert any(name.endswith(".svg") for name in figures_first)
    second = write_report(paper_dir, repro)
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second
    assert (repro / "REPORT.md").read_bytes() == md_first
    assert {p.name: p.read_bytes() for p in (repro / "figures").glob("*")} == figures_first
    assert (repro / "report.html").read_bytes() == html_first
    assert not [p for p in repro.rglob("*.tmp")]  # atomic writes leave no temp files


def test_report_markdown_sections(project):
    paper_dir, repro = project
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    assert md.startswith("# Reproduction report: Scaling Down Deep Learning")
    assert "[arXiv:2011.14439v2](https://arxiv.org/abs/2011.14439v2)" in md
    assert "**2 of 3 claims reproduced**" in md
    # the claims as the paper's table 1 lays them out (row, column), with Δ, tolerance and a marked verdict;
    # a row label the row above has is left blank, as in the paper
    assert "### Table 1" in md
    assert "|  | row | column | paper | ours (mean ± std, n) | Δ | tolerance | verdict |" in md
    assert "| ✅ | MNIST-1D | CNN | 94 ± 2% | 94 ± 1% (n=3) | 0% | ±4% | **reproduced** |" in md
    assert "| ❌ |  | CNN | 68 ± 2% | 80.50 ± 0.50% (n=3) | +12.5% | ±4% | **not reproduced (better)** |" in md
    assert "from 6 completed run(s) (seeds 0, 1, 2) at stage `reproduction`, commit `abc1234`." in md
    assert "| ✅ |  | CNN | 0.2 | 0.2 ± 0 (n=3) | 0 (×1) | ±0.05 | **reproduced** |" in md  # a loss: × ours / paper
    # the headline, the table, the figures; the details below them
    order = ["## Claims", "## Paper vs ours", "## Learning curves", "## Error analysis", "## Claim details",
             "## Deviations from the paper", "## Runs excluded", "## How to re-run"]
    assert [md.index(title) for title in order] == sorted(md.index(title) for title in order)
    assert "- `table1.cnn.standard.test_acc`: “table1.cnn.standard.test_acc \\| 94.0” (arXiv 2011.14439, table 1" in md
    assert "paper 94 ± 2% (n=3); tolerance ±4% (2 × paper std)" in md
    # candidates are listed, not compared
    assert "## Not yet confirmed" in md and "`table1.gru.standard.test_acc`" in md
    # the diverged run and its message; the incomplete folders
    assert "| `evidence/reproduction/20261123-130000-cccccc` | data=standard, model=cnn | 3 | diverged | loss became NaN at step 812; lower optim.lr |" in md
    assert "`runs/reproduction/20261123-140000-dddddd`" in md and "`runs/reproduction/20261123-160000-ffffff`" in md
    # deviations, with the pipe escaped
    assert "| epochs | 6000 steps (§3) | the same | a \\| pipe | `table1.cnn.standard.test_acc` |" in md
    # cost per configuration: mean wall time of seeds 0..2 is 13 s
    assert "| data=standard, model=cnn | 3 | 13 | 500 | 5835 | 210 |" in md
    assert "![test/acc](figures/curve_test_acc.png)" in md
    # provenance: distinct shas with dirty flags (one commit: the report's), packages of the first run
    assert "| `abc1234` | false | 6 |" in md
    assert "| torch | 2.13.0 |" in md
    # how to re-run: the averaged runs' own overrides, one command per configuration with its seeds
    assert ("workbench run mnist1d -m stage=reproduction model=cnn data=standard seed=0,1,2\n"
            "workbench run mnist1d -m stage=reproduction model=mlp data=standard seed=0,1,2\nworkbench report mnist1d") in md


def test_error_analysis_for_every_configuration_with_analysis(project):
    paper_dir, repro = project
    write_report(paper_dir, repro)
    png = repro / "figures" / "confusion_data-standard_model-cnn.png"
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    import matplotlib.image

    assert matplotlib.image.imread(png).ndim == 3  # decodes as an image
    assert not (repro / "figures" / "confusion_data-standard_model-mlp.png").exists()  # mlp wrote no analysis.json
    md = (repro / "REPORT.md").read_text()
    assert "### data=standard, model=cnn" in md
    # 3 runs × 10 samples per class; classes 0 and 2 lose 2 each to class 1
    assert "| 0 | 30 | 24 | 80 | 1 (6) |" in md
    assert "| 1 | 30 | 30 | 100 | — |" in md


def test_report_works_for_a_non_cnn_config_with_analysis(tmp_path):
    mlp_claim = claim("t.mlp", value=80.0, select={"model": "mlp"})
    paper_dir = write_paper(tmp_path, claims=[mlp_claim], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    for seed in range(2):
        write_run(repro, f"20261123-11000{seed}-aaaaa{seed}", model="mlp", seed=seed, acc=80.0, confusion=confusion(10, k=4))
    write_report(paper_dir, repro)
    assert (repro / "figures" / "confusion_model-mlp.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "| 3 | 20 | 20 | 100 | — |" in (repro / "REPORT.md").read_text()


def test_unknown_metric_still_writes_the_report_with_a_warning(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[claim("x", metric="test/accuracy")], deviations=[])
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaaa")
    data = write_report(paper_dir, repro)
    assert data["claims"][0]["verdict"] == "missing"
    assert any("'test/accuracy'" in w for w in data["warnings"])
    md = (repro / "REPORT.md").read_text()
    assert "## Warnings about the inputs" in md and "'test/accuracy'" in md


def test_deviation_naming_an_unknown_claim_is_refused(tmp_path):
    bad = copy.deepcopy(DEVIATIONS)
    bad[0]["affects"] = ["table1.cnn.typo"]
    paper_dir = write_paper(tmp_path, deviations=bad)
    with pytest.raises(UserError, match=r"deviations.yaml: deviation 1 'epochs': field 'affects': no claim 'table1.cnn.typo'"):
        write_report(paper_dir, tmp_path / "reproductions" / "mnist1d")


def test_report_with_no_runs_marks_claims_missing(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = tmp_path / "reproductions" / "mnist1d"
    data = write_report(paper_dir, repro)
    assert [c["verdict"] for c in data["claims"]] == ["missing"] * 3
    assert all(c["ours"] == {"mean": None, "std": None, "n": 0, "ci95": None} for c in data["claims"])
    md = (repro / "REPORT.md").read_text()
    assert "**0 of 3 claims reproduced** (3 missing)" in md
    assert "seed=0,1,2" in md  # a default seed list when none was seen
    assert math.isclose(data["claims"][0]["tolerance"]["width"], 4.0)


def test_a_run_lacking_the_metric_is_excluded_when_others_log_it(tmp_path):
    repro = tmp_path / "reproductions" / "mnist1d"
    write_run(repro, "20261123-110000-aaaaa0", seed=0, acc=94.0)
    old = write_run(repro, "20261123-110001-aaaaa1", seed=1, acc=94.0)
    summary = json.loads((old / "summary.json").read_text())
    del summary["metrics"]["test/acc"]
    (old / "summary.json").write_text(json.dumps(summary))
    broken = write_run(repro, "20261123-105900-aaaaa2", seed=2, acc=94.0)  # older: the tie goes to abc1234
    (broken / "provenance.json").write_text("[not a mapping]")  # must not break anything either: no known commit
    runs, _ = load_runs(repro / "runs")
    (result,) = compare([Claim(**CLAIMS[0])], runs).results
    assert result.values == [94.0]
    assert [(e.run.path.name, e.status) for e in result.excluded] == [
        ("20261123-105900-aaaaa2", "other commit"), ("20261123-110001-aaaaa1", "no metric")]


def test_report_html_is_one_self_contained_page_with_the_table_and_figures(project):
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells, self.images, self.links, self._in_cell = [], [], [], False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag in ("td", "th"):
                self._in_cell = True
                self.cells.append("")
            elif tag == "img":
                self.images.append(attrs["src"])
            elif tag in ("link", "script") and (attrs.get("href") or attrs.get("src")):
                self.links.append(attrs.get("href") or attrs.get("src"))

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self._in_cell = False

        def handle_data(self, data):
            if self._in_cell:
                self.cells[-1] += data

    paper_dir, repro = project
    write_report(paper_dir, repro)
    text = (repro / "report.html").read_text()
    page = Page()
    page.feed(text)
    assert "MNIST-1D" in page.cells and "CNN" in page.cells and "reproduced" in page.cells  # the paper's row and column
    assert "not reproduced (better)" in page.cells
    assert 'title="claim table1.cnn.standard.test_acc"' in text and "<code>table1.cnn.standard.test_acc</code>" in text
    pngs = sorted((repro / "figures").glob("*.png"))
    assert pngs and len(page.images) == len(pngs)
    assert all(src.startswith("data:image/svg+xml;base64,") for src in page.images)  # readable offline, sharp in print
    assert {p.with_suffix(".svg").name for p in pngs} == {p.name for p in (repro / "figures").glob("*.svg")}
    assert page.links == []  # nothing fetched from elsewhere
