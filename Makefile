# The two commands the README opens with:
#   make run   - install, migrate and start the portal on http://127.0.0.1:8000 (embedded mode)
#   make test  - install everything (Debian's chromium included) and run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev browser lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

# Debian's chromium for the browser tests; Playwright's own browser download is not used.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev browser
	$(BIN)/python bench/render_animatic.py
	$(BIN)/python bench/progress_latency.py
	$(BIN)/python bench/browser_progress_latency.py
	$(BIN)/python bench/cloud_polling.py

clean:
	rm -rf $(VENV) var .pytest_cache
