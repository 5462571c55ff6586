"""The LaTeX reader: sections for the checklist, tables to claim candidates, unreadable cells listed.

The fixtures are modelled on real papers: HNN's Table 1 (booktabs, \\multirow, \\multicolumn,
\\mathbf, \\pm, a footnote, `--`), an MNIST-1D-like table (tabular*, ±, `$\\pm$`, `\\,`, a
subscript std, a group row), a language-model table (tabularx, siunitx S columns, \\num, \\SI,
scientific notation three ways, (std) in parentheses, \\underline, \\tnote, comments) and an
\\hline table with percentages and a \\multirow label.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.fetch import eprint
from workbench.fetch import latex
from workbench.claims.schema import Claim

from fake_arxiv import FIXTURES

LATEX = Path(__file__).parent / "fixtures" / "latex"


def read(folder: Path):
    main = eprint.find_main_tex(folder)
    return latex.read_document(eprint.flatten(main, folder))


def by_id(tables):
    return {c.id: c for t in tables for c in t.candidates}


def test_sections_are_numbered_like_latex_across_input_files():
    doc, sections, _ = read(FIXTURES / "source")
    assert [(s.number, s.title, s.file, s.line) for s in sections] == [
        ("1", "Introduction", "main.tex", 11),
        ("2", "Theory", "main.tex", 13),
        ("2.1", "Hamiltonian mechanics", "main.tex", 14),
        ("3", "Experiments", "sections/experiments.tex", 1),
        ("4", "Conclusion", "main.tex", 17),
        ("A", "Training details", "main.tex", 20),
    ]
    assert latex.title(doc) == "Hamiltonian Neural Networks"


def test_hnn_table_booktabs_multirow_multicolumn_pm_mathbf():
    _, _, tables = read(FIXTURES / "source")
    assert len(tables) == 1
    table = tables[0]
    assert (table.number, table.label, table.file, table.line) == (1, "tab:results", "sections/experiments.tex", 3)
    assert table.caption.startswith("Quantitative results across all four tasks.")
    found = by_id(tables)
    spring = found["table1.ideal_mass_spring.test_loss_hnn"]
    assert (spring.row, spring.column, spring.value, spring.std, spring.best) == ("Ideal mass-spring", "Test loss / HNN", 36.0, 2.0, True)
    assert (spring.file, spring.line, spring.quote) == ("sections/experiments.tex", 13, "Ideal mass-spring | Test loss / HNN | 36 ± 2")
    assert spring.goal == "min"  # "loss" in the header
    baseline = found["table1.ideal_mass_spring.test_loss_baseline"]
    assert (baseline.value, baseline.std, baseline.best) == (37.0, 2.0, False)
    assert found["table1.two_body.test_loss_baseline"].row == "Two body"  # \footnote dropped from the label
    energy = found["table1.two_body.energy_baseline"]  # 6.3\mathrm{e}4 \pm 3\mathrm{e}4
    assert (energy.value, energy.std) == (63000.0, 30000.0)
    assert found["table1.pixel_pendulum.test_loss_hnn"].best  # \underline
    # `--` and `n/a` are empty cells: neither candidates nor unparsed
    assert "table1.pixel_pendulum.test_loss_baseline" not in found
    assert "table1.pixel_pendulum.energy_hnn" not in found
    assert table.unparsed == []
    assert len(found) == 17


def test_tables_fixture_every_idiom():
    _, sections, tables = read(LATEX)
    assert [t.number for t in tables] == [1, 2, 3]
    assert [t.label for t in tables] == ["tab:mnist1d", "tab:lm", None]
    found = by_id(tables)
    expected = {  # id: (row, column, value, std, unit, best, goal, line)
        "table1.mnist_1d.logistic": ("MNIST-1D", "Logistic", 32.0, 1.0, "", False, "max", 12),
        "table1.mnist_1d.cnn": ("MNIST-1D", "CNN", 94.0, 2.0, "", True, "max", 12),
        "table1.permuted_inputs_mnist_1d_shuffled.logistic": ("Permuted inputs / MNIST-1D (shuffled)", "Logistic", 32.0, 1.0, "", False, "max", 14),
        "table1.permuted_inputs_mnist_1d_shuffled.mlp": ("Permuted inputs / MNIST-1D (shuffled)", "MLP", 68.0, 2.0, "", False, "max", 14),
        "table1.permuted_inputs_mnist_1d_shuffled.gru": ("Permuted inputs / MNIST-1D (shuffled)", "GRU", 57.0, 2.0, "", False, "max", 14),
        "table2.lstm.params": ("LSTM", "Params", 24.0, None, "M", False, "max", 25),
        "table2.lstm.ppl": ("LSTM", "PPL", 82.7, None, "", False, "min", 25),
        "table2.lstm.time_s": ("LSTM", "Time (s)", 1200.0, None, "", False, "min", 25),
        "table2.transformer.params": ("Transformer", "Params", 1024.0, None, "K", False, "max", 26),
        "table2.transformer.ppl": ("Transformer", "PPL", 56.1, None, "", True, "min", 26),
        "table2.transformer.time_s": ("Transformer", "Time (s)", 0.037, None, "", False, "min", 26),
        "table2.ours.params": ("Ours", "Params", 12.0, None, "M", False, "max", 27),
        "table2.ours.ppl": ("Ours", "PPL", 54.3, 0.4, "", True, "min", 27),
        "table2.ours.time_s": ("Ours", "Time (s)", 0.037, None, "", False, "min", 27),
        "table2.ours_large.ppl": ("Ours (large)", "PPL", 52.0, None, "", False, "min", 28),
        "table2.ours_large.time_s": ("Ours (large)", "Time (s)", 0.041, 0.002, "", False, "min", 28),
        "table3.full.acc_pct": ("full", "Acc. (%)", 71.3, None, "%", False, "max", 38),
        "table3.no_attention.acc_pct": ("no attention", "Acc. (%)", 65.0, None, "%", False, "max", 39),
        "table3.no_attention.acc_pct_2": ("no attention", "Acc. (%)", 64.2, None, "%", False, "max", 40),
    }
    for cid, (row, column, value, std, unit, best, goal, line) in expected.items():
        c = found[cid]
        assert (c.row, c.column, c.value, c.std, c.unit, c.best, c.goal, c.file, c.line) == \
            (row, column, pytest.approx(value), None if std is None else pytest.approx(std), unit, best, goal, "tables.tex", line), cid
    assert len(found) == 8 + 11 + 3  # 8 MNIST-1D cells, 11 in table 2, 3 in table 3
    assert "99" not in str([c.value for c in found.values()])  # the commented-out `& 99` cell
    assert "table2.ours_large.params" not in found  # `---` is empty
    assert tables[0].caption == "Test accuracy (%) on MNIST-1D, mean ± std over three runs."


def test_unreadable_cells_are_listed_with_where_they_are():
    _, _, tables = read(LATEX)
    unparsed = [(u.table, u.row, u.column, u.text, u.line) for t in tables for u in t.unparsed]
    assert unparsed == [
        (2, "Broken", "Params", "$\\approx$", 29),
        (2, "Broken", "PPL", "$<$0.1", 29),
        (2, "Broken", "Time (s)", "see text", 29),
    ]


@pytest.mark.parametrize(("cell", "value", "std", "unit"), [
    ("94.1", 94.1, None, ""),
    ("$94.1 \\pm 0.3$", 94.1, 0.3, ""),
    ("94.1 ± 0.3", 94.1, 0.3, ""),
    ("94.1$\\pm$0.3", 94.1, 0.3, ""),
    ("$94.1_{\\pm 0.3}$", 94.1, 0.3, ""),
    ("94.1 {\\scriptsize $\\pm$ 0.3}", 94.1, 0.3, ""),
    ("94.1 (0.3)", 94.1, 0.3, ""),
    ("94.1\\%", 94.1, None, "%"),
    ("94.1\\% $\\pm$ 0.3\\%", 94.1, 0.3, "%"),
    ("\\num{3.7e-2}", 0.037, None, ""),
    ("$3.7 \\times 10^{-2}$", 0.037, None, ""),
    ("3.7\\cdot10^{-2}", 0.037, None, ""),
    ("3.7E-2", 0.037, None, ""),
    ("$10^{-3}$", 0.001, None, ""),
    ("\\SI{3.5}{\\percent}", 3.5, None, "%"),
    ("$-0.5$", -0.5, None, ""),
    ("−0.5", -0.5, None, ""),
    ("1,024", 1024.0, None, ""),
    ("1{,}024", 1024.0, None, ""),
    ("\\textbf{71.2}$^{*}$", 71.2, None, ""),
    ("71.2\\textsuperscript{\\dag}", 71.2, None, ""),
    ("71.2$^\\dagger$", 71.2, None, ""),
    ("\\cellcolor{gray!20}71.2", 71.2, None, ""),
    ("$\\sim$30 $\\pm$ 10", 30.0, 10.0, ""),
    ("94 ± 2 ± 1", 94.0, 2.0, ""),  # several spreads (seeds, then folds): the first is the std
    ("50.8 \\scriptsize $\\pm1.4 \\pm 7.1$", 50.8, 1.4, ""),
    ("1\\,024", 1024.0, None, ""),
    ("1 024 000", 1024000.0, None, ""),
    ("12{,}345.6", 12345.6, None, ""),
    ("0.5 (+1.2)", 0.5, None, ""),  # a gain over a baseline is no spread
    ("\\textcolor{red}{94.1}", 94.1, None, ""),
    ("94.1 (±0.3)", 94.1, 0.3, ""),
])
def test_cell_numbers(cell, value, std, unit):
    parsed = latex.parse_number(latex.cell_text(cell))
    assert parsed is not None, latex.cell_text(cell)
    assert (parsed.value, parsed.std, parsed.unit) == (pytest.approx(value), None if std is None else pytest.approx(std), unit)


@pytest.mark.parametrize("cell", ["see text", "$<$0.1", "1.2.3", "a1", "OOT", "1-2", "94 ± ± 1"])
def test_cells_that_are_not_numbers(cell):
    assert latex.parse_number(latex.cell_text(cell)) is None


def test_candidates_fit_the_claims_schema_and_stay_candidates():
    _, _, tables = read(FIXTURES / "source")
    entries = [latex.candidate_claim(c, "1906.01563v3") for t in tables for c in t.candidates]
    claims = [Claim.model_validate(e) for e in entries]
    assert all(c.status == "candidate" for c in claims)
    first = claims[0]
    assert first.source.arxiv == "1906.01563v3" and first.source.label == "tab:results"
    assert first.tolerance.kind == "paper_std"


def document(body: str) -> latex.Document:
    text = "\\documentclass{article}\n\\begin{document}\n" + body + "\n\\end{document}\n"
    return latex.Document([eprint.SourceLine("main.tex", i, line) for i, line in enumerate(text.split("\n"), 1)])


def test_a_bare_tabular_without_a_float_is_still_read():
    doc = document("\\begin{tabular}{lc}\nModel & Acc \\\\\n\\hline\nA & 1.5 \\\\\n\\end{tabular}")
    (table,) = latex.tables(doc)
    assert table.number == "tabular1"
    assert [c.id for c in table.candidates] == ["tabular1.a.acc"]


def test_a_nested_tabular_header_reads_as_one_line():
    doc = document("\\begin{table}\\caption{x}\n\\begin{tabular}{lc}\n\\toprule\nModel & \\begin{tabular}{c}Test\\\\acc.\\end{tabular} \\\\\n"
                   "\\midrule\nA & 1.5 \\\\\n\\bottomrule\n\\end{tabular}\n\\end{table}")
    (table,) = latex.tables(doc)
    assert [(c.column, c.value) for c in table.candidates] == [("Test acc.", 1.5)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("junk", [
    "{" * 100_000,
    "\\begin{table}" * 5_000,
    "\\begin{tabular}{" + "l" * 50_000,
    "\\begin{table}\\caption{x}\\begin{tabular}{ll}" + "1 & " * 30_000 + "\\\\" * 30_000,
    "1" * 100_000 + "x",
    "\\section{" * 20_000,
    "\\\\[" * 30_000,
    "\\multicolumn{" * 20_000,
])
def test_adversarial_input_ends(junk):
    doc = document(junk)
    latex.sections(doc)
    tables = latex.tables(doc)
    assert sum(len(t.candidates) + len(t.unparsed) for t in tables) <= latex.MAX_CELLS


def test_grouped_rows_and_a_three_level_header():
    """Knowledge-editing style: model groups as \\multicolumn rows between \\midrules, an arrow
    in a group header, \\resizebox around the tabular."""
    doc = document(r"""\begin{table}[h]
\caption{Locality of editors.}\label{tab:locality}
\resizebox{\textwidth}{!}{
\begin{tabular}{l cc cc}
\toprule
\multirow{3}{*}{\textbf{Editor}} & \multicolumn{4}{c}{\textbf{Locality} $\downarrow$} \\
\cmidrule(lr){2-5}
& \multicolumn{2}{c}{\textbf{Neighborhood}} & \multicolumn{2}{c}{\textbf{Distracting}} \\
\cmidrule(lr){2-3} \cmidrule(lr){4-5}
& First & Differing & First & Differing \\
\midrule
\multicolumn{5}{l}{GPT-J} \\
\midrule
ROME & 0.12 & 0.30 & \textbf{0.05} & 0.41 \\
\midrule
\multicolumn{5}{l}{Llama-2} \\
\midrule
ROME & 0.20 & -- & 0.07 & 0.52 \\
\bottomrule
\end{tabular}}
\end{table}""")
    (table,) = latex.tables(doc)
    found = {c.id: c for c in table.candidates}
    first = found["table1.gpt_j_rome.locality_neighborhood_first"]
    assert (first.row, first.column, first.value, first.goal) == ("GPT-J / ROME", "Locality / Neighborhood / First", 0.12, "min")
    assert found["table1.gpt_j_rome.locality_distracting_first"].best
    assert found["table1.llama_2_rome.locality_distracting_differing"].value == 0.52
    assert len(found) == 7 and table.unparsed == []
