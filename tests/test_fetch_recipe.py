"""recipe.yaml from the LaTeX: each way papers state a hyperparameter, hyperparameter tables,
the pre-filled reproduction stage, the reading checklist's paper items and the title/code URL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.errors import UserError
from workbench.fetch import eprint
from workbench.fetch.checklist import equation_items, float_items, paper_items, protocol_items, section_items
from workbench.fetch.eprint import SourceLine
from workbench.fetch.frontmatter import code_url, paper_title
from workbench.fetch.numbers import parse_number
from workbench.fetch.recipe import RecipeEntry, load_recipe, read_recipe, recipe_yaml, reproduction_yaml
from workbench.fetch.sections import sections
from workbench.fetch.tex import Document
from workbench.status import checklist_progress

RECIPE = Path(__file__).parent / "fixtures" / "recipe"


def doc_of(*lines: str) -> Document:
    body = ["\\begin{document}", *lines, "\\end{document}"]
    return Document([SourceLine("main.tex", i + 1, text) for i, text in enumerate(body)])


def stated(*lines: str) -> list[tuple]:
    return [(e.name, e.values if e.values is not None else e.value) for e in read_recipe(doc_of(*lines))]


@pytest.mark.parametrize("sentence, expected", [
    ("We use a learning rate of 0.01.", [("learning_rate", 0.01)]),
    ("Training uses lr = 1e-3 throughout.", [("learning_rate", 0.001)]),
    ("The initial learning rate is $3 \\times 10^{-4}$.", [("learning_rate", 0.0003)]),
    ("with a learning rate of $10^{-3}$", [("learning_rate", 0.001)]),
    ("We use a batch size 128.", [("batch_size", 128)]),
    ("with mini-batches of 64 examples", [("batch_size", 64)]),
    ("The model is trained for 100 epochs.", [("epochs", 100)]),
    ("We train for 100k steps.", [("steps", 100000)]),
    ("We train for 5,000 iterations.", [("iterations", 5000)]),
    ("We use the Adam optimizer (Kingma \\& Ba) with $\\beta_1 = 0.9$ and $\\beta_2 = 0.98$.",
     [("optimizer", "adam"), ("beta1", 0.9), ("beta2", 0.98)]),
    ("AdamW with betas (0.9, 0.999) and $\\epsilon = 10^{-8}$.",
     [("optimizer", "adamw"), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)]),
    ("We optimise with SGD with momentum 0.9 and a weight decay of 5e-4.",
     [("optimizer", "sgd"), ("momentum", 0.9), ("weight_decay", 0.0005)]),
    ("We apply a dropout rate 0.5 after each layer.", [("dropout", 0.5)]),
    ("We search the learning rate in $\\{0.01, 0.001\\}$.", [("learning_rate", [0.01, 0.001])]),
    ("The learning rate was chosen from 0.1, 0.01 and 0.001.", [("learning_rate", [0.1, 0.01, 0.001])]),
    ("We use a cosine learning rate schedule with 500 warmup steps.", [("warmup_steps", 500), ("lr_schedule", "cosine")]),
    ("The learning rate is divided by 10 every 30 epochs.", [("lr_decay_factor", 10)]),
    ("It decays to a minimum learning rate of 1e-6.", [("min_learning_rate", 1e-6)]),
    ("The learning rate is reduced when the validation loss plateaus, with a patience of 10 epochs.",
     [("lr_patience", 10), ("lr_schedule", "plateau")]),
    ("We use early stopping with a patience of 20.", [("early_stopping_patience", 20)]),
    ("Results are averaged over five random seeds.", [("num_seeds_or_runs", 5)]),
    ("We use 10-fold cross-validation.", [("cv_folds", 10)]),
    ("The encoder has 6 layers, 8 attention heads and a hidden size of 512.",
     [("num_layers", 6), ("num_heads", 8), ("hidden_size", 512)]),
    ("We clip gradients at a maximum norm of 1.0 and use label smoothing of 0.1.",
     [("gradient_clip", 1.0), ("label_smoothing", 0.1)]),
    ("Images are resized to $224 \\times 224$ and the convolutions use $3\\times3$ kernels.",
     [("image_size", 224), ("kernel_size", 3)]),
    ("The model is trained with the cross-entropy loss.", [("loss", "cross_entropy")]),
    ("We warm up the learning rate over the first 10\\% of training.", [("warmup_ratio", 0.1)]),
    ("The maximum sequence length is 512 tokens and the vocabulary size is 32,000.",
     [("sequence_length", 512), ("vocab_size", 32000)]),
    ("Decoding uses a beam size of 4 and a temperature of 0.7.", [("beam_size", 4), ("temperature", 0.7)]),
])
def test_each_way_of_stating_a_hyperparameter(sentence, expected):
    assert sorted(stated(sentence), key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("sentence", [
    "The learning rate is decayed after 30 epochs.",        # a change, and an epoch of the schedule
    "Our method is 3 times faster than SGD.",               # no optimizer is being set
    "We report cosine similarity between embeddings.",      # not a schedule
    "Table 2 shows the accuracy after 50 epochs.",          # a point in training, not its length
    "We use the learning rate ($\\lambda = 1e^{-x}$) of the original paper.",  # a formula, not a number
    "GIN-$\\epsilon$ with $\\epsilon = 0.1$ is the strongest baseline.",    # not Adam's epsilon
])
def test_sentences_that_state_no_hyperparameter(sentence):
    assert stated(sentence) == []


def test_scope_and_source_come_with_each_entry():
    doc = doc_of("For the GNN baselines, we use a learning rate of 0.01.")
    (entry,) = read_recipe(doc)
    assert entry.scope == "GNN baselines"
    assert (entry.source.file, entry.source.line, entry.source.quote) == ("main.tex", 2, "learning rate of 0.01")


def test_the_fixture_paper_text_tables_footnotes_and_appendix():
    doc = Document(eprint.flatten(RECIPE / "main.tex", RECIPE))
    got = [(e.name, e.values if e.values is not None else e.value, e.scope, e.source.line) for e in read_recipe(doc)]
    assert got == [
        ("loss", "cross_entropy", None, 14),
        ("beta1", 0.9, None, 21), ("beta2", 0.999, None, 21), ("optimizer", "adam", None, 21),
        ("learning_rate", 0.001, None, 22), ("batch_size", 128, None, 22), ("epochs", 100, None, 22),
        ("min_learning_rate", 1e-05, None, 23), ("lr_decay_factor", 0.1, None, 23),
        ("weight_decay", 0.0005, None, 24), ("dropout", 0.5, None, 24),
        ("hidden_size", 64, "GNN baselines", 25), ("learning_rate", 0.01, "GNN baselines", 25),
        ("num_layers", 3, None, 26), ("num_heads", 8, None, 26),
        ("learning_rate", [0.1, 0.01, 0.001], None, 27),
        ("num_seeds_or_runs", 5, None, 28), ("cv_folds", 10, None, 28),
        ("warmup_steps", 1000, None, 29), ("gradient_clip", 1.0, None, 29), ("lr_schedule", "cosine", None, 29),
        ("image_size", 224, None, 30), ("label_smoothing", 0.1, None, 30),
        ("momentum", 0.9, None, 31), ("steps", 100000, None, 31), ("optimizer", "sgd", None, 31),  # a footnote
        ("learning_rate", 0.1, "CIFAR-10", 42), ("learning_rate", 0.2, "ImageNet", 42),   # the appendix table
        ("batch_size", 256, "CIFAR-10", 43), ("batch_size", 1024, "ImageNet", 43),
        ("optimizer", "sgd", "CIFAR-10", 44), ("optimizer", "sgd", "ImageNet", 44),
        ("epochs", 200, "CIFAR-10", 45), ("epochs", 90, "ImageNet", 45),
    ]  # the results table's "w/o dropout" row is not a setting


def test_hyperparameter_tables_by_row_and_transposed():
    rows = doc_of("\\begin{tabular}{ll}\\toprule Hyperparameter & Value \\\\ \\midrule",
                  "Optimizer & AdamW \\\\", "Peak learning rate & 5e-4 \\\\", "\\# Epochs & 30 \\\\",
                  "Weight decay & \\{0.01, 0.1\\} \\\\", "Dropout & -- \\\\ \\bottomrule \\end{tabular}")
    assert [(e.name, e.values or e.value, e.scope) for e in read_recipe(rows)] == [
        ("optimizer", "adamw", None), ("learning_rate", 0.0005, None), ("epochs", 30, None),
        ("weight_decay", [0.01, 0.1], None)]
    columns = doc_of("\\begin{tabular}{lccc} Model & Learning rate & Batch size & Layers \\\\ \\hline",
                     "GCN & 0.01 & 32 & 2 \\\\", "GAT & 0.005 & 64 & 3 \\\\ \\end{tabular}")
    assert [(e.name, e.value, e.scope) for e in read_recipe(columns)] == [
        ("learning_rate", 0.01, "GCN"), ("batch_size", 32, "GCN"), ("num_layers", 2, "GCN"),
        ("learning_rate", 0.005, "GAT"), ("batch_size", 64, "GAT"), ("num_layers", 3, "GAT")]


@pytest.mark.parametrize("text, number", [
    ("0.01", 0.01), ("1e-3", 0.001), ("3e-4", 0.0003), ("5 × 10^-4", 0.0005), ("10^-3", 0.001), ("1,000", 1000),
    ("100k", 100000), ("1M", 1000000), ("10%", 0.1), ("five", 5), ("128", 128), ("1.0", 1.0), ("abc", None),
])
def test_numbers_as_printed(text, number):
    value = parse_number(text)
    assert value == number and type(value) is type(number)


def test_recipe_yaml_round_trips_and_bad_files_are_one_line(tmp_path):
    entries = read_recipe(doc_of("We use a learning rate of 0.01 and a batch size of 32.", "lr $\\in \\{0.1, 0.2\\}$"))
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe_yaml(entries, "T", "2101.00001"))
    assert load_recipe(path) == entries
    data = yaml.safe_load(path.read_text())
    assert data["recipe"][0] == {"name": "learning_rate", "value": 0.01,
                                 "source": {"file": "main.tex", "line": 2, "quote": "learning rate of 0.01"}}
    assert data["recipe"][2]["values"] == [0.1, 0.2]
    path.write_text("recipe:\n- name: learning_rate\n  value: 0.1\n  values: [0.1]\n  source: {file: a, line: 1, quote: q}\n")
    with pytest.raises(UserError, match="exactly one of them"):
        load_recipe(path)
    path.write_text("recipe:\n- name: lr\n  value: 0.1\n  source: {file: a, line: 1, quote: q}\n")
    with pytest.raises(UserError, match=r"recipe\.0\.name"):
        load_recipe(path)


def test_reproduction_stage_is_prefilled_with_citations():
    entries = read_recipe(doc_of("We train with Adam, a learning rate of 0.01 and a batch size of 32 for 2000 steps.",
                                 "The dropout rate is 0.1.", "For ResNet, lr = 0.1."))
    text = reproduction_yaml(entries, {("main.tex", 2): "4.2", ("main.tex", 3): "4.2"})
    config = yaml.safe_load(text)
    assert config["optim"] == {"name": "adam", "lr": 0.01}
    assert (config["batch_size"], config["trainer"]["max_steps"], config["recipe"]) == (32, 2000, {"dropout": 0.1})
    assert any(line.startswith("  lr: 0.01 ") and line.endswith('# §4.2, main.tex:2: "learning rate of 0.01"')
               for line in text.splitlines())
    assert '#   learning_rate: 0.1' in text and '(for ResNet)' in text  # a second scope stays a comment


def test_checklist_items_come_from_the_paper():
    doc = Document(eprint.flatten(RECIPE / "main.tex", RECIPE))
    found = sections(doc)
    recipe = read_recipe(doc)
    items = paper_items(doc, found, [], recipe, code_url(doc))
    assert "- [ ] **1 Introduction.** (main.tex:6)\n  > Deep networks are hard to train." in items.sections
    assert "**folds, repetitions** (main.tex:28): \"All results are averaged over five random seeds" in items.protocol
    assert "- [ ] **Hyperparameters at main.tex:21** → recipe.yaml: beta1, beta2, optimizer," in items.hyperparameters
    assert items.equations == ("## Equations\n\n- [ ] **Eq. (1)** `eq:loss` (main.tex:11): what each symbol is, "
                               "and where the code computes it.\n\n")  # the starred one is not numbered
    assert "<https://github.com/example/ournet> (main.tex:8;" in items.code


def test_parts_the_paper_lacks_are_not_applicable_and_leave_the_total(tmp_path):
    doc = doc_of("A short note without numbers.")
    assert equation_items(doc) == ""
    assert protocol_items(doc).startswith("- [~] **Evaluation protocol.**")
    assert float_items(doc, []).startswith("- [~]")
    path = tmp_path / "CHECKLIST.md"
    path.write_text("- [x] done\n- [ ] open\n- [~] not applicable\n  - [X] nested done\n")
    assert checklist_progress(path) == (2, 3)
    assert section_items(doc, []).startswith("- [ ] **Sections.**")


@pytest.mark.parametrize("preamble, title", [
    ("\\title[Short]{A Long Title\\thanks{Funded by X.}}", "A Long Title"),
    ("\\twocolumn[\\icmltitle{Graph Networks\\\\ at Scale}]", "Graph Networks at Scale"),
    ("\\title{}\\icmltitle{ICML Wins Over an Empty Title}", "ICML Wins Over an Empty Title"),
])
def test_title_from_the_templates_spellings(preamble, title):
    doc = Document([SourceLine("main.tex", 1, preamble), SourceLine("main.tex", 2, "\\begin{document}\\end{document}")])
    assert paper_title(doc) == title


def test_code_url_prefers_the_papers_own_code():
    doc = doc_of("We build on the implementation at \\url{https://github.com/other/base}.",
                 "Our code is available at \\href{https://github.com/me/ours}{github}.")
    assert code_url(doc)[0] == "https://github.com/me/ours"
    assert code_url(doc_of("See \\url{https://example.org/data}.")) is None


def test_entries_need_exactly_one_value():
    with pytest.raises(ValueError):
        RecipeEntry(name="learning_rate", source={"file": "a", "line": 1, "quote": "q"})


def test_fetch_from_a_mirror_writes_recipe_stage_checklist_and_canonical_links(tmp_path, monkeypatch):
    from fake_arxiv import FakeArxiv, source_tarball

    from workbench.fetch.scaffold import fetch_paper

    server = FakeArxiv().start()
    try:
        server.add_paper("2101.00001", 2, source_tarball(RECIPE))
        for key, value in {**server.env, "WORKBENCH_CACHE": str(tmp_path / "cache"), "WORKBENCH_ARXIV_BACKOFF": "0.01"}.items():
            monkeypatch.setenv(key, value)
        (tmp_path / "papers").mkdir()
        done = fetch_paper(tmp_path, "2101.00001", "recipe_paper", say=lambda _: None)
    finally:
        server.stop()
    paper = done.dir
    meta = yaml.safe_load((paper / "paper.yaml").read_text())
    assert meta["abs_url"] == "https://arxiv.org/abs/2101.00001v2" and meta["pdf_url"] == "https://arxiv.org/pdf/2101.00001v2"
    assert meta["mirror"] == server.url and meta["code_url"] == "https://github.com/example/ournet"
    generated = [p for p in paper.rglob("*") if p.is_file() and p.suffix in (".md", ".yaml", ".py", ".json")]
    assert all(server.url not in p.read_text() for p in generated if p.name != "paper.yaml")
    assert "127.0.0.1" not in (paper / "paper.yaml").read_text().replace(f"mirror: {server.url}", "")
    recipe = load_recipe(paper / "recipe.yaml")
    assert len(recipe) == 34 and recipe[4].name == "learning_rate" and recipe[4].value == 0.001
    stage = yaml.safe_load((paper / "conf" / "stage" / "reproduction.yaml").read_text())
    assert stage["optim"]["lr"] == 0.001 and stage["trainer"]["max_steps"] == 100000 and stage["batch_size"] == 128
    checklist = (paper / "CHECKLIST.md").read_text()
    assert "recipe.yaml, 34 entries read from the LaTeX" in checklist
    assert "## Equations" in checklist and "**Eq. (1)** `eq:loss`" in checklist
    assert "- [ ] **Official code:** <https://github.com/example/ournet>" in checklist


def test_a_section_without_prose_gets_no_sentence_of_the_next_one():
    doc = doc_of("\\section{Conclusion}", "\\begin{figure}\\caption{A plot.}\\end{figure}",
                 "\\section{Training details}", "All models used Adam and were trained for 20 epochs.")
    text = section_items(doc, sections(doc))
    assert text == ("- [ ] **1 Conclusion.** (main.tex:2)\n- [ ] **2 Training details.** (main.tex:4)\n"
                    "  > All models used Adam and were trained for 20 epochs.")
    assert stated("All models used Adam.") == [("optimizer", "adam")]
    assert stated("Orbits are integrated over 1000 steps.") == []  # not a training length


def test_a_settings_table_counts_from_its_first_named_row():
    settings = doc_of("\\begin{tabular}{ll} Parameter & Value \\\\ \\midrule Outlier fraction & 0.35 \\\\",
                      "Max sequence length & 2048 \\\\ \\end{tabular}")
    assert stated_in(settings) == [("sequence_length", 2048)]
    results = doc_of("\\begin{tabular}{lc} Model & Accuracy \\\\ \\midrule Dropout & 91.0 \\\\ \\end{tabular}")
    assert stated_in(results) == []  # a lone ablation row named like a setting


def stated_in(doc: Document) -> list[tuple]:
    return [(e.name, e.values if e.values is not None else e.value) for e in read_recipe(doc)]
