# One command serves the portal (make run), one passes the suite (make test).
# Both are idempotent and work as root on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp
export FLASK_APP := webapp
# Where `make run` serves: `make run PORT=8000 HOST=0.0.0.0`.
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run agent test matrix bench load faults load-and-faults scale install install-bench vendor translations db gost-provider chromium xmlsec1 java nginx wrk translate-extract translate-update translate-compile clean

run: install db
	$(FLASK) run --host $(HOST) --port $(PORT)

# The sandbox signing agent: NCALayer's protocol on ws://127.0.0.1:13579,
# signing with the sandbox test citizens' keys (run beside `make run`).
agent: install db
	$(BIN)/python -m signing.sandbox.agent $(AGENT_ARGS)

test: install chromium xmlsec1 java
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole browser matrix: every page in kk, ru, en x 1280/360 x JS on/off,
# with axe-core and the Nu HTML Checker, and every service walked in kk on a
# phone (make test runs a rotating slice of both).
matrix: install chromium java
	QYZMET_MATRIX=full $(BIN)/python -m pytest tests/browser/matrix tests/browser/test_every_service_in_browser.py $(PYTEST_ARGS)

# The HTTP benchmark: the portal under gunicorn next to bare Flask.
bench: install wrk
	$(BIN)/python -m bench.http_bench $(BENCH_ARGS)

# The load run (200 citizens, 5 minutes, PostgreSQL) and the faults during it.
load: install-bench
	$(BIN)/python -m bench.load $(LOAD_ARGS)

# The faults during load on their own (PostgreSQL of its own stopped and
# restarted, SMS gateway failing, worker killed mid-job, oversized upload).
faults: install-bench
	$(BIN)/python -m bench.load.faults $(FAULT_ARGS)

# The load run, then the fault run, in one command.
load-and-faults: load faults

# Two instances behind nginx, one killed mid-run.
scale: install-bench nginx
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

install: $(BIN)/.installed vendor translations gost-provider

install-bench: install $(BIN)/.bench-installed

$(BIN)/.bench-installed: pyproject.toml $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# htmx and the NCALayer client come from the npm registry, pinned by
# package-lock.json, and are copied into static/vendor/ (not committed).
vendor: static/vendor/htmx.min.js static/vendor/ncalayer-client.js

static/vendor/htmx.min.js static/vendor/ncalayer-client.js &: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/ncalayer-js-client/ncalayer-client.js static/vendor/ncalayer-client.js

translations: translate-compile

translate-extract: $(BIN)/.installed
	$(FLASK) translate extract

translate-update: $(BIN)/.installed
	$(FLASK) translate update

translate-compile: $(BIN)/.installed
	$(BIN)/pybabel compile -d translations

db: install
	$(FLASK) db upgrade
	$(FLASK) sandbox load
	$(FLASK) sandbox pki --if-missing

# GOST signatures (signing/gost.py): Streebog comes from OpenSSL's GOST
# provider (gostprov.so), which Debian ships in libengine-gost-openssl.
gost-provider:
	@dpkg -s libengine-gost-openssl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libengine-gost-openssl; }

# Browser tests drive Debian's Chromium; Playwright cannot download its own.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The tests check that what the portal signs verifies with xmlsec1 too.
xmlsec1:
	@command -v xmlsec1 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1; }

nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

# The Nu HTML Checker (npm vnu-jar) runs on Java.
java:
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; }

wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

clean:
	rm -rf $(VENV) node_modules static/vendor instance
