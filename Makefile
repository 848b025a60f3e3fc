# The two commands of the README's quick start, on a fresh machine with Python 3.11+:
#   make demo   set everything up and show a demo network being matched
#   make test   set everything up and run the tests
# For the container image (docs/deploy.md):
#   make lock        re-resolve requirements.lock from pyproject.toml (after changing a dependency)
#   make lock-check  install requirements.lock into a throwaway venv the way the Dockerfile does
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-unit install clean lock lock-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/collab demo

# The suite runs on PYTEST_WORKERS processes (pytest-xdist; auto: one per core), each with its own
# SQLite files and its own PostgreSQL schema; PYTEST_WORKERS=0 runs it in this one process (for pdb).
# worksteal: a worker that runs out takes tests from the other, so the slow end-to-end tests
# (gunicorn, compose, the killed clock, the relevance fit) do not leave one worker waiting.
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set (Python's Docker images set it):
# without the caches every run, and each of its worker processes, re-compiles every module and
# re-writes the asserts of every test file (about 5 s of CPU a process).
PYTEST_WORKERS ?= auto

test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

# The lock is resolved from the package index alone (no local wheel cache or pip config), so it holds
# what a clean machine, the image build, can download; hashes for every file of each pinned release
# (any CPU), setuptools included because the image builds Collab's own wheel without build isolation.
LOCK_ENV  := env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null
LOCK_TOOL := $(VENV)/lock-tools

lock:
	test -x $(LOCK_TOOL)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOL) && \
	  $(LOCK_ENV) $(LOCK_TOOL)/bin/python -m pip install --quiet 'pip-tools==7.6.2'; }
	$(LOCK_ENV) CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_TOOL)/bin/pip-compile --quiet --no-config \
	  --generate-hashes --allow-unsafe --strip-extras --build-deps-for wheel --annotation-style line \
	  --output-file requirements.lock pyproject.toml

# The Dockerfile's two install steps, outside Docker: every pin has a hash and a wheel, nothing is missing.
lock-check:
	rm -rf build/lock-check
	$(PYTHON) -m venv build/lock-check
	$(LOCK_ENV) build/lock-check/bin/python -m pip install --quiet --no-cache-dir --require-hashes \
	  --only-binary=:all: -r requirements.lock
	$(LOCK_ENV) build/lock-check/bin/python -m pip install --quiet --no-cache-dir --no-deps --no-build-isolation .
	build/lock-check/bin/python -m pip check
	build/lock-check/bin/collab --help >/dev/null
	@echo "requirements.lock installs with --require-hashes; collab runs"

clean:
	rm -rf $(VENV) build demo.db demo.db-wal demo.db-shm .pytest_cache
