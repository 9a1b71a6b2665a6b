# Facesite: `make run` starts the whole system, `make test` runs lint, type checks and the test suite.
# Both create .venv and install the pinned requirements first, so a fresh clone needs nothing else.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# CI runs the suite against the machine's real PostgreSQL and Redis.
ifeq ($(CI),true)
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/facesite
export REDIS_URL ?= redis://127.0.0.1:6379/0
endif

.PHONY: run test demo lint typecheck format migrate superuser clean browser rtsp

run: $(VENV)/.runtime
	@$(PY) manage.py migrate --noinput --verbosity 0
	@$(PY) manage.py collectstatic --noinput --verbosity 0
	@$(PY) scripts/run.py

# The suite, then its face-search tests again on the other databases: PostgreSQL with pgvector (a
# private server, tests/pgvector_server.py) and, when the suite ran on PostgreSQL, SQLite.
test: $(VENV)/.dev $(VENV)/.pgvector browser rtsp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest
	$(PY) -m tests.pgvector_server pytest -m face_search
ifneq ($(DATABASE_URL),)
	env -u DATABASE_URL $(BIN)/pytest -m face_search
endif

# Two people enrolled and the test photos analysed, so the back office has something to show.
demo: $(VENV)/.runtime
	@$(PY) manage.py migrate --noinput --verbosity 0
	@$(PY) manage.py demo

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Strict on the engines and the services, lenient elsewhere (pyproject.toml [tool.mypy]).
typecheck: $(VENV)/.dev
	$(BIN)/mypy

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate

superuser: $(VENV)/.runtime
	$(PY) manage.py createsuperuser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt requirements-nodeps.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt requirements-dev-nodeps.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-dev-nodeps.txt
	touch $@

# pgvector for the test PostgreSQL, compiled from Debian's source (the script says why).
$(VENV)/.pgvector: $(VENV)/.dev scripts/build_pgvector.sh
	bash scripts/build_pgvector.sh $(PY)
	touch $@

# The admin's browser test drives Debian's Chromium. Install it when we can (root with apt);
# otherwise that one test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install Chromium; the browser test will be skipped."; \
	  else echo "Chromium is not installed and cannot be installed here; the browser test will be skipped."; fi; }

# The RTSP camera test watches a stream from GStreamer's RTSP server, run by the system's Python
# (tests/rtsp_server.py). Installed like Chromium: when we can; otherwise that test is skipped and says why.
RTSP_PACKAGES := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good
rtsp:
	@[ "$$(dpkg-query -W -f='$${db:Status-Status}\n' $(RTSP_PACKAGES) 2>/dev/null | grep -cx installed)" = \
	   "$(words $(RTSP_PACKAGES))" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing GStreamer's RTSP server for the RTSP camera test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(RTSP_PACKAGES) >/dev/null) \
	      || echo "Could not install GStreamer's RTSP server; the RTSP camera test will be skipped."; \
	  else echo "GStreamer's RTSP server is not installed and cannot be installed here; the RTSP camera test will be skipped."; fi; }

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
