"""A user's own server whose link breaks mid-query, in the real window: the run ends with
one clear line, the tab offers *Reconnect*, and after it the playground goes on in the
same database. The server is the real test PostgreSQL behind a fault-injecting proxy
that resets every connection on command (and refuses new ones for a while)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.reliability.fault_proxy import FaultProxy
from tests.ui.conftest import run_and_wait, shown_window, wait_ready

pytest.importorskip("psycopg")


def _through(uri: str, proxy: FaultProxy) -> str:
    parts = urlsplit(uri)
    user = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{proxy.host}:{proxy.port}"))


@pytest.fixture
def proxy(pg_admin_uri: str) -> Iterator[FaultProxy]:
    parts = urlsplit(pg_admin_uri)
    with FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def window(qtbot, proxy: FaultProxy, pg_admin_uri: str, data_dir: Path,
           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("DBPLAY_CONNECT_TIMEOUT", "3")
    try:
        with shown_window(qtbot, tmp_path, server_uri=_through(pg_admin_uri, proxy)) as window:
            yield window
    finally:
        proxy.pass_through()  # let the closing window drop its database


def test_a_reset_link_is_one_line_and_reconnect_goes_on_in_the_same_database(
        qtbot, window, proxy: FaultProxy) -> None:
    playground = window.new_playground()
    wait_ready(qtbot, playground)
    database = playground.database
    playground.editor.setPlainText("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7);")
    run_and_wait(qtbot, playground)

    playground.editor.setPlainText("SELECT pg_sleep(120);")
    with qtbot.waitSignal(playground.run_finished, timeout=60_000):
        assert playground.run_all()
        qtbot.waitUntil(lambda: playground.is_running, timeout=10_000)
        proxy.refuse()  # the server is "down" for a moment: reconnecting fails first
        proxy.reset_all()
    lines = playground.message_texts()
    assert any("lost the connection" in line for line in lines), lines
    assert all("\n" not in line and "Traceback" not in line for line in lines)
    assert playground.link_is_lost
    assert playground.banner.retry_button.text() == "Reconnect"
    assert "was lost" in playground.banner.text()

    assert not playground.run_all()  # no run on a dead session: the banner says why
    playground.banner.retry_button.click()
    qtbot.waitUntil(lambda: "Could not reconnect" in playground.banner.text(),
                    timeout=60_000)
    assert playground.banner.retry_button.text() == "Reconnect"

    proxy.pass_through()
    playground.banner.retry_button.click()
    qtbot.waitUntil(lambda: not playground.link_is_lost and playground.runner is not None,
                    timeout=60_000)
    assert playground.database == database
    playground.editor.setPlainText("SELECT n FROM kept;")
    run_and_wait(qtbot, playground)
    model = playground.result_models()[-1]
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=30_000)
    assert model.data(model.index(0, 0)) in (7, "7")
