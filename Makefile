# The two commands the README opens with:
#   make run   - install, migrate and start the portal on http://127.0.0.1:8000 (embedded mode)
#   make test  - install everything (Debian's chromium included), check lint, types and
#                migrations, and run every test, on the
#                embedded default and on PostgreSQL/Redis/RabbitMQ (which must be running)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# The production pass: PostgreSQL, Redis as broker, channel layer and cache (all on localhost;
# .ci/run starts any that is down), media on S3 (moto's server, TEST_STORAGE=s3). TEST_SERVICES=1
# lets the tests that need them run.
SERVICES_ENV := TEST_SERVICES=1 TEST_STORAGE=s3 \
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/dreamsite \
  DRAMATIQ_BROKER_URL=redis://127.0.0.1:6379/1 \
  CHANNEL_LAYER_URL=redis://127.0.0.1:6379/2 \
  CACHE_URL=redis://127.0.0.1:6379/3
RABBITMQ_ENV := $(SERVICES_ENV) DRAMATIQ_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/%2F
# Tests run in parallel processes (pytest-xdist), each with its own databases; browser tests
# one at a time among themselves. More than 5 would run out of Redis databases.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadgroup

.PHONY: run test check test-embedded test-services install install-dev browser fonts audio lint format bench clean

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

# Debian's Noto fonts, so captions draw every script (generation/text.py); skipped when there.
NOTO := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
fonts:
	@test -f $(NOTO) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji; fi; }

# Debian's speech engine (espeak-ng, the narration fallback), FluidSynth and its General MIDI
# sound font (fluid-soundfont-gm, MIT) for films' narration and music; skipped when there.
SOUND_FONT := /usr/share/sounds/sf2/FluidR3_GM.sf2
audio:
	@{ command -v espeak-ng >/dev/null 2>&1 && command -v fluidsynth >/dev/null 2>&1 && test -f $(SOUND_FONT); } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install --no-install-recommends -y -qq espeak-ng fluidsynth fluid-soundfont-gm; \
	  else sudo apt-get update -qq && sudo apt-get install --no-install-recommends -y -qq espeak-ng fluidsynth fluid-soundfont-gm; fi; }

run: install fonts audio
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver --nostatic $(HOST):$(PORT)

# Lint, types and migrations first; then every test on the embedded default, then on the
# production services every test whose behaviour depends on them (not those marked
# `embedded`: see tests/conftest.py), its browser tests (two web processes, workers, a sweeper
# and chromium each) on their own, not beside other tests; the broker-specific tests a third
# time on RabbitMQ.
test: check test-embedded test-services

# ruff (lint and format), mypy with django-stubs (strict on every app), and
# no model change without its migration.
check: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

test-embedded: install-dev browser fonts audio
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

test-services: install-dev browser fonts audio
	$(SERVICES_ENV) $(BIN)/python -m pytest $(XDIST) -m "not embedded and not browser" $(PYTEST_ARGS)
	$(SERVICES_ENV) $(BIN)/python -m pytest -m "browser and not embedded" $(PYTEST_ARGS)
	$(RABBITMQ_ENV) $(BIN)/python -m pytest $(XDIST) -m "broker and not embedded" $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev browser fonts audio
	$(BIN)/python bench/render_animatic.py
	$(BIN)/python bench/film_assembly.py
	$(BIN)/python bench/film_sound.py
	$(BIN)/python bench/gpu_clip.py --tiny
	$(BIN)/python bench/progress_latency.py
	$(BIN)/python bench/browser_progress_latency.py
	$(BIN)/python bench/cloud_polling.py
	$(BIN)/python bench/history_throughput.py
	$(BIN)/python bench/websocket_fanout.py
	$(BIN)/python bench/queue_latency.py

clean:
	rm -rf $(VENV) var .pytest_cache
