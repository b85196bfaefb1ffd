# SWAT Desk. `make run` sets up and serves the app; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SWAT   := $(VENV)/bin/swat
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run setup install lock translations test browser mailserver directory proxy lint bench messages clean screenshots

run: setup
	$(SWAT) setup
	@echo "SWAT Desk on http://$(HOST):$(PORT)  (Ctrl-C stops it)"
	$(SWAT) run --host $(HOST) --port $(PORT) --no-reload

setup: install translations

install: $(VENV)/.installed

# Every dependency comes from the lock, at the version and hash the tests passed with; then
# the project itself, editable and without dependencies (its build backend is fetched by pip
# for the build only). `pip check` fails when pyproject.toml asks for what the lock lacks.
$(VENV)/.locked: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

$(VENV)/.installed: $(VENV)/.locked pyproject.toml
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $@

# Rewrite the lock files after changing dependencies in pyproject.toml: requirements.txt is the
# runtime set (for deployment), requirements-dev.txt adds the test and dev extras within it.
# Pins already in the files are kept; `make lock LOCK_ARGS=--upgrade` (or
# `LOCK_ARGS="--upgrade-package flask"`) moves them on.
# The index and find-links of the local pip configuration are not written into the files.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
              --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: $(VENV)/.locked
	$(PIP_COMPILE) -o requirements.txt pyproject.toml
	$(PIP_COMPILE) --extra test --extra dev -c requirements.txt -o requirements-dev.txt pyproject.toml

# Compile the message catalogs (the .po files are the source; .mo files are build output).
translations: install
	$(VENV)/bin/pybabel -q compile -d swat/translations

# Re-extract the strings and update both catalogs after changing user-facing text.
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k DomainError -k ValidationError \
	  -k Conflict -k Stale -k Duplicate -k Forbidden -k InvalidTransition -k NotFound --no-location --sort-output \
	  --project "SWAT Desk" -o swat/translations/messages.pot .
	$(VENV)/bin/pybabel update -i swat/translations/messages.pot -d swat/translations --no-fuzzy-matching --ignore-obsolete

# The real-browser tests need Debian's Chromium and ChromeDriver, and axe-core from the npm
# registry (pinned in tests/e2e/package-lock.json) for the accessibility scan.
AXE := tests/e2e/node_modules/axe-core/axe.min.js

browser: $(AXE)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || sh scripts/install-browser.sh

$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
	touch $@

# The mail-fetch tests run Debian's Dovecot of their own (tests/fixtures/dovecot.py).
mailserver:
	@test -x /usr/sbin/dovecot && test -x /usr/lib/dovecot/imap || sh scripts/install-mail-server.sh

# The directory sign-in tests run Debian's OpenLDAP of their own (tests/fixtures/slapd.py).
directory:
	@test -x /usr/sbin/slapd && command -v ldapadd >/dev/null && test -e /usr/lib/ldap/memberof.so || sh scripts/install-directory-server.sh

# The deployment test runs Debian's nginx with deploy/nginx-swat.conf (tests/test_deploy.py).
proxy:
	@test -x /usr/sbin/nginx && command -v openssl >/dev/null || sh scripts/install-proxy.sh

test: setup browser mailserver directory proxy
	$(PY) -m pytest

# Run the browser tests and refresh the README's pictures from what they saw.
SHOTS := 02-new-consultation 04-queue 18-queue-panel 08-staff-sees-answer 11-triage 12-escalation-ack \
         13-report 15-admin-users 31-phone-queue 20-keyboard-focus-claim 21-canned-reply \
         22-bulk-acknowledge 23-merge
screenshots: setup browser
	$(PY) -m pytest -q tests/e2e
	mkdir -p docs/screenshots
	for s in $(SHOTS); do cp test-artifacts/screenshots/$$s.png docs/screenshots/; done

# ruff over the whole tree (migrations/versions excluded in pyproject.toml), mypy over swat/.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/queue_bench.py
	$(PY) bench/routing_bench.py
	$(PY) bench/calendar_bench.py

clean:
	rm -rf $(VENV) instance
