# INTRALOG Leads Manager. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
## Test processes (pytest-xdist): each has its own test database and Redis database.
TEST_PROCESSES ?= 2
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/intralog_bench

.PHONY: run test worker serve upgrade backup bench lint messages check-messages install install-dev browser mailserver clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Browser tests drive Debian's Chromium through Playwright.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium package (sudo apt-get install chromium) for the browser tests." >&2; exit 1; fi; }

## Dovecot, the IMAP server the email tests read replies from (started by a fixture, own config, temp dir).
mailserver:
	@test -x /usr/sbin/dovecot || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "Install Debian's dovecot-imapd package (sudo apt-get install dovecot-imapd) for the email tests." >&2; exit 1; fi; }

## Development server on the embedded defaults (SQLite, in-process jobs), with demo data.
run: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py rundev $(HOST):$(PORT)

## The import contract (pyproject.toml), then the whole suite with a coverage summary; set DATABASE_URL and
## REDIS_URL to run it on PostgreSQL and Redis.
test: $(VENV)/.installed-dev browser mailserver
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n $(TEST_PROCESSES) --cov --cov-report=term $(PYTEST_ARGS)

## An RQ worker for the three queues plus the periodic schedule (needs REDIS_URL).
worker: $(VENV)/.installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL, e.g. redis://127.0.0.1:6379/0" >&2; exit 1; }
	$(PY) manage.py rqcron intralog.schedule & cron=$$!; \
	trap 'kill $$cron 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py rqworker high default low --with-scheduler

## On-premise production: gunicorn, worker and scheduler against PostgreSQL and Redis.
serve: $(VENV)/.installed
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" -a -n "$$SECRET_KEY" || { echo "Set DATABASE_URL, REDIS_URL and SECRET_KEY (see .env.example)" >&2; exit 1; }
	DJANGO_SETTINGS_MODULE=intralog.settings.production $(PY) manage.py migrate --no-input
	DJANGO_SETTINGS_MODULE=intralog.settings.production $(PY) manage.py collectstatic --no-input --verbosity 0
	DJANGO_SETTINGS_MODULE=intralog.settings.production $(MAKE) --no-print-directory worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_SETTINGS_MODULE=intralog.settings.production $(VENV)/bin/gunicorn intralog.wsgi --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile -

## Upgrade an installation in place: pull, install, back up, migrate, collect static files, restart the
## systemd units when they are installed (deploy/systemd). SKIP_BACKUP=1 skips the backup; GIT_REMOTE/GIT_BRANCH
## choose what is pulled (default: the branch's upstream).
PROD := DJANGO_SETTINGS_MODULE=intralog.settings.production
SYSTEMCTL ?= systemctl
upgrade:
	git pull --ff-only $(GIT_REMOTE) $(GIT_BRANCH)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	test ! -d $(VENV) || touch $(VENV)/.installed
	@if [ -z "$(SKIP_BACKUP)" ]; then $(PROD) $(PY) manage.py backup; fi
	$(PROD) $(PY) manage.py migrate --no-input
	$(PROD) $(PY) manage.py collectstatic --no-input --verbosity 0
	@if command -v $(SYSTEMCTL) >/dev/null 2>&1 && $(SYSTEMCTL) cat intralog.target >/dev/null 2>&1; then \
	  echo "Restarting intralog.target"; $(SYSTEMCTL) restart intralog.target; \
	else echo "No intralog.target installed: restart the web server, worker and scheduler yourself."; fi

## A backup now (BACKUP_DIR, the newest BACKUP_KEEP kept); restore with manage.py restore ARCHIVE.
backup: $(VENV)/.installed
	$(PY) manage.py backup

## Benchmarks on PostgreSQL (BENCH_DATABASE_URL); results go to bench/RESULTS.md.
bench: $(VENV)/.installed-dev
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench $(BENCH_ARGS)

## ruff, the type checker and the import contract (all configured in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

## Refresh the Spanish catalogue after changing strings, then translate and compile it.
messages: $(VENV)/.installed-dev
	$(PY) manage.py makemessages -l es_AR --no-obsolete --ignore=staticfiles --ignore=bench --ignore=tests
	$(PY) manage.py compilemessages -l es_AR --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
