# The course's two entry points: `make book` and `make test`. Both create .venv
# and install requirements.txt plus this package on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Extra flags for the book build, e.g. BOOK_FLAGS="-W --keep-going" (CI).
BOOK_FLAGS ?=
# Extra flags for pytest, e.g. PYTEST_FLAGS="-x".
PYTEST_FLAGS ?=
# The browser test needs headless Chromium: test-book installs the Debian packages chromium
# and chromium-driver with apt-get when they are missing and make runs as root
# (INSTALL_CHROMIUM=no: never install).
INSTALL_CHROMIUM ?= yes

.PHONY: install book test test-py test-results test-nb test-book lab bench colab-setup claims clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

## Build the book from the notebooks' stored outputs into _build/html.
book: $(STAMP)
	$(BIN)/jupyter-book build --all $(BOOK_FLAGS) .
	@echo "Open _build/html/index.html"

## Run every test: the package's unit tests, the recorded experiments re-checked from
## their committed weights, the built book in headless Chromium, then every notebook
## re-executed by nbval. The last line says whether the browser test ran, and if not, why.
test: test-py test-results test-book test-nb
	@INSTALL_CHROMIUM=$(INSTALL_CHROMIUM) $(BIN)/python tools/chromium.py status

test-py: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/book $(PYTEST_FLAGS)

# Re-evaluates every model committed in results/ on its recorded held-out data and fails,
# naming the metric, when a recorded number is not reproduced (tolerance 1e-3).
test-results: $(STAMP)
	$(BIN)/python -m unet_tutorial experiment check

# Builds the book, installs headless Chromium where it can (tools/chromium.py: as root,
# with apt-get), then opens every page in it (skipped, with the reason, without Chromium).
test-book: book
	@INSTALL_CHROMIUM=$(INSTALL_CHROMIUM) $(BIN)/python tools/chromium.py install
	$(BIN)/python -m pytest -p no:cacheprovider -rs tests/book $(PYTEST_FLAGS)

test-nb: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks $(PYTEST_FLAGS)

## Open the notebooks in JupyterLab.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

## Benchmarks (not part of `make test`); they install their own extra packages.
bench: $(STAMP)
	$(BIN)/python -m pip install -r benchmarks/requirements.txt
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

## After changing repository.url in _config.yml: update every notebook's Colab set-up cell.
colab-setup: $(STAMP)
	$(BIN)/python tools/colab_setup.py

## After changing unet_tutorial/ledger.py, measures.py or a record in results/: regenerate the claims
## ledger page book/claims.md from the measures (fails, naming the claim, when a verdict drifts).
claims: $(STAMP)
	$(BIN)/python tools/make_claims.py

clean:
	rm -rf _build .pytest_cache
