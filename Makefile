# vigil: `make demo` and `make test` work on a fresh machine with python3 >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest clean

install: $(STAMP)

# Re-install only when the declared dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# demo-data is the demo's own scratch home: start it fresh so each run tells the same story.
demo: install
	rm -rf demo-data
	$(BIN)/vigil --home demo-data demo

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy crawler spiders archive monitor

pytest: install
	$(BIN)/pytest -q -n 2

test: lint typecheck pytest

clean:
	rm -rf $(VENV) demo-data *.egg-info .mypy_cache .ruff_cache .pytest_cache
