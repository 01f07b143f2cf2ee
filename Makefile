# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint screenshots samples system-deps clean bundle bench bench-quick fuzz soak

run: $(VENV)/.installed-all
	$(BIN)/dbplay $(ARGS)

test: system-deps $(VENV)/.installed-test
	$(BIN)/ruff check dbplay_desktop tests scripts benchmarks
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# The property-based tests with many more examples than make test runs (about 20 min;
# random seeds; ten times the examples, or DBPLAY_FUZZ=N (N > 1) for N times).
fuzz: $(VENV)/.installed-test
	DBPLAY_FUZZ=$${DBPLAY_FUZZ:-1} QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz

# The load tests at full size (tests/soak with DBPLAY_SOAK=1; about 15 min): 20 playgrounds
# streaming at once, 500 open/query/reset/close cycles, a 2 GB PostgreSQL template saved and
# restored. The figures are printed and written as JSON to DBPLAY_SOAK_REPORT (default:
# soak-figures.json in pytest's temporary folder); make test runs them at quick sizes.
soak: system-deps $(VENV)/.installed-test
	DBPLAY_SOAK=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider tests/soak

lint: $(VENV)/.installed-test
	$(BIN)/ruff check dbplay_desktop tests scripts benchmarks
	$(BIN)/lint-imports

# System packages (Qt offscreen, PostgreSQL server, Xvfb): installed only when run as
# root with apt available and something is missing; otherwise a no-op.
system-deps:
	@bash scripts/install-system-deps.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all]'
	touch $@

# The test-only engine (tests/plugin_engine) goes into a folder of its own that only the
# tests put on their path (tests/conftest.py), so `make run` never lists it.
PLUGIN_SOURCES := $(wildcard tests/plugin_engine/pyproject.toml tests/plugin_engine/*/*)
$(VENV)/.installed-test: pyproject.toml $(PLUGIN_SOURCES) | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all,test]'
	rm -rf $(VENV)/test-plugins
	$(BIN)/python -m pip install -q --no-deps --target $(VENV)/test-plugins ./tests/plugin_engine
	rm -rf tests/plugin_engine/build tests/plugin_engine/*.egg-info
	touch $@ $(VENV)/.installed-all

# The installed app: the PyInstaller bundle dist/dbplay/ (packaging/build.sh).
bundle: $(VENV)/.installed-all
	VENV=$(VENV) bash packaging/build.sh $(ARGS)

# Benchmarks against named baselines (docs/PERFORMANCE.md); not tests, they assert nothing.
bench: $(VENV)/.installed-all
	$(BIN)/python -m pip install -q -e '.[bench]'
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks $(ARGS)

bench-quick: $(VENV)/.installed-all
	$(BIN)/python -m pip install -q -e '.[bench]'
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks --quick $(ARGS)

# Regenerate the sample templates in resources/samples/ from the project's own data.
samples: $(VENV)/.installed-all
	$(BIN)/python scripts/make_samples.py

# Drive the real window under Xvfb and write docs/screenshots/*.png.
screenshots: system-deps $(VENV)/.installed-all
	xvfb-run -a -s '-screen 0 1400x900x24' $(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
