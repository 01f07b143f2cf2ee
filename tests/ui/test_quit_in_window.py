"""One close request closes the window, in the states a signal test cannot set up easily:
no playground at all, and a query still running (its database is dropped on the way)."""

from __future__ import annotations

import psycopg

from tests.ui.conftest import wait_ready


def _databases(admin_uri: str) -> set[str]:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_one_close_quits_with_no_playground(qtbot, main_window):
    with qtbot.waitSignal(main_window.shutdown_finished, timeout=30_000):
        main_window.close()
    qtbot.waitUntil(lambda: not main_window.isVisible(), timeout=10_000)


def test_one_close_quits_while_a_query_runs(qtbot, main_window, pg_admin_uri):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    database = playground.database
    playground.editor.setPlainText("SELECT pg_sleep(60);")
    assert playground.run_all()
    qtbot.waitUntil(lambda: playground.is_running, timeout=10_000)
    with qtbot.waitSignal(main_window.shutdown_finished, timeout=60_000):
        main_window.close()
    qtbot.waitUntil(lambda: not main_window.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: database not in _databases(pg_admin_uri), timeout=30_000)
