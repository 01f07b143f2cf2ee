"""The connection dialog with real keyring backends and the real test PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from dbplay_desktop.connections import EMBEDDED_NAME, ConnectionProfile, ConnectionStore
from dbplay_desktop.ui.connections.dialog import NO_KEYRING_MESSAGE, ConnectionDialog
from tests.ui.conftest import answer_confirmations

# The memory_keyring and no_keyring fixtures.
pytest_plugins = ["tests.helpers_keyring"]


@pytest.fixture
def store(tmp_path: Path) -> ConnectionStore:
    return ConnectionStore(tmp_path / "connections.json", keyring_service="dbplay-ui-test")


def make_dialog(qtbot, store: ConnectionStore, **kwargs) -> ConnectionDialog:
    dialog = ConnectionDialog(store, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def listed(dialog: ConnectionDialog) -> list[str]:
    return [dialog.profile_list.item(i).text() for i in range(dialog.profile_list.count())]


def test_embedded_profile_is_first_and_read_only(qtbot, store, memory_keyring) -> None:
    dialog = make_dialog(qtbot, store)
    assert listed(dialog) == [EMBEDDED_NAME]
    assert dialog.form.name_edit.text() == EMBEDDED_NAME
    assert not dialog.form.name_edit.isEnabled() and not dialog.form.host_edit.isEnabled()
    assert not dialog.form.save_button.isEnabled() and not dialog.delete_button.isEnabled()
    assert dialog.form.embedded_label.isVisible()
    dialog.accept()
    profile, password = dialog.selected()
    assert profile.embedded and profile.name == EMBEDDED_NAME and password is None


def test_fields_and_uri_stay_in_sync(qtbot, store, memory_keyring) -> None:
    dialog = make_dialog(qtbot, store)
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    assert dialog.form.name_edit.text() == "New connection"
    assert dialog.form.host_edit.isEnabled()

    dialog.form.host_edit.clear()
    qtbot.keyClicks(dialog.form.host_edit, "db.example.com")
    qtbot.keyClicks(dialog.form.port_edit, "6543")
    qtbot.keyClicks(dialog.form.user_edit, "ann@corp")
    qtbot.keyClicks(dialog.form.database_edit, "shop")
    assert dialog.form.uri_edit.text() == "postgresql://ann%40corp@db.example.com:6543/shop"

    dialog.form.uri_edit.clear()
    qtbot.keyClicks(dialog.form.uri_edit, "postgres://bob:s%40cret@[::1]:5544/app?sslmode=require")
    assert (dialog.form.host_edit.text(), dialog.form.port_edit.text()) == ("::1", "5544")
    assert (dialog.form.user_edit.text(), dialog.form.database_edit.text()) == ("bob", "app")
    assert dialog.form.password_edit.text() == "s@cret"
    dialog.form.uri_edit.editingFinished.emit()  # focus leaves: the password leaves the address
    assert dialog.form.uri_edit.text() == "postgresql://bob@[::1]:5544/app?sslmode=require"

    qtbot.keyClicks(dialog.form.uri_edit, "x")  # ...?sslmode=requirex still parses
    dialog.form.uri_edit.setText("postgresql://bob@host:notaport/app")
    dialog.form.uri_edit.textEdited.emit(dialog.form.uri_edit.text())
    assert "port 'notaport'" in dialog.form.status_label.text()
    assert dialog.form.host_edit.text() == "::1"  # the fields keep the last valid address


def test_save_stores_password_in_keyring_only(qtbot, store, memory_keyring) -> None:
    dialog = make_dialog(qtbot, store)
    dialog.new_profile()
    dialog.form.name_edit.setText("staging")
    dialog.form.uri_edit.setText("postgresql://ann@10.1.2.3:5433/shop")
    dialog.form.uri_edit.textEdited.emit(dialog.form.uri_edit.text())
    dialog.form.password_edit.setText("hunter2-secret")
    assert dialog.save_profile()
    assert dialog.form.status_label.text() == "Saved."
    assert listed(dialog) == [EMBEDDED_NAME, "staging"]
    assert dialog.profile_list.currentItem().text() == "staging"
    assert memory_keyring.secrets == {("dbplay-ui-test", "staging"): "hunter2-secret"}
    assert "hunter2-secret" not in store.path.read_text()

    # A new dialog fills the password from the keyring; Connect returns it.
    dialog = make_dialog(qtbot, store, current="staging")
    assert dialog.form.password_edit.text() == "hunter2-secret"
    assert dialog.delete_button.isEnabled()
    dialog.accept()
    profile, password = dialog.selected()
    assert (profile.name, profile.host, profile.port, password) == (
        "staging", "10.1.2.3", 5433, "hunter2-secret"
    )


def test_rename_and_delete(qtbot, store, memory_keyring, monkeypatch) -> None:
    store.save(ConnectionProfile(name="old", host="h", user="u"), "pw")
    dialog = make_dialog(qtbot, store, current="old")
    dialog.form.name_edit.setText("new")
    assert dialog.save_profile()
    assert listed(dialog) == [EMBEDDED_NAME, "new"]
    assert memory_keyring.secrets == {("dbplay-ui-test", "new"): "pw"}

    answer_confirmations(monkeypatch, "Delete")
    dialog.delete_profile()
    assert listed(dialog) == [EMBEDDED_NAME]
    assert memory_keyring.secrets == {}
    assert dialog.profile_list.currentItem().text() == EMBEDDED_NAME


def test_without_keyring_the_dialog_says_so_and_keeps_no_password(
    qtbot, store, no_keyring, tmp_path
) -> None:
    dialog = make_dialog(qtbot, store)
    dialog.new_profile()
    assert dialog.form.keyring_label.isVisible()
    assert dialog.form.keyring_label.text() == NO_KEYRING_MESSAGE
    dialog.form.name_edit.setText("ci")
    dialog.form.host_edit.setText("h")
    dialog.form.password_edit.setText("typed-each-time")
    assert dialog.save_profile()
    assert NO_KEYRING_MESSAGE in dialog.form.status_label.text()
    assert store.get("ci") is not None and store.password("ci") is None
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"typed-each-time" not in path.read_bytes()
    # Still usable in this dialog session: the typed password goes to Connect.
    dialog.accept()
    assert dialog.selected()[1] == "typed-each-time"


def test_test_connection_reaches_the_real_server(
    qtbot, store, memory_keyring, pg_admin_uri: str, pg_server
) -> None:
    dialog = make_dialog(qtbot, store)
    dialog.new_profile()
    dialog.form.uri_edit.setText(pg_admin_uri)
    dialog.form.uri_edit.textEdited.emit(pg_admin_uri)
    qtbot.mouseClick(dialog.form.test_button, Qt.MouseButton.LeftButton)
    status = dialog.form.status_label
    qtbot.waitUntil(lambda: status.text().startswith("Connected: "), timeout=15_000)
    text = dialog.form.status_label.text()
    assert text.startswith("Connected: PostgreSQL 1"), text
    assert dialog.form.test_button.isEnabled()


def run_test_connection(qtbot, dialog: ConnectionDialog, uri: str) -> list[bool]:
    """Click "Test connection" for ``uri`` and wait until the test ended.

    Returns what a timer queued at the click saw of the button when it fired: ``[False]``
    means the event loop ran while the connection was still being tried.
    """
    dialog.new_profile()
    dialog.form.uri_edit.setText(uri)
    dialog.form.uri_edit.textEdited.emit(uri)
    seen: list[bool] = []
    QTimer.singleShot(100, lambda: seen.append(dialog.form.test_button.isEnabled()))
    dialog.test_connection()
    # The click returned while the test is still in flight (it re-enables the button).
    assert not dialog.form.test_button.isEnabled()
    qtbot.waitUntil(dialog.form.test_button.isEnabled, timeout=30_000)
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    return seen


def test_unreachable_server_gives_one_line_error(qtbot, store, memory_keyring) -> None:
    dialog = make_dialog(qtbot, store)
    run_test_connection(qtbot, dialog, "postgresql://x@127.0.0.1:1/db")
    text = dialog.form.status_label.text()
    assert text.startswith("cannot connect to PostgreSQL at x@127.0.0.1:1/db"), text
    assert "\n" not in text and "Connection refused" in text


def test_silent_server_times_out_while_the_ui_keeps_running(
    qtbot, store, memory_keyring
) -> None:
    """A server that accepts TCP but never answers: the worker waits, the window does not."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted: the kernel completes the handshake, nobody talks
        port = silent.getsockname()[1]
        dialog = make_dialog(qtbot, store)
        uri = f"postgresql://x@127.0.0.1:{port}/db?connect_timeout=2"
        seen = run_test_connection(qtbot, dialog, uri)
    text = dialog.form.status_label.text()
    assert "timeout" in text.lower() and "\n" not in text, text
    assert seen == [False], "the event loop stalled while the connection was tried"


def test_bad_port_in_fields_is_reported(qtbot, store, memory_keyring) -> None:
    dialog = make_dialog(qtbot, store)
    dialog.new_profile()
    dialog.form.port_edit.setValidator(None)
    dialog.form.port_edit.setText("99999")
    dialog.test_connection()
    assert "1 to 65535" in dialog.form.status_label.text()


def test_dialog_screenshot(qtbot, store, memory_keyring, tmp_path: Path) -> None:
    store.save(ConnectionProfile(name="Staging", host="db.staging.local", port=5432,
                                 user="ann", database="shop"), "pw")
    dialog = make_dialog(qtbot, store, current="Staging")
    dialog.show_status("Connected: PostgreSQL 15.18", ok=True)
    assert dialog.grab().save(str(tmp_path / "connections.png"))
