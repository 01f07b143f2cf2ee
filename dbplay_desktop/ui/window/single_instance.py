"""One dbplay window per user: a second ``dbplay FILE`` hands its files to the first.

Double-clicking a template in a file manager starts ``dbplay FILE`` every time. Rather
than a second window with a second embedded server, the new process connects to the
running one through a :class:`QLocalServer` (a Unix socket or a Windows named pipe),
sends the file paths and exits; the running window opens them and raises itself.

The server name is per user, per data directory (``DBPLAY_DATA_DIR``) and per display
(the Qt platform plus ``$DISPLAY`` / ``$WAYLAND_DISPLAY``): tests with their own data
directory never talk to the user's real window, and a ``dbplay FILE`` on another X
display, Wayland session or headless platform opens its own window there instead of
sending the file to a window the user cannot see.

Protocol: the client sends one line of JSON, ``{"files": ["/abs/path", ...]}``, and
waits for the line ``ok``. It exits 0 only after that acknowledgement, so the files are
never lost between two processes.

The client side runs before any window exists, on every start: on POSIX systems it
talks to the server's Unix socket with Python's own :mod:`socket` (the file
:class:`QLocalServer` makes in ``QDir.tempPath()``), so a start that finds no window
running does not load QtNetwork before its first frame; elsewhere it uses
:class:`QLocalSocket`.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from dbplay_desktop.app_dirs import data_dir

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalSocket

__all__ = ["SingleInstanceServer", "display_identity", "hand_over", "server_name"]

_ACK = b"ok\n"
_MAX_MESSAGE = 1 << 20


def display_identity() -> str:
    """Which screen a window of this process appears on: platform and display names."""
    from PySide6.QtGui import QGuiApplication

    platform = QGuiApplication.platformName() if QGuiApplication.instance() else ""
    platform = platform or os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] or "default"
    # ":0" and ":0.0" are the same X display; the screen number does not matter.
    x_display = re.sub(r"\.\d+$", "", os.environ.get("DISPLAY", ""))
    return f"{platform}|{x_display}|{os.environ.get('WAYLAND_DISPLAY', '')}"


def server_name() -> str:
    """The local-socket name for this user, data directory and display."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in some containers
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    scope = f"{data_dir().resolve()}\n{display_identity()}"
    digest = hashlib.sha256(scope.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    safe_user = "".join(ch for ch in user if ch.isalnum())[:24] or "user"
    return f"dbplay-{safe_user}-{digest}"


def hand_over(files: list[str], timeout_ms: int = 3000, name: str | None = None) -> bool:
    """Give ``files`` to a running dbplay window; False when none is running.

    Blocking, with short timeouts: called once at start-up, before any window exists.
    """
    name = name or server_name()
    if os.name == "posix":
        path = socket_path(name)
        if not os.path.exists(path):
            return False  # no window listens here (a closed one removes its socket)
        return _hand_over_unix(_message(files), timeout_ms, path)
    return _hand_over_qt(_message(files), timeout_ms, name)


def _message(files: list[str]) -> bytes:
    import json

    paths = [str(Path(f).expanduser().resolve()) for f in files]
    return json.dumps({"files": paths}).encode("utf-8") + b"\n"


def socket_path(name: str) -> str:
    """Where :class:`QLocalServer` puts the socket of server ``name`` on POSIX systems."""
    from PySide6.QtCore import QDir

    return name if name.startswith("/") else f"{QDir.tempPath()}/{name}"


def _hand_over_unix(message: bytes, timeout_ms: int, path: str) -> bool:
    import socket

    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout_ms / 1000)
    reply = b""
    try:
        client.connect(path)  # refused: a crashed window's stale socket
        client.sendall(message)
        while _ACK not in reply:
            chunk = client.recv(256)
            if not chunk:
                break
            reply += chunk
    except OSError:  # refused, timed out, or the window went away meanwhile
        pass
    finally:
        client.close()
    return _ACK in reply


def _hand_over_qt(message: bytes, timeout_ms: int, name: str) -> bool:
    from PySide6.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(message)
    socket.flush()
    while socket.bytesToWrite() > 0:
        if not socket.waitForBytesWritten(timeout_ms):
            socket.abort()
            return False
    reply = bytes(socket.readAll().data())
    while _ACK not in reply:
        if not socket.waitForReadyRead(timeout_ms):
            reply += bytes(socket.readAll().data())  # sent just before the server hung up
            break
        reply += bytes(socket.readAll().data())
    socket.abort()
    return _ACK in reply


class SingleInstanceServer(QObject):
    """Listens for later dbplay processes and emits the files they hand over."""

    #: Absolute file paths sent by a second ``dbplay`` process (may be empty: just raise).
    files_received = Signal(list)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        from PySide6.QtNetwork import QLocalServer

        super().__init__(parent)
        self.name = name or server_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening; a stale socket left by a crashed dbplay is removed first."""
        from PySide6.QtNetwork import QLocalServer

        if self._server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    @property
    def is_listening(self) -> bool:
        return self._server.isListening()

    def close(self) -> None:
        self._server.close()

    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if len(data) > _MAX_MESSAGE:
            self._forget(socket)
            socket.abort()
            return
        if b"\n" not in data:
            self._buffers[socket] = data
            return
        import json

        line = data.split(b"\n", 1)[0]
        self._buffers[socket] = b""
        try:
            message = json.loads(line.decode("utf-8"))
            files = [str(f) for f in message.get("files", [])]
        except (ValueError, AttributeError, TypeError):
            files = None
        if files is not None:
            socket.write(_ACK)
            socket.flush()
            self.files_received.emit(files)
        socket.disconnectFromServer()

    def _forget(self, socket: QLocalSocket) -> None:
        if self._buffers.pop(socket, None) is not None:
            socket.deleteLater()
