# Two commands matter: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# mypy cannot follow setuptools' package-dir mapping (daemon/ installs as kithkin.daemon), so it
# reads the packages through symlinks under their real names; [tool.mypy] points it there.
MYPY_SRC := .mypy-src/kithkin

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

## demo: sync a generated year of mail from a throwaway local IMAP server and print the summary
demo: $(VENV)/.installed-demo
	$(BIN)/python tests/demo.py

## test: lint, then the whole test suite (Dovecot tests skip if dovecot is not installed)
test: $(VENV)/.installed-test lint
	$(BIN)/pytest

lint: $(VENV)/.installed-test | $(MYPY_SRC)/daemon $(MYPY_SRC)/parsers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(MYPY_SRC)/daemon $(MYPY_SRC)/parsers:
	mkdir -p $(MYPY_SRC)
	ln -sfn ../../$(@F) $@

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the benchmarks in tests/bench (they print figures; they are not tests)
bench: $(VENV)/.installed-test
	for script in tests/bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .mypy-src
