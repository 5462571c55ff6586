# Two commands a new machine needs (README): `make demo` and `make test`.
# Both create .venv on first use and install the project with pinned versions.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WB     := $(VENV)/bin/workbench
STAMP  := $(VENV)/.installed
SEEDS  ?= 3

.PHONY: setup browser demo test test-integration test-repro test-all bench clean-runs

setup: $(STAMP)

# torch 2.13.0 is a CPU wheel on this machine's disk; elsewhere pip picks a release in pyproject's range.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0 \
		|| echo "torch 2.13.0 is not available here; installing a torch release in pyproject's range"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

# MNIST-1D Table 1: 4 models x 2 data variants x 3 seeds, offline, then the report.
# Each model trains its seeds on both data variants as one vectorised job (trainer.vectorize_over in
# the paper config); the joblib launcher runs one job per core, each
# with one torch thread, the slowest model (GRU) first so that the cores finish together.
demo: setup
	$(WB) run mnist1d stage=reproduction -m model=gru,cnn,mlp,logistic data=standard,shuffled seed=0 seeds=$(SEEDS) \
		trainer.vectorize_seeds=true hydra/launcher=joblib
	$(WB) report mnist1d

# Headless Chromium renders report.html in tests/test_report_browser.py (Debian's package; we run
# as root on CI). Where it cannot be installed, that test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
		|| echo "chromium could not be installed; the report.html browser test will be skipped"

# Fast tier: units, config composition, CLI runs and reports, paper gates (about 8 CPU-minutes),
# spread over every core by pytest-xdist (PYTEST_WORKERS=0 runs it in one process).
PYTEST_WORKERS ?= auto
test: setup browser
	$(PY) -m pytest -n $(PYTEST_WORKERS); rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests: that is a failure"; [ $$rc -eq 0 ]

# Integration tier: process-heavy end to end (SIGKILL/Ctrl-C + resume, torchrun, launchers,
# W&B and MLflow processes, an installed wheel; about 8 CPU-minutes).
test-integration: setup
	$(PY) -m pytest -m integration -n $(PYTEST_WORKERS); rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests: that is a failure"; [ $$rc -eq 0 ]

# Reproduction tier: the MNIST-1D table with one seed, verdicts checked (about 5 minutes).
test-repro: setup
	$(PY) -m pytest -m repro; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests: that is a failure"; [ $$rc -eq 0 ]

test-all: test test-integration test-repro

bench: setup
	$(PY) benchmarks/trainer_overhead.py
	$(PY) benchmarks/report_speed.py
	$(PY) benchmarks/mnist1d_table.py

clean-runs:
	rm -rf reproductions/*/runs
