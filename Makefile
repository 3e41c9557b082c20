# The two commands of the README: `make demo` and `make test`. Both install first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo bench messages clean

install: $(STAMP)

$(STAMP): pyproject.toml agent/pyproject.toml
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV) || \
		{ echo "$(PYTHON) -m venv failed; on Debian/Ubuntu: apt-get install python3.11-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,demo]' -e ./agent
	touch $(STAMP)

# Tests run on PostgreSQL and Redis, never on the demo's SQLite.
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qingka
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Style and migrations, checked by CI before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The demo runs on SQLite under var/ and an embedded Redis unless DATABASE_URL and REDIS_URL say
# otherwise; `make demo PORT=8123` picks the port, ADDR=0.0.0.0:8000 the address.
PORT ?= 8000
ADDR ?= 127.0.0.1:$(PORT)
demo: export DEBUG ?= 1
demo: install
	$(BIN)/python manage.py demo --addr $(ADDR)

# Benchmarks are not tests: run them on purpose. Each builds its own qingka_bench_* database and
# uses Redis database 13; they write docs/benchmarks.md and docs/benchmarks.json (about 20 minutes).
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH)

# Regenerates the English catalogue after strings change (needs GNU gettext).
messages:
	$(BIN)/python manage.py makemessages -l en --no-obsolete --ignore '.venv/*' --ignore 'agent/*' --ignore 'tests/*'
	$(BIN)/python manage.py compilemessages -l en --ignore '.venv/*'

clean:
	rm -rf $(VENV) var/static
