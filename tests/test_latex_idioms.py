"""Idioms of real papers' results tables, each in a small fixture with its candidates written out.

tests/fixtures/latex_idioms/ is a paper split the ways real sources are: a \\subfile with its own
preamble and document environment, \\import and \\subimport, \\input without an extension, the
authors' macros in the preamble, in a local .sty and inside the float. The other tests build one
table each: header rows without a rule, section rows without \\multicolumn, rows continued by an
empty first cell, \\quad sub-rows, \\captionof{table}, the goal read from the header, and the
bounds that keep a hostile source within seconds.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from workbench.fetch import eprint, latex, macros

from conftest import workbench

IDIOMS = Path(__file__).parent / "fixtures" / "latex_idioms"


def rows_of(tables):
    return [(c.id, c.row, c.column, c.value, c.std, c.goal, c.file, c.line) for t in tables for c in t.candidates]


def document(body: str, preamble: str = "") -> latex.Document:
    text = "\\documentclass{article}\n" + preamble + "\n\\begin{document}\n" + body + "\n\\end{document}\n"
    return latex.Document([eprint.SourceLine("main.tex", i, line) for i, line in enumerate(text.split("\n"), 1)])


def table(body: str, columns: str = "lccc", caption: str = "Results.") -> str:
    return f"\\begin{{table}}\\caption{{{caption}}}\n\\begin{{tabular}}{{{columns}}}\n{body}\n\\end{{tabular}}\n\\end{{table}}"


def test_subfile_import_subimport_input_and_macros_from_preamble_sty_and_float():
    reading = latex.read_source(IDIOMS)
    assert (reading.main_tex, reading.title, reading.warnings) == ("main.tex", "Idioms of real results tables", [])
    assert [(s.number, s.title, s.file) for s in reading.sections] == [("1", "Results", "main.tex")]
    assert [(t.number, t.label, t.file) for t in reading.tables] == [
        (1, "tab:macros", "tables/subfiled.tex"), (2, None, "parts/sub/inner.tex"), (3, None, "parts/bare.tex")]
    assert rows_of(reading.tables[:1]) == [
        # \res[0.2]{12.5}: an optional argument; \metric \renewcommand-ed to Error, so min
        ("table1.baseline.error", "Baseline", "Error", 12.5, 0.2, "min", "tables/subfiled.tex", 10),
        ("table1.baseline.acc", "Baseline", "Acc", 80.1, 0.4, "max", "tables/subfiled.tex", 10),  # \pmstd, from the .sty
        ("table1.ours.error", "Ours", "Error", 10.1, 0.0, "min", "tables/subfiled.tex", 11),  # the default [0.0]
        ("table1.ours.acc", "Ours", "Acc", 85.3, 0.3, "max", "tables/subfiled.tex", 11),
    ]
    assert reading.tables[0].candidates[2].best  # \best, a \DeclareRobustCommand for \textbf


def test_two_numbers_several_spreads_and_thousands_separators():
    reading = latex.read_source(IDIOMS)
    inner = "parts/sub/inner.tex"
    assert rows_of(reading.tables[1:2]) == [
        ("table2.a.uas_las", "A", "UAS / LAS", 76.47, None, "max", inner, 8),  # \both{}{}, defined in the float
        ("table2.a.uas_las_2", "A", "UAS / LAS", 54.4, None, "max", inner, 8),
        ("table2.a.acc", "A", "Acc", 50.8, 1.4, "max", inner, 8),  # 50.8 ±1.4 ±7.1: the first spread
        ("table2.a.tokens", "A", "Tokens", 1024.0, None, "max", inner, 8),  # 1\,024
        ("table2.b.uas_las", "B", "UAS / LAS", 0.103, 0.001, "max", inner, 9),  # 0.103 (±0.001) -2.956 (±0.002)
        ("table2.b.uas_las_2", "B", "UAS / LAS", -2.956, 0.002, "max", inner, 9),
        ("table2.b.acc", "B", "Acc", 91.2, None, "max", inner, 9),
        ("table2.b.tokens", "B", "Tokens", 12345.0, None, "max", inner, 9),  # 12 345
        ("table2.c.uas_las", "C", "UAS / LAS", 80.1, None, "max", inner, 10),  # 80.1~/~60.2
        ("table2.c.uas_las_2", "C", "UAS / LAS", 60.2, None, "max", inner, 10),
        ("table2.c.acc", "C", "Acc", 90.0, None, "max", inner, 10),
        ("table2.c.tokens", "C", "Tokens", 1234567.0, None, "max", inner, 10),  # 1{,}234{,}567
        ("table2.d.acc", "D", "Acc", 89.5, None, "max", inner, 11),
        ("table2.d.tokens", "D", "Tokens", 2048.0, None, "max", inner, 11),  # 2,048
    ]


def test_headers_without_a_rule_on_two_levels_in_boxes_with_greek():
    reading = latex.read_source(IDIOMS)
    bare = "parts/bare.tex"  # \input{parts/bare}: no extension
    assert rows_of(reading.tables[2:]) == [
        ("table3.gcn.cifar_mae", "GCN", "CIFAR / MAE", 0.51, None, "min", bare, 6),  # \rotatebox, \resizebox
        ("table3.gcn.cifar_rmse", "GCN", "CIFAR / RMSE", 0.72, None, "min", bare, 6),  # \scalebox
        ("table3.gcn.image_net_gin", "GCN", "Image Net / GIN-ε", 81.2, None, "max", bare, 6),  # \makecell, $\varepsilon$
        ("table3.gcn.image_net_acc", "GCN", "Image Net / α-acc", 70.1, None, "max", bare, 6),
    ]


def test_a_header_with_no_rule_under_it_before_a_later_midrule():
    doc = document(table("\\toprule\nModel & Acc & F1 & Loss \\\\\nA & 90.1 & 88.2 & 0.31 \\\\\n\\midrule\n"
                         "B & 91.5 & 89.0 & 0.29 \\\\\n\\bottomrule"))
    assert [(c.row, c.column, c.value, c.goal) for c in latex.tables(doc)[0].candidates] == [
        ("A", "Acc", 90.1, "max"), ("A", "F1", 88.2, "max"), ("A", "Loss", 0.31, "min"),
        ("B", "Acc", 91.5, "max"), ("B", "F1", 89.0, "max"), ("B", "Loss", 0.29, "min"),
    ]


def test_a_two_level_header_split_by_a_midrule():
    doc = document(table("\\toprule\n& \\multicolumn{2}{c}{CIFAR-10} & SVHN \\\\\n\\midrule\nModel & Top-1 & Top-5 & Top-1 \\\\\n"
                         "\\midrule\nA & 90.1 & 99.2 & 95.0 \\\\\n\\bottomrule"))
    assert [(c.column, c.value) for c in latex.tables(doc)[0].candidates] == [
        ("CIFAR-10 / Top-1", 90.1), ("CIFAR-10 / Top-5", 99.2), ("SVHN / Top-1", 95.0)]


def test_section_rows_continued_rows_quad_sub_rows_and_a_row_of_spreads():
    doc = document(table("\\toprule\nModel & Data & Acc \\\\\n\\midrule\n"
                         "\\textit{Supervised} & & \\\\\n"          # a section row without \multicolumn
                         "ResNet & CIFAR & 93.1 \\\\\n"
                         "       & SVHN  & 96.0 \\\\\n"            # continued by an empty first cell
                         "       & (0.2) &      \\\\\n"            # not a spread row: (0.2) is in a label column
                         "Ours   & CIFAR & 94.2 \\\\\n"
                         "\\quad w/o aug & CIFAR & 92.0 \\\\\n"    # a sub-row of Ours
                         "       &       & ±0.3 \\\\\n"            # the spread of the row above
                         "\\bottomrule", columns="llc"))
    (found,) = latex.tables(doc)
    assert [(c.row, c.column, c.value, c.std) for c in found.candidates] == [
        ("Supervised / ResNet / CIFAR", "Acc", 93.1, None),
        ("Supervised / ResNet / SVHN", "Acc", 96.0, None),
        ("Supervised / Ours / CIFAR", "Acc", 94.2, None),
        ("Supervised / Ours / w/o aug / CIFAR", "Acc", 92.0, 0.3),
    ]


@pytest.mark.parametrize(("header", "goal"), [
    ("Error (\\%)", "min"), ("MAE", "min"), ("RMSE", "min"), ("Test loss", "min"), ("Perplexity", "min"),
    ("FID", "min"), ("EER", "min"), ("Acc $\\downarrow$", "min"), ("Error reduction", "max"), ("BLEU", "max"),
    ("Accuracy", "max"), ("Dice $\\uparrow$", "max"),
])
def test_the_goal_is_read_from_the_header(header, goal):
    doc = document(table(f"\\toprule\nModel & {header} \\\\\n\\midrule\nA & 12.5 \\\\\n\\bottomrule", columns="lc"))
    assert [c.goal for c in latex.tables(doc)[0].candidates] == [goal]


def test_captionof_table_in_a_figure_numbers_the_table_and_two_captions_make_two_tables():
    tabular = "\\begin{tabular}{lc}\n\\toprule\nModel & Acc \\\\\n\\midrule\nA & 1.5 \\\\\n\\bottomrule\n\\end{tabular}"
    doc = document("\\begin{table}\\begin{minipage}{.5\\linewidth}\\caption{First.}\n" + tabular + "\n\\end{minipage}"
                   "\\begin{minipage}{.5\\linewidth}\\caption{Second.}\\label{tab:second}\n" + tabular.replace("1.5", "2.5")
                   + "\n\\end{minipage}\\end{table}\n"
                   "\\begin{figure}\\begin{minipage}{.5\\linewidth}\\includegraphics{x}\\captionof{figure}{A plot.}"
                   "\\end{minipage}\\begin{minipage}{.5\\linewidth}\n" + tabular.replace("1.5", "3.5")
                   + "\n\\captionof{table}{Third.}\\end{minipage}\\end{figure}")
    found = latex.tables(doc)
    assert [(t.number, t.caption, t.label, [c.value for c in t.candidates]) for t in found] == [
        (1, "First.", None, [1.5]), (2, "Second.", "tab:second", [2.5]), (3, "Third.", None, [3.5])]


def test_a_header_tabular_stacked_over_a_body_tabular_is_one_table():
    doc = document("\\begin{table}\\caption{Stacked.}\n\\begin{tabular}{c}\n\\begin{tabular}{lcc}\nModel & A & B \\\\\n"
                   "\\end{tabular}\\\\\n\\begin{tabular}{lcc}\n\\hline\nX & 1.5 & 2.5 \\\\\n\\end{tabular}\n\\end{tabular}\n\\end{table}")
    assert [(c.row, c.column, c.value) for c in latex.tables(doc)[0].candidates] == [("X", "A", 1.5), ("X", "B", 2.5)]


def test_a_numbered_first_column_and_an_integer_code_name_the_row():
    doc = document(table("\\toprule\n\\# & RMSE & MAE \\\\\n\\midrule\n1 & 0.5 & 0.4 \\\\\n2 & 0.6 & 0.3 \\\\\n3 & 0.7 & 0.2 \\\\"
                         "\n\\bottomrule") + "\n" + table("\\toprule\nCode & Class & Acc \\\\\n\\midrule\n5 & Corn & 74.5\\% \\\\\n"
                                                          "\\bottomrule"))
    first, second = latex.tables(doc)
    assert [(c.row, c.column, c.value) for c in first.candidates][:2] == [("1", "RMSE", 0.5), ("1", "MAE", 0.4)]
    assert [(c.row, c.column, c.value, c.unit) for c in second.candidates] == [("5 / Corn", "Acc", 74.5, "%")]


# ---------------------------------------------------------------- bounds


@pytest.mark.timeout(120)
def test_a_gzipped_tex_of_millions_of_one_character_lines_stops_at_the_line_bound(tmp_path):
    archive = tmp_path / "bomb.tex.gz"
    with gzip.open(archive, "wb") as out:
        out.write(b"\\documentclass{article}\n\\begin{document}\n")
        out.write(b"x\n" * (4 << 20))  # 8 MiB: as many lines as the 50 MiB case needs to pass the bound 10 times
    eprint.unpack_source(archive, tmp_path / "source")
    reading = latex.read_source(tmp_path / "source")
    assert len(reading.document.lines) <= eprint.MAX_LINES
    assert len(reading.warnings) == 1 and "longer than 100,000 lines" in reading.warnings[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("definition", [
    "\\def\\a{\\a\\a}",                       # doubles at every level
    "\\newcommand{\\a}{\\a x}",               # never ends
    "\\newcommand{\\a}[1]{#1#1#1#1#1#1#1#1}\\newcommand{\\b}{\\a{\\a{\\a{\\a{\\a{\\a{\\a{\\a{yyyyyyyy}}}}}}}}}",
])
def test_macro_bombs_stop_at_a_bound_with_one_warning(definition):
    doc = document(table("\\toprule\nModel & Acc \\\\\n\\midrule\nA & \\a \\b 1.5 \\\\\n" * 50 + "\\bottomrule", columns="lc"),
                   preamble=definition)
    latex.tables(doc)
    assert [w for w in doc.warnings if w.startswith("macro expansion stopped")]


def test_expansion_maps_every_character_back_to_where_the_macro_was_used():
    found = macros.collect("\\newcommand{\\two}[2]{#1 / #2}")
    expanded = macros.expand("x \\two{1}{2} y", 100, found, macros.Budget())
    assert expanded.text == "x 1 / 2 y"
    assert [expanded.source(i) for i in (0, 2, 6, 8)] == [100, 102, 102, 113]


@pytest.mark.timeout(300)
def test_fetch_of_a_hostile_source_ends_with_one_warning_line(project, tmp_path):
    archive = tmp_path / "bomb.tex.gz"
    with gzip.open(archive, "wb") as out:
        out.write(b"\\documentclass{article}\n\\begin{document}\n" + b"x\n" * 150_000)
    done = workbench(project, "fetch", "--from", str(archive), "--id", "2101.00003", "--name", "bomb")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "only the part before line 100001 was read" in warnings[0]


def test_a_setting_column_of_integers_names_the_row_and_a_word_before_a_number_is_read():
    doc = document(table("\\toprule\nSystem & Step & Strict & Top confusion \\\\\n\\midrule\n"
                         "Strong only & 3000 & 64.97 & Soy 6.5\\% \\\\\n"
                         "Strong only & 1000 & 65.10 & Win.\\ Wheat 4.8\\% \\\\\n"
                         "Mixed       & 3000 & 66.02 & Corn 2.0\\% \\\\\n"
                         "Mixed       & 1000 & 66.40 & see text \\\\\n\\bottomrule", columns="lccc"))
    (found,) = latex.tables(doc)
    assert [(c.row, c.column, c.value, c.unit) for c in found.candidates][:2] == [
        ("Strong only / 3000", "Strict", 64.97, ""), ("Strong only / 3000", "Top confusion", 6.5, "%")]
    assert [c.value for c in found.candidates if c.column == "Top confusion"] == [6.5, 4.8, 2.0]
    assert [(u.row, u.text) for u in found.unparsed] == [("Mixed / 1000", "see text")]


@pytest.mark.parametrize(("cell", "value", "unit"), [
    ("13.3 min", 13.3, "min"), ("120 hr", 120.0, "hr"), ("\\$489", 489.0, ""), ("$\\mathbf{287\\times}$", 287.0, "×"),
    ("0.35\\,s", 0.35, "s"), ("12 GB", 12.0, "GB"),
])
def test_units_and_currency_in_cells(cell, value, unit):
    (parsed,) = latex.parse_values(latex.cell_text(cell))
    assert (parsed.value, parsed.unit) == (value, unit)


def test_a_wrapped_header_label_fractions_and_math_names_as_row_labels():
    doc = document(table("\\toprule\n$\\epsilon$ & Customer & $N^\\mathrm{res}$ \\\\\n & Review & \\\\\n\\midrule\n"
                         "$\\frac{4}{255}$ & 62.0\\% & 0.5 \\\\\n$\\sum$ & 64.8\\% & 1.5 \\\\\n\\bottomrule", columns="lcc"))
    assert [(c.row, c.column, c.value) for c in latex.tables(doc)[0].candidates] == [
        ("4/255", "Customer Review", 62.0), ("4/255", "N^res", 0.5), ("∑", "Customer Review", 64.8), ("∑", "N^res", 1.5)]


def test_a_longtable_reads_its_first_head_once_and_skips_the_repeated_head_and_foot():
    doc = document("\\begin{longtable}{lc}\n\\caption{Long.}\\label{tab:long}\\\\\n\\toprule\nModel & Acc \\\\\n\\midrule\n"
                   "\\endfirsthead\n\\toprule\nModel & Acc \\\\\n\\midrule\n\\endhead\n\\midrule\n"
                   "\\multicolumn{2}{r}{continued} \\\\\n\\endfoot\n\\bottomrule\n\\endlastfoot\n"
                   "A & \\num[round-precision=2]{1.53} \\\\\nB & 2.5 \\\\\n\\end{longtable}")
    (found,) = latex.tables(doc)
    assert (found.number, found.label, found.unparsed) == (1, "tab:long", [])
    assert [(c.row, c.column, c.value) for c in found.candidates] == [("A", "Acc", 1.53), ("B", "Acc", 2.5)]
