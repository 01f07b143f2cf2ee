"""Closing a playground whose statement ignores cancel requests: the window goes on.

pg_trgm's similarity of two very long strings runs for seconds without looking at cancel
or terminate requests, so its sandbox cannot be dropped at once. The tab must close at
once, the window must say the database will be dropped later, and the next start must
drop it.
"""

from __future__ import annotations

import psycopg

from dbplay_desktop.engines.postgres.engine import PostgresEngine
from tests.helpers import UNCANCELLABLE_AFTER, UNCANCELLABLE_SQL
from tests.ui.conftest import wait_ready

_SLOW = (
    "CREATE EXTENSION pg_trgm;\n"
    + UNCANCELLABLE_SQL + ";\n"
)


def _active(admin_uri: str, database: str) -> bool:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
            " AND query LIKE %s AND clock_timestamp() - query_start > %s",
            (database, "%similarity(repeat%", UNCANCELLABLE_AFTER),
        ).fetchone()
    return bool(row and row[0])


def _exists(admin_uri: str, database: str) -> bool:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        return row.fetchone() is not None


def test_closing_a_playground_stuck_in_an_uncancellable_statement(
    qtbot, main_window, pg_admin_uri
):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    database = playground.database
    messages: list[str] = []
    playground.status_message.connect(messages.append)
    playground.editor.setPlainText(_SLOW)
    assert playground.run_all()
    qtbot.waitUntil(lambda: _active(pg_admin_uri, database), timeout=30_000)

    main_window.close_playground(playground, ask=False)
    assert main_window.tabs.indexOf(playground) < 0  # the tab is gone at once
    qtbot.waitUntil(lambda: main_window.closing_playgrounds == 0, timeout=120_000)
    assert any("next start" in message for message in messages), messages
    assert "next start" in main_window.statusBar().currentMessage()

    # The next start (same data directory, so the same journal) drops it once it is quiet.
    later = PostgresEngine(pg_admin_uri)

    def dropped() -> bool:
        later.retry_pending_drops(force=True)
        return not _exists(pg_admin_uri, database)

    qtbot.waitUntil(dropped, timeout=180_000)
