# Set-up and everyday commands. `make setup` on a fresh Debian machine installs what
# reportgen needs (system packages included) and builds the example; `make test` runs
# the tests (installing first when needed).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# WeasyPrint's libraries and a font; bubblewrap for the sandbox; poppler-utils (pdftotext) and
# chromium for the tests.
DEB_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core bubblewrap poppler-utils chromium

.PHONY: setup system example test test-quick bench clean

setup: example

system:
	@missing="$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:" $$missing; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BIN)/reportgen: pyproject.toml | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q reportgen  # an editable install is not byte-compiled
	touch $@

example: $(BIN)/reportgen
	$(BIN)/reportgen build specs/q3.yaml --format html --format pdf

test: $(BIN)/reportgen
	$(BIN)/pytest -q

test-quick: $(BIN)/reportgen
	$(BIN)/pytest -q -m "not e2e"

bench: $(BIN)/reportgen
	$(BIN)/pip install -q -e ".[test,bench]"
	$(BIN)/python bench/run.py

clean:
	rm -rf output .pytest_cache
