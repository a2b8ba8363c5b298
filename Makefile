# Buurtgesprek: `make run` to try it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format messages lock bench clean deploy-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## run: set everything up on an embedded default (SQLite, tasks in process, mail to var/mail) and serve
run: install
	mkdir -p var/mail
	DEBUG=1 $(MANAGE) migrate --noinput
	DEBUG=1 $(MANAGE) createcachetable
	DEBUG=1 $(MANAGE) import_gebieden
	DEBUG=1 STAFF_MFA_REQUIRED=0 $(MANAGE) seed_demo --scale small
	# The demo log-ins skip the second factor (STAFF_MFA_REQUIRED=0); runserver warns about it.
	DEBUG=1 STAFF_MFA_REQUIRED=0 $(MANAGE) runserver $(HOST):$(PORT)

## test: the whole suite (SQLite by default; DATABASE_URL / REDIS_URL switch to the real services)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## deploy-check: `manage.py check --deploy` with production-like settings must be clean
deploy-check: install
	DEBUG=0 SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  ALLOWED_HOSTS=buurtgesprek.example SITE_URL=https://buurtgesprek.example SECURE_SSL_REDIRECT=1 \
	  $(MANAGE) check --deploy --fail-level WARNING

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint templates --lint

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## messages: refresh the Dutch catalogue after changing user-facing text, then translate and compile
messages: install
	$(MANAGE) makemessages --locale nl --no-location --no-wrap --ignore=.venv --ignore=var --ignore=bench
	$(MANAGE) compilemessages --locale nl --ignore=.venv

## lock: re-resolve requirements*.txt from pyproject.toml in a throw-away venv
lock:
	rm -rf var/lock-venv && $(PYTHON) -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet .
	var/lock-venv/bin/pip freeze --exclude buurtgesprek > var/runtime.txt
	var/lock-venv/bin/pip install --quiet '.[dev]'
	var/lock-venv/bin/pip freeze --exclude buurtgesprek > var/all.txt
	(echo "# Runtime dependencies, fully locked. Regenerate with 'make lock'."; cat var/runtime.txt) > requirements.txt
	(echo "# Development and test dependencies, fully locked. Regenerate with 'make lock'."; echo "-r requirements.txt"; grep -vxFf var/runtime.txt var/all.txt) > requirements-dev.txt

bench: install
	$(BIN)/python -m bench $(PARTS)

clean:
	rm -rf $(VENV) var
