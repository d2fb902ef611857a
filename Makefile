# Two commands do all the set-up on a fresh machine:
#   make run    creates .venv, installs the project, opens the app on the published example
#   make test   creates .venv, installs the project with its test tools, runs lint and the tests
# Benchmarks: make bench prints every figure beside its target (bench-quick: fewer repeats);
# make gate runs a short version that fails only on a gross regression (half the target);
# make gate-quick measures each figure once, with fewer repeats.
#
# Variables (on the command line, e.g. make test EXTRAS=test,torch):
#   EXTRAS   the optional extras installed with the project (default: test). The PyTorch
#            parity tests need test,torch; torch is not in the default because on most
#            machines pip would fetch a build of several GB (CUDA) for it, and the tests
#            that need it skip with their reason without it.
#   PYTHON   the interpreter the venv is made from (default: python3)
#   VENV     the venv's folder (default: .venv; CI puts a second Python in .venv-3.12)
PYTHON ?= python3
VENV   := .venv
EXTRAS := test
BIN    := $(VENV)/bin
# one stamp per set of extras: asking for other extras installs again
STAMP  := $(VENV)/.installed-$(EXTRAS)

.PHONY: run test lint bench bench-quick gate gate-quick screenshots own-model-screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lstm-viz $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_interventions.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_gui.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_app_memory.py

bench-quick: $(STAMP)
	$(BIN)/python bench/bench_engine.py --quick
	$(BIN)/python bench/bench_interventions.py --quick
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_gui.py --quick
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_app_memory.py

gate: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gate.py

gate-quick: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gate.py --quick

# the README's pictures, rendered by the app itself
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --goto bwd:2:ds --screenshot assets/screenshot-backward.png
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --goto fwd:2:s --screenshot assets/screenshot-forward.png
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --task random --goto bwd:30:ds --screenshot assets/screenshot-views.png
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --task adding --goto bwd:10:ds --whatif "cut h" --size 1600x900 --screenshot assets/screenshot-whatif-cut.png
	QT_QPA_PLATFORM=offscreen $(BIN)/lstm-viz --task adding --goto bwd:10:ds --whatif "clamp f=1 cut h" --size 1600x900 --screenshot assets/screenshot-whatif-carousel.png
	@if $(BIN)/python -c "import torch" 2>/dev/null; then $(MAKE) --no-print-directory own-model-screenshot; \
	else echo "assets/screenshot-own-model.png not rendered: it needs PyTorch (make screenshots EXTRAS=test,torch)"; fi

# README's "Debug your own PyTorch model", run as written (examples/train_char.py, about
# 3 CPU-minutes), in build/own-model; the window at bwd:50:L0:ds of sequence 3.
OWN := build/own-model
own-model-screenshot: $(STAMP)
	mkdir -p $(OWN)
	cd $(OWN) && $(CURDIR)/$(BIN)/python $(CURDIR)/examples/train_char.py $(CURDIR)/lstm_engine/data/text.txt
	cd $(OWN) && $(CURDIR)/$(BIN)/lstm-engine import-torch model.pt -o params.npz --vocab vocab.json
	cd $(OWN) && QT_QPA_PLATFORM=offscreen $(CURDIR)/$(BIN)/lstm-viz --params params.npz --inputs tokens.npy \
		--targets next.npy --sequence 3 --goto bwd:50:L0:ds --screenshot $(CURDIR)/assets/screenshot-own-model.png

clean:
	rm -rf .venv .venv-3.* build *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
