"""The report's analysis beyond the claims table, and the bad inputs it must survive."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from torch import nn

from test_report import CLAIMS, PNG_SIGNATURE, claim, confusion, write_paper, write_run
from workbench.run.attention import attention_payload, capture_attention
from workbench.report.write import write_report


def repro_of(tmp_path):
    return tmp_path / "reproductions" / "mnist1d"


def cnn_runs(repro, accs=(93.0, 94.0, 95.0), **extra):
    return [write_run(repro, f"20261123-11000{s}-aaaaa{s}", seed=s, acc=a, **extra) for s, a in enumerate(accs)]


def with_analysis(run, **keys):
    path = run / "analysis.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**data, **keys}))


# --- figures -----------------------------------------------------------------------------------


def test_paper_vs_ours_figure_per_metric(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    cnn_runs(repro)
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    assert "## Paper vs ours" in md
    for metric in ("test_acc", "test_loss"):
        png = repro / "figures" / f"claims_{metric}.png"
        assert png.read_bytes().startswith(PNG_SIGNATURE)
        assert f"(figures/claims_{metric}.png)" in md


def test_sweep_figure_plots_the_metric_against_a_swept_override(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0]], deviations=[])
    repro = repro_of(tmp_path)
    for i, lr in enumerate(["0.001", "0.01", "0.1"]):
        for seed in range(2):
            run = write_run(repro, f"20261123-1{i}000{seed}-aaaa{i}{seed}", seed=seed, acc=90.0 + i)
            (run / "overrides.yaml").write_text(yaml.safe_dump([f"optim.lr={lr}", f"seed={seed}", "model=cnn"]))
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    assert "## Sweeps" in md and "test/acc against optim.lr" in md
    assert (repro / "figures" / "sweep_optim.lr_test_acc.png").read_bytes().startswith(PNG_SIGNATURE)


def test_no_sweep_section_without_three_numeric_values(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    cnn_runs(repro)
    write_report(paper_dir, repro)
    assert "## Sweeps" not in (repro / "REPORT.md").read_text()


def test_worst_examples_table_and_figure(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    runs = cnn_runs(repro, confusion=confusion(8))
    worst = [{"index": 17, "true": "3", "predicted": "8", "confidence": 0.97, "input": [0.0, 1.0, 0.5, -0.2]},
             {"index": 4, "true": "1", "predicted": "7", "confidence": 0.9, "input": [1.0, 0.0, 0.0, 0.3]}]
    with_analysis(runs[0], worst_examples=worst)
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    assert "## Worst-classified examples" in md
    assert "| 17 | 3 | 8 | 97% |" in md
    assert "From `evidence/reproduction/20261123-110000-aaaaa0/analysis.json`" in md  # its committed copy
    assert (repro / "figures" / "worst_data-standard_model-cnn.png").read_bytes().startswith(PNG_SIGNATURE)


def test_attention_capture_hooks_multihead_attention_and_the_report_draws_it(tmp_path):
    torch.manual_seed(0)
    attn = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
    model = nn.Sequential()
    model.add_module("attn", attn)
    x = torch.randn(1, 5, 8)
    with capture_attention(model) as maps:
        out, _ = model.attn(x, x, x)  # called the ordinary way; the hook asks for per-head weights
    weights = maps.first()
    assert weights.shape == (2, 5, 5)  # h n m
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5))
    # the same weights from a naive per-head softmax(q kᵀ/√d)
    q, k, _ = (x @ attn.in_proj_weight.T + attn.in_proj_bias).chunk(3, dim=-1)
    for h in range(2):
        qh, kh = q[0, :, 4 * h:4 * h + 4], k[0, :, 4 * h:4 * h + 4]
        # measured within 6e-8 (1.4% of this tolerance) over 10 seeds x 1-2 threads
        torch.testing.assert_close(weights[h], (qh @ kh.T / 2.0).softmax(-1), rtol=1e-5, atol=1e-6)
    with capture_attention(model):
        pass
    assert not attn._forward_hooks and not attn._forward_pre_hooks  # removed after the block

    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    runs = cnn_runs(repro)
    with_analysis(runs[0], attention=attention_payload("layer 0", ["a", "+", "b", "=", "c"], weights))
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    assert "## Attention maps" in md and "layer 0" in md
    assert (repro / "figures" / "attention_data-standard_model-cnn.png").read_bytes().startswith(PNG_SIGNATURE)


def test_attention_capture_sees_inside_a_transformer_encoder_in_eval_mode():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, dropout=0.0)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = torch.randn(2, 6, 16)
    with torch.no_grad():
        plain = encoder(x)
        with capture_attention(encoder) as maps:
            hooked = encoder(x)
    assert [(name, tuple(w.shape)) for name, w in maps.calls] == [
        ("layers.0.self_attn", (2, 4, 6, 6)), ("layers.1.self_attn", (2, 4, 6, 6))]
    torch.testing.assert_close(hooked, plain)  # capturing changes nothing the model computes
    with pytest.raises(KeyError, match="no module named 'nope'"):
        with capture_attention(encoder, modules=["nope"]):
            pass


def test_a_malformed_attention_payload_is_a_warning_not_a_crash(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    runs = cnn_runs(repro)
    with_analysis(runs[0], attention={"title": "x", "tokens": ["a"], "maps": [[[0.5, 0.5]]]})
    data = write_report(paper_dir, repro)
    assert any("'attention' is not" in w and "20261123-110000-aaaaa0/analysis.json" in w for w in data["warnings"])


FIGURES_PY = '''
from matplotlib.figure import Figure


def figures(runs):
    fig = Figure()
    ax = fig.add_subplot()
    done = [r for r in runs if r["status"] == "completed"]
    ax.bar([str(r["seed"]) for r in done], [r["summary"]["metrics"]["test/acc"] for r in done])
    assert all(r["path"].is_dir() for r in runs)
    return {"accuracy per seed": fig}
'''


def test_a_paper_figures_py_adds_its_figures(tmp_path):
    paper_dir = write_paper(tmp_path)
    (paper_dir / "figures.py").write_text(FIGURES_PY)
    repro = repro_of(tmp_path)
    cnn_runs(repro)
    write_report(paper_dir, repro)
    md = (repro / "REPORT.md").read_text()
    assert "## Paper figures" in md and "### accuracy per seed" in md
    assert (repro / "figures" / "paper_accuracy-per-seed.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_broken_figures_py_is_named_and_the_report_is_still_written(tmp_path):
    paper_dir = write_paper(tmp_path)
    (paper_dir / "figures.py").write_text("def figures(runs):\n    return 1 / 0\n")
    repro = repro_of(tmp_path)
    cnn_runs(repro)
    data = write_report(paper_dir, repro)
    [warning] = [w for w in data["warnings"] if "figures.py" in w]
    assert "ZeroDivisionError" in warning and "figures.py:2" in warning
    assert (repro / "REPORT.md").exists()


def test_beyond_the_paper_runs_are_shown_without_a_verdict_and_not_averaged_into_claims(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    cnn_runs(repro)
    for seed, acc in enumerate([97.0, 99.0]):
        run = write_run(repro, f"20261123-13000{seed}-beyon{seed}", seed=seed, acc=acc)
        config = yaml.safe_load((run / "config.yaml").read_text())
        config["data"] = {"beyond_paper": "CNN with 4x more channels"}
        (run / "config.yaml").write_text(yaml.safe_dump(config))
    data = write_report(paper_dir, repro)
    assert data["claims"][0]["ours"]["mean"] == pytest.approx(94.0)  # the beyond runs are not in it
    md = (repro / "REPORT.md").read_text()
    assert "## Beyond the paper" in md
    assert "| CNN with 4x more channels | 2 | `test/acc` | 98.0 ± 1.4 (n=2) |" in md


# --- bad input ---------------------------------------------------------------------------------


def test_no_runs_yet_says_what_to_run_and_writes_the_report(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    data = write_report(paper_dir, repro)
    assert "no finished runs" in data["warnings"][0]
    assert "workbench run mnist1d stage=reproduction -m seed=0,1,2" in data["warnings"][0]
    assert (repro / "REPORT.md").exists() and (repro / "report.html").exists()


def test_a_corrupt_metrics_line_is_skipped_with_a_warning_naming_file_and_line(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    runs = cnn_runs(repro)
    lines = (runs[1] / "metrics.jsonl").read_text().splitlines()
    lines.insert(2, '{"step": 300, "split": "te')
    (runs[1] / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    data = write_report(paper_dir, repro)
    [warning] = [w for w in data["warnings"] if "metrics.jsonl" in w]
    assert warning.endswith("20261123-110001-aaaaa1/metrics.jsonl:3: not a JSON metrics row; skipped that line")
    assert (repro / "figures" / "curve_test_acc.png").exists()  # the other lines still make the curve


def test_a_run_from_an_older_config_schema_is_skipped_with_a_reason(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    runs = cnn_runs(repro)
    config = yaml.safe_load((runs[2] / "config.yaml").read_text())
    del config["choices"]
    config["model"] = "cnn"
    (runs[2] / "config.yaml").write_text(yaml.safe_dump(config))
    data = write_report(paper_dir, repro)
    assert data["claims"][0]["ours"]["n"] == 2
    [warning] = [w for w in data["warnings"] if "aaaaa2" in w]
    assert "older config schema" in warning and "no 'choices'" in warning
    assert "older config schema" in (repro / "REPORT.md").read_text()


def test_a_summary_without_status_is_an_older_summary_schema(tmp_path):
    paper_dir = write_paper(tmp_path)
    repro = repro_of(tmp_path)
    runs = cnn_runs(repro)
    summary = json.loads((runs[0] / "summary.json").read_text())
    del summary["status"]
    (runs[0] / "summary.json").write_text(json.dumps(summary))
    data = write_report(paper_dir, repro)
    assert any("older summary schema" in w for w in data["warnings"])


def test_cli_prints_the_warnings(tmp_path):
    from conftest import workbench

    write_paper(tmp_path)
    proc = workbench(tmp_path, "report", "mnist1d")
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "no finished runs" in proc.stderr
    assert (repro_of(tmp_path) / "REPORT.md").exists()


def test_report_needs_a_paper_or_all(tmp_path):
    from conftest import workbench

    write_paper(tmp_path)
    proc = workbench(tmp_path, "report")
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: name one paper")


def test_claim_with_unknown_metric_leaves_other_claims_judged(tmp_path):
    paper_dir = write_paper(tmp_path, claims=[CLAIMS[0], claim("x", metric="test/accuracy")], deviations=[])
    repro = repro_of(tmp_path)
    cnn_runs(repro)
    data = write_report(paper_dir, repro)
    assert [c["verdict"] for c in data["claims"]] == ["reproduced", "missing"]
    assert data["claims"][1]["note"].startswith("papers/mnist1d/claims.yaml: claim 'x'") or "claim 'x'" in data["claims"][1]["note"]
