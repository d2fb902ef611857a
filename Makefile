# Two commands do all the set-up on a fresh machine:
#   make run    creates .venv, installs the project, opens the app on the published example
#   make test   creates .venv, installs the project with its test tools, runs lint and the tests
# Benchmarks: make bench prints every figure beside its target (bench-quick: fewer repeats);
# make gate runs a short version that fails only on a gross regression (half the target).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench bench-quick gate screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lstm-viz $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_gui.py

bench-quick: $(STAMP)
	$(BIN)/python bench/bench_engine.py --quick
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_gui.py --quick

gate: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gate.py

# the README's pictures, rendered by the app itself
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --goto bwd:2:ds --screenshot assets/screenshot-backward.png
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --goto fwd:2:s --screenshot assets/screenshot-forward.png
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --task random --goto bwd:30:ds --screenshot assets/screenshot-views.png

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
