# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install migrate demo bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/pubdata db upgrade

demo: migrate
	$(BIN)/pubdata demo --if-empty

## Installs, migrates the SQLite database under ./var, loads demo data if empty, serves :8000.
run: demo
	$(BIN)/pubdata serve --host 127.0.0.1 --port 8000

## Installs and runs every test (SQLite, or PostgreSQL when PUBDATA_DATABASE_URL is set).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

lint: install
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
