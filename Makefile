# redtext — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATASET ?= clinc150

.PHONY: install browser demo test test-fast benchmarks clean

install: $(STAMP)

# Re-runs when pyproject.toml changes; safe to run again at any time.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: 2.13.0 is a local CPU build; any other torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# llama-cpp-python (test extra) builds from source: portable flags; pip's wheel cache keeps the build
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's chromium for the browser test of `redtext review` (installed when missing and root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "the browser test needs Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

# The main job end to end: the benchmark protocol on an embedded dataset, with baselines.
demo: install
	$(BIN)/redtext bench $(DATASET)

# Every test, the slow and integration ones included (pytest exits 5 if none is collected: that fails too).
test: install browser
	$(BIN)/python -m pytest

# Unit tests only, for quick iterations (no real model, no servers, no Ray).
test-fast: install
	$(BIN)/python -m pytest -n auto -m "not slow and not integration and not ray"

# Regenerate BENCHMARKS.md (the four datasets and every extra table: 5-6 hours on 2 cores;
# benchmarks/run_all.py --only TABLE reruns one table).
benchmarks: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
