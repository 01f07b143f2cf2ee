"""A second ``dbplay FILE`` hands its file to the running window and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbplay_desktop.ui.app import listen_for_other_instances
from dbplay_desktop.ui.window.single_instance import (
    SingleInstanceServer,
    display_identity,
    hand_over,
    server_name,
)
from tests.ui.conftest import wait_ready


def test_second_instance_hands_over_its_file(qtbot, main_window, shop_template, data_dir):
    instance = listen_for_other_instances(main_window)
    assert instance.is_listening
    env = dict(os.environ, DBPLAY_DATA_DIR=str(data_dir), QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen(
        [sys.executable, "-m", "dbplay_desktop", str(shop_template)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        qtbot.waitUntil(lambda: process.poll() is not None, timeout=60_000)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert process.returncode == 0, stderr  # it handed over and exited, no second window
    qtbot.waitUntil(lambda: main_window.tabs.count() == 1, timeout=30_000)
    playground = main_window.current_playground()
    assert playground.template_path == shop_template.resolve()
    wait_ready(qtbot, playground)
    instance.close()


def test_hand_over_without_a_running_window(qtbot, data_dir):
    assert hand_over(["/nowhere/x.dbtpl"], timeout_ms=500) is False


def test_server_name_depends_on_the_data_dir(data_dir, monkeypatch, tmp_path):
    first = server_name()
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "other"))
    assert server_name() != first


def test_server_name_depends_on_the_display(data_dir, monkeypatch):
    """A window on another X display or Wayland session is not the one to hand over to."""
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    first = server_name()
    monkeypatch.setenv("DISPLAY", ":0.0")  # the same display, another screen number
    assert server_name() == first
    monkeypatch.setenv("DISPLAY", ":1")
    assert server_name() != first
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-1")
    assert server_name() != first
    assert "wayland-1" in display_identity()


def test_a_window_of_another_data_dir_does_not_take_the_file(qtbot, data_dir, tmp_path,
                                                             monkeypatch):
    other = SingleInstanceServer()
    assert other.listen()
    try:
        monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "elsewhere"))
        assert hand_over(["/nowhere/x.dbtpl"], timeout_ms=500) is False
    finally:
        other.close()


def test_stale_socket_is_replaced(qtbot, data_dir):
    """A crash leaves the socket file behind; the next window must still listen."""
    from PySide6.QtCore import QDir

    stale = Path(QDir.tempPath()) / server_name()
    stale.write_bytes(b"")
    try:
        server = SingleInstanceServer()
        assert server.listen()
        server.close()
    finally:
        stale.unlink(missing_ok=True)
