"""Server → Copy connection URI and the server label's tooltip, on the real test server.

The embedded case uses a :class:`ServerManager` on the test cluster (it adopts the
running server, as the window adopts one left by ``dbplay server start``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from PySide6.QtGui import QGuiApplication

from tests.ui.conftest import wait_ready


@pytest.fixture
def embedded_window(qtbot, pg_server, data_dir: Path, tmp_path: Path) -> Iterator[object]:
    from dbplay_desktop.servers.manager import ServerManager
    from dbplay_desktop.templates.library import TemplateLibrary
    from dbplay_desktop.ui.window.main_window import MainWindow

    manager = ServerManager({"postgresql": pg_server.data_dir})
    # The shared test cluster: no clean-up of other tests' work.
    manager.take_cleanup_turn("postgresql")
    samples = tmp_path / "no-samples"
    samples.mkdir()
    window = MainWindow(manager=manager, library=TemplateLibrary(samples_dir=samples))
    window.ask_save = lambda playground: "discard"  # type: ignore[method-assign]
    window.show()
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_server()
    yield window
    if not window._shutdown_done:
        with qtbot.waitSignal(window.shutdown_finished, timeout=30_000):
            window.close()
    window.deleteLater()  # the manager is not stopped: the cluster is the session's


def test_copy_uri_of_a_playground_on_the_embedded_server(qtbot, embedded_window, pg_server):
    window = embedded_window
    assert window.manager.server("postgresql").adopted
    assert not window.copy_uri_action.isEnabled()  # no playground yet
    tip = window.server_label.toolTip()
    assert f"127.0.0.1:{pg_server.port}" in tip and str(pg_server.data_dir) in tip

    playground = window.new_playground()
    wait_ready(qtbot, playground)
    qtbot.waitUntil(window.copy_uri_action.isEnabled, timeout=10_000)
    tip = window.server_label.toolTip()
    assert f"127.0.0.1:{pg_server.port}" in tip and str(pg_server.data_dir) in tip
    assert "PGPASSFILE" in tip and pg_server.password not in tip

    window.copy_uri_action.trigger()
    copied = QGuiApplication.clipboard().text()
    assert copied == f"postgresql://dbplay@127.0.0.1:{pg_server.port}/{playground.database}"
    assert pg_server.password not in window.statusBar().currentMessage()
    assert str(pg_server.pgpass_file) in window.statusBar().currentMessage()
    with psycopg.connect(copied, passfile=str(pg_server.pgpass_file)) as connection:
        row = connection.execute("select current_database()").fetchone()
    assert row == (playground.database,)

    window.copy_uri_password_action.trigger()
    secret = QGuiApplication.clipboard().text()
    assert pg_server.password in secret  # asked for: then it is there
    assert pg_server.password not in window.statusBar().currentMessage()
    with psycopg.connect(secret) as connection:
        assert connection.execute("select current_database()").fetchone() == row


def test_copy_uri_of_a_playground_on_a_connection(qtbot, main_window, pg_server):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    qtbot.waitUntil(main_window.copy_uri_action.isEnabled, timeout=10_000)
    main_window.copy_uri_action.trigger()
    copied = QGuiApplication.clipboard().text()
    assert copied == f"postgresql://dbplay@127.0.0.1:{pg_server.port}/{playground.database}"
    assert f"127.0.0.1:{pg_server.port}" in main_window.server_label.toolTip()
