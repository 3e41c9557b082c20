# The two commands of the README: `make demo` and `make test`. Both install first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock test test-fast test-agent lint demo bench messages clean

install: $(STAMP)

# Versions come from the lock files under requirements/ (pip-tools, with hashes), so CI, every
# developer and the site image install the same ones; the two projects themselves go in editable.
$(STAMP): requirements/dev.txt pyproject.toml agent/pyproject.toml
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV) || \
		{ echo "$(PYTHON) -m venv failed; on Debian/Ubuntu: apt-get install python3.11-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e . -e ./agent
	touch $(STAMP)

# After changing a dependency in either pyproject.toml: the whole set (dev), then the site image's
# and the agent's own, held to the same versions.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --annotation-style=line
lock: install
	$(PIP_COMPILE) --all-extras -o requirements/dev.txt pyproject.toml agent/pyproject.toml
	$(PIP_COMPILE) -c requirements/dev.txt -o requirements/site.txt pyproject.toml
	$(PIP_COMPILE) -c requirements/dev.txt -o requirements/agent.txt agent/pyproject.toml
	$(PIP_COMPILE) -c requirements/dev.txt --extra test -o requirements/agent-test.txt agent/pyproject.toml

# Tests run on the PostgreSQL and Redis of DATABASE_URL and REDIS_URL (the demo's embedded ones are the demo's).
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qingka
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
# Three lanes: the tests that run in-process, on both cores; then the ones that start processes,
# drive a browser or emulate USB, on three workers, since they spend much of their time waiting on
# those processes (each xdist worker has its own Redis database, tests/conftest.py); then the few
# that need a pytest process of their own. A lane that PYTEST_ARGS leaves empty (pytest's exit 5)
# is no failure.
test: install
	$(BIN)/pytest -n 2 --dist loadgroup -m "not integration and not browser and not usb" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/pytest -n 3 --dist loadgroup -m "(integration or browser or usb) and not solo" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/pytest -m solo $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Everything but the tests that start processes, drive a browser or emulate USB, on both cores.
test-fast: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qingka
test-fast: export REDIS_URL ?= redis://127.0.0.1:6379/0
test-fast: install
	$(BIN)/pytest -n 2 --dist loadgroup -m "not integration and not browser and not usb" $(PYTEST_ARGS)

# The agent's tests in a venv holding the agent alone: it must work without Django.
AGENT_VENV := agent/.venv
test-agent:
	test -x $(AGENT_VENV)/bin/pip || $(PYTHON) -m venv --clear $(AGENT_VENV)
	$(AGENT_VENV)/bin/pip install --quiet --require-hashes -r requirements/agent-test.txt
	$(AGENT_VENV)/bin/pip install --quiet --no-deps -e ./agent
	! $(AGENT_VENV)/bin/python -c "import django" 2>/dev/null
	cd agent && .venv/bin/pytest $(PYTEST_ARGS)

# Style, types and migrations, checked by CI before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python scripts/check_layers.py

# The demo runs on an embedded PostgreSQL (var/pg) and an embedded Redis unless DATABASE_URL and
# REDIS_URL say otherwise; `make demo PORT=8123` picks the port, ADDR=0.0.0.0:8000 the address,
# TODAY=2027-01-18 or NOW=2027-03-01T00:03 the demo's moment, RESET=1 fresh demo data.
PORT ?= 8000
ADDR ?= 127.0.0.1:$(PORT)
demo: export DEBUG ?= 1
demo: install
	$(BIN)/python manage.py demo --addr $(ADDR) $(if $(TODAY),--today $(TODAY)) $(if $(NOW),--now $(NOW)) \
		$(if $(RESET),--reset)

# Benchmarks are not tests: run them on purpose. Each builds its own qingka_bench_* database and
# uses Redis database 13; they write docs/benchmarks.md and docs/benchmarks.json (about 20 minutes).
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH)

# Regenerates the English catalogue after strings change (needs GNU gettext).
messages:
	$(BIN)/python manage.py makemessages -l en --no-obsolete --ignore '.venv/*' --ignore 'agent/*' --ignore 'tests/*'
	$(BIN)/python manage.py compilemessages -l en --ignore '.venv/*'

clean:
	rm -rf $(VENV) $(AGENT_VENV) var/static
