# Two commands: `make demo` and `make test`. Each builds what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SYSTEM_STAMP := $(VENV)/.system-stamp

.PHONY: demo test test-fast lint typecheck format bench system-deps install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,redis,dashboard,voice]"
	touch $(STAMP)

install: $(STAMP)

# redis-server for session tests, chromium for the dashboard browser test, espeak-ng for the
# offline voice pipeline (Debian packages).
$(SYSTEM_STAMP): | $(PY)
	@if ! command -v redis-server >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 \
		|| ! command -v espeak-ng >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server chromium \
			espeak-ng >/dev/null; \
	fi
	touch $(SYSTEM_STAMP)

system-deps: $(SYSTEM_STAMP)

# The demo's voice line speaks with espeak-ng (Debian), nothing else of the system deps.
VOICE_STAMP := $(VENV)/.voice-stamp
$(VOICE_STAMP): | $(PY)
	@if ! command -v espeak-ng >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng >/dev/null; \
	fi
	touch $(VOICE_STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# mypy reads the packages through links named as they install (agentoscope/tracing -> tracing).
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir -p .typecheck/agentoscope
	for package in tracing runtime cli dashboard; do ln -s ../../$$package .typecheck/agentoscope/$$package; done
	cd .typecheck && ../$(VENV)/bin/mypy --config-file ../pyproject.toml \
		-p agentoscope.tracing -p agentoscope.runtime -p agentoscope.cli -p agentoscope.dashboard

test: $(STAMP) $(SYSTEM_STAMP) lint typecheck
	$(VENV)/bin/pytest

# The fast loop while you work: everything but the tests marked slow (CI runs those too).
test-fast: $(STAMP) $(SYSTEM_STAMP)
	$(VENV)/bin/pytest -m "not slow"

demo: $(STAMP) $(VOICE_STAMP)
	$(VENV)/bin/agentoscope demo

bench: $(STAMP)
	$(PY) benchmarks/bench_tracing.py

clean:
	rm -rf $(VENV) build *.egg-info
