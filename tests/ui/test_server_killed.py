"""The window's own server killed (``kill -9``) under open playgrounds: the window says so
within seconds, every playground on it offers a restart and keeps its editor text, and
after the restart each one is made again from its template (a blank one empty) while the
databases it had on the dead server are dropped. Real servers of their own (a private
PostgreSQL cluster, a private MongoDB server), real signals, the real window offscreen."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import run_and_wait, shown_window, wait_ready

pytest.importorskip("psycopg")

TYPED = "\n-- my notes survive the crash\nSELECT count(*) AS n FROM customers;\n"


@pytest.fixture
def own_pg_root() -> Iterator[Path]:
    """A data folder for a cluster of this test's own (killing the shared one would take
    every later test down); the server account may pass through it."""
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-killed-"))
    root.chmod(0o711)
    try:
        yield root
    finally:
        from dbplay_desktop.servers.postgres import EmbeddedPostgres

        if (root / "data" / "PG_VERSION").exists():
            EmbeddedPostgres(root / "data").stop()
        shutil.rmtree(root, ignore_errors=True)


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def _databases(uri: str) -> set[str]:
    import psycopg

    with psycopg.connect(uri, connect_timeout=10, autocommit=True) as connection:
        return {row[0] for row in connection.execute("SELECT datname FROM pg_database")}


def test_killed_postgres_is_noticed_restarted_and_its_playgrounds_reopen(
    qtbot, own_pg_root: Path, data_dir: Path, shop_template: Path, tmp_path: Path
) -> None:
    from dbplay_desktop.servers.manager import ServerManager

    manager = ServerManager(data_dirs={"postgresql": own_pg_root / "data"})
    try:
        with shown_window(qtbot, tmp_path, ready_timeout=120_000, manager=manager,
                          default_engine="postgresql") as window:
            _kill_postgres_under_two_playgrounds(qtbot, window, manager, own_pg_root,
                                                 shop_template)
    finally:
        manager.stop()


def _kill_postgres_under_two_playgrounds(qtbot, window, manager, own_pg_root: Path,
                                         shop_template: Path) -> None:
    from dbplay_desktop.servers.pg_process import PidFile

    shop = window.open_template(shop_template)
    blank = window.new_playground("postgresql")
    wait_ready(qtbot, shop, timeout=60_000)
    wait_ready(qtbot, blank, timeout=60_000)
    shop.editor.moveCursor(shop.editor.textCursor().MoveOperation.End)
    shop.editor.insertPlainText(TYPED)
    run_and_wait(qtbot, shop)
    old = {shop.database, blank.database}
    assert all(old)
    before = shop.editor.toPlainText()

    pid = PidFile.read(own_pg_root / "data").pid
    with qtbot.waitSignal(window.server_lost, timeout=30_000) as lost:
        _kill(pid)
    assert lost.args == ["postgresql"]
    assert "stopped unexpectedly" in window.statusBar().currentMessage()
    for playground in (shop, blank):
        assert playground.state == "lost"
        assert "stopped unexpectedly" in playground.banner.text()
        assert playground.banner.retry_button.isVisibleTo(playground)
        assert playground.banner.retry_button.text() == "Restart server"
        assert not playground.run_all()  # refused, with a reason; nothing hangs
    assert shop.editor.toPlainText() == before

    with qtbot.waitSignal(window.engine_ready, timeout=120_000):
        shop.banner.retry_button.click()
    wait_ready(qtbot, shop, timeout=60_000)
    wait_ready(qtbot, blank, timeout=60_000)
    assert shop.editor.toPlainText() == before  # the script is kept as it was
    run_and_wait(qtbot, shop)
    model = shop.result_models()[-1]
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=30_000)
    assert model.data(model.index(0, 0)) in (3, "3")
    uri = manager.admin_uri("postgresql")
    assert uri is not None
    qtbot.waitUntil(lambda: not (old & _databases(uri)), timeout=60_000)
    assert {shop.database, blank.database} <= _databases(uri)


def test_killed_mongodb_is_noticed_and_a_blank_playground_comes_back(
    qtbot, data_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pymongo")
    import pymongo

    from dbplay_desktop.servers.manager import ServerManager

    root = Path(tempfile.mkdtemp(prefix="dbplay-test-killed-mongo-"))
    manager = ServerManager(data_dirs={"mongodb": root / "data"})
    try:
        with shown_window(qtbot, tmp_path, ready_timeout=120_000, manager=manager,
                          default_engine="mongodb") as window:
            playground = window.new_playground("mongodb")
            wait_ready(qtbot, playground, timeout=60_000)
            old = playground.database
            playground.editor.setPlainText('db.notes.insertOne({_id: 1, text: "hello"})')
            run_and_wait(qtbot, playground)
            server = manager.server("mongodb")
            assert server is not None and server.pid
            with qtbot.waitSignal(window.server_lost, timeout=30_000):
                _kill(server.pid)
            assert playground.state == "lost"
            assert playground.editor.toPlainText().startswith("db.notes.insertOne")
            with qtbot.waitSignal(window.engine_ready, timeout=120_000):
                playground.banner.retry_button.click()
            wait_ready(qtbot, playground, timeout=60_000)
            assert playground.database != old
            uri = manager.admin_uri("mongodb")
            assert uri is not None

            def old_dropped() -> bool:
                with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
                    return old not in client.list_database_names()

            qtbot.waitUntil(old_dropped, timeout=60_000)
            run_and_wait(qtbot, playground)  # the script runs on the fresh database
            assert not any("error" in line.lower() for line in playground.message_texts())
    finally:
        manager.stop()
        shutil.rmtree(root, ignore_errors=True)
