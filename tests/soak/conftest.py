"""Fixtures of the load tests: a window on every available engine, templates, figures.

The window is the real one (as in ``tests/ui``), with its own data directory and
settings, on the test PostgreSQL and, when there is one, the test MongoDB; SQLite and
Chroma need no server. The figures of the run are printed in pytest's terminal summary
and written as JSON (:mod:`tests.soak.figures`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import qt_fixtures
from tests.soak.engines import Engines
from tests.soak.figures import FIGURES, REPORT_ENV
from tests.soak.sizes import SOAK
from tests.ui.conftest import shown_window

# The window suites' shared fixtures (tests/qt_fixtures.py), seen by pytest here.
_isolated_qsettings = qt_fixtures._isolated_qsettings
data_dir = qt_fixtures.data_dir


def pytest_configure(config: pytest.Config) -> None:
    FIGURES.mode = "soak" if SOAK else "quick"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not FIGURES.items:
        return
    terminalreporter.section(f"load figures ({FIGURES.mode} sizes)")
    for line in FIGURES.table():
        terminalreporter.write_line(line)
    if FIGURES.path is not None:
        terminalreporter.write_line(f"written to {FIGURES.path}")


@pytest.fixture(scope="session", autouse=True)
def _figures_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    import os

    chosen = os.environ.get(REPORT_ENV, "").strip()
    FIGURES.path = (Path(chosen) if chosen
                    else tmp_path_factory.getbasetemp() / "soak-figures.json")
    yield


@pytest.fixture(scope="session")
def soak_engines(request: pytest.FixtureRequest, pg_admin_uri: str) -> Engines:
    """Every engine available here, with the test servers' addresses."""
    mongo_uri = None
    if importlib.util.find_spec("pymongo") is not None:
        try:
            mongo_uri = request.getfixturevalue("mongo_uri")
        except Exception:  # no server program here: the tests go on without MongoDB
            mongo_uri = None
    chroma = importlib.util.find_spec("chromadb") is not None
    return Engines(pg_admin_uri, mongo_uri=mongo_uri, chroma=chroma)


@pytest.fixture(scope="session")
def template_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Templates shared by the load tests of this run (built once each)."""
    return tmp_path_factory.mktemp("soak-templates")


@pytest.fixture
def soak_window(qtbot, soak_engines: Engines, data_dir: Path, tmp_path: Path) -> Iterator[object]:
    """A shown main window on every engine of the run; it never asks questions."""
    with shown_window(qtbot, tmp_path, ready_timeout=60_000, close_timeout=120_000,
                      server_uris=soak_engines.server_uris,
                      default_engine="postgresql") as window:
        window.resize(1200, 800)
        yield window
