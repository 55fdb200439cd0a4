# vigil: `make demo` and `make test` work on a fresh machine with python3 >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pywb pins packages that clash with ours (brotlipy shadows brotli), so it gets its own
# environment; the tests replay our WARCs through it.
PYWB_VENV := .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed

.PHONY: install demo test lint typecheck pytest chromium bench bench-tools clean

# vigil, and pywb in its own environment for `vigil serve`.
install: $(STAMP) $(PYWB_STAMP)

# Re-install only when the declared dependencies change.
# The .pth hook lets plain `warcio check` read brotli records (archive/warcio_hook.py).
$(STAMP): pyproject.toml archive/warcio_hook.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m archive.warcio_hook
	touch $(STAMP)

$(PYWB_STAMP):
	test -x $(PYWB_VENV)/bin/python || $(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYWB_VENV)/bin/python -m pip install --quiet 'pywb>=2.8,<3'
	touch $(PYWB_STAMP)

# demo-data is the demo's own scratch home: start it fresh so each run tells the same story.
# Chromium renders the replica's script-written article.
demo: install chromium
	rm -rf demo-data
	$(BIN)/vigil --home demo-data demo

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy crawler spiders archive monitor

# Debian's Chromium, driven by Playwright, replays archived pages in the tests.
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

pytest: install chromium
	$(BIN)/pytest -q -n 2

test: lint typecheck pytest

# Benchmarks, never part of `make test`: nginx serves the site, wrk measures its ceiling,
# wget is the baseline to beat.
bench-tools:
	command -v nginx >/dev/null && command -v wrk >/dev/null && command -v wget >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nginx-light wrk wget)

bench: install bench-tools
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(PYWB_VENV) demo-data bench/work *.egg-info .mypy_cache .ruff_cache .pytest_cache
