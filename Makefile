# SWAT Desk. `make run` sets up and serves the app; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SWAT   := $(VENV)/bin/swat
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run setup install translations test browser lint bench messages clean

run: setup
	$(SWAT) setup
	@echo "SWAT Desk on http://$(HOST):$(PORT)  (Ctrl-C stops it)"
	$(SWAT) run --host $(HOST) --port $(PORT) --no-reload

setup: install translations

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# Compile the message catalogs (the .po files are the source; .mo files are build output).
translations: install
	$(VENV)/bin/pybabel -q compile -d swat/translations

# Re-extract the strings and update both catalogs after changing user-facing text.
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k DomainError -k ValidationError \
	  -k Conflict -k Forbidden -k InvalidTransition -k NotFound --no-location --sort-output \
	  --project "SWAT Desk" -o swat/translations/messages.pot .
	$(VENV)/bin/pybabel update -i swat/translations/messages.pot -d swat/translations --no-fuzzy-matching --ignore-obsolete

# The real-browser test needs Debian's Chromium and ChromeDriver.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || sh scripts/install-browser.sh

test: setup browser
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check swat tests bench

bench: setup
	$(PY) bench/queue_bench.py
	$(PY) bench/routing_bench.py
	$(PY) bench/calendar_bench.py

clean:
	rm -rf $(VENV) instance
