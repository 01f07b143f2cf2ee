"""UI fixtures: a real main window on the test PostgreSQL, with its own data and settings.

Every window test gets a fresh ``DBPLAY_DATA_DIR`` (template library, single-instance
socket name) and QSettings stored under a temporary folder, so nothing touches the
user's real profile and tests never see each other's recent files or geometry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import qt_fixtures

# The window suites' shared fixtures (tests/qt_fixtures.py), seen by pytest here.
_isolated_qsettings = qt_fixtures._isolated_qsettings
data_dir = qt_fixtures.data_dir


@pytest.fixture
def make_template(pg_engine, tmp_path: Path) -> Callable[..., Path]:
    """Build a real template: run ``sql`` in a scratch sandbox, dump it, drop the sandbox."""
    from dbplay_desktop.templates.container import TemplateWriter

    def make(sql: str, name: str = "Test shop", file_name: str = "shop.dbtpl") -> Path:
        database = pg_engine.create_sandbox()
        try:
            with pg_engine.connect(database) as session:
                for result in session.execute(sql):
                    if result.error is not None:
                        raise result.error
                    result.close()
            path = tmp_path / file_name
            with TemplateWriter(path, engine="postgresql", name=name,
                                description="made by a test") as writer:
                info = pg_engine.dump(database, writer)
                writer.commit(info.engine_version, info.stats)
            return path
        finally:
            pg_engine.drop_sandbox(database)

    return make


SHOP_SQL = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus');
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers, total numeric);
INSERT INTO orders (customer_id, total) VALUES (1, 9.5), (1, 20), (2, 3.25);
"""


@pytest.fixture
def shop_template(make_template) -> Path:
    return make_template(SHOP_SQL)


@contextmanager
def shown_window(qtbot, tmp_path: Path, *, ready_timeout: int = 30_000,
                 close_timeout: int = 60_000, **options: object) -> Iterator[object]:
    """A shown main window (``MainWindow(**options)``, no sample templates, never asking
    to save) whose default engine is ready; closed at the end, waiting until every
    playground's database is dropped."""
    from dbplay_desktop.templates.library import TemplateLibrary
    from dbplay_desktop.ui.window.main_window import MainWindow

    samples = tmp_path / "no-samples"
    samples.mkdir(exist_ok=True)
    window = MainWindow(library=TemplateLibrary(samples_dir=samples), **options)
    window.ask_save = lambda playground: "discard"  # type: ignore[method-assign]
    # Not qtbot.addWidget: pytest-qt would close and delete the window before the
    # teardown could wait for the playgrounds' databases to be dropped.
    window.show()
    try:
        with qtbot.waitSignal(window.engine_ready, timeout=ready_timeout):
            window.start_server()
        yield window
    finally:
        if not window._shutdown_done:
            with qtbot.waitSignal(window.shutdown_finished, timeout=close_timeout):
                window.close()
        window.deleteLater()


@pytest.fixture
def main_window(qtbot, pg_admin_uri: str, data_dir: Path, tmp_path: Path) -> Iterator[object]:
    """A shown main window on the test server; closing it drops every playground's
    database (the teardown waits for that), and it never asks questions."""
    with shown_window(qtbot, tmp_path, server_uri=pg_admin_uri) as window:
        yield window


def wait_ready(qtbot, playground, timeout: int = 30_000) -> None:
    """Wait until a playground's sandbox exists and its session is connected."""
    qtbot.waitUntil(lambda: playground.state in ("ready", "failed"), timeout=timeout)
    assert playground.state == "ready", playground.error


def run_and_wait(qtbot, playground, how: str = "all", timeout: int = 30_000) -> None:
    """Run (``all``/``current``) and wait for the run to end."""
    with qtbot.waitSignal(playground.run_finished, timeout=timeout):
        started = playground.run_all() if how == "all" else playground.run_current()
        assert started


def answer_confirmations(monkeypatch: pytest.MonkeyPatch, button: str) -> list[object]:
    """Answer every question box by clicking the button labelled ``button`` (it must be
    there: a box without it fails the test); returns the boxes asked, in order."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[object] = []

    def exec_(box: QMessageBox) -> int:
        asked.append(box)
        labels = [b.text() for b in box.buttons()]
        matches = [b for b in box.buttons() if b.text() == button]
        assert matches, f"no {button!r} button among {labels}"
        matches[0].click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked
