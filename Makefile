# redtext — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATASET ?= clinc150

.PHONY: install demo test test-fast clean

install: $(STAMP)

# Re-runs when pyproject.toml changes; safe to run again at any time.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: 2.13.0 is a local CPU build; any other torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job end to end: the benchmark protocol on an embedded dataset, with baselines.
demo: install
	$(BIN)/redtext bench $(DATASET)

# Every test, the slow and integration ones included (pytest exits 5 if none is collected: that fails too).
test: install
	$(BIN)/python -m pytest

# Unit tests only, for quick iterations.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not integration"

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
