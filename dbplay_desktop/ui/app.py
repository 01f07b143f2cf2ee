"""Start-up of the window: ``dbplay [FILE...]``.

Order matters for a snappy start and for double-clicks in a file manager:

1. If a dbplay window already runs for this user, hand the files to it and exit 0.
2. Otherwise show the window at once, *then* start the default engine's server on a
   worker (status bar: "Starting <engine>…"); files from the command line open as tabs
   that wait for their engine (each engine starts on first need).
3. At exit, every playground's database is dropped and the local servers stopped.

On macOS, Finder delivers double-clicked files as ``QFileOpenEvent`` rather than
arguments; :class:`DbplayApplication` turns those into the same "open files" call.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Signal
from PySide6.QtGui import QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from dbplay_desktop.ui.window.main_window import MainWindow
    from dbplay_desktop.ui.window.single_instance import SingleInstanceServer

ORGANIZATION = "dbplay"
APPLICATION = "dbplay"
#: Point QSettings (window geometry, recent files, ...) at another folder, e.g. in tests.
SETTINGS_DIR_ENV = "DBPLAY_SETTINGS_DIR"


class DbplayApplication(QApplication):
    """The QApplication, plus macOS file-open events as a signal."""

    file_open_requested = Signal(str)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file() or event.url().toLocalFile()
            if path:
                self.file_open_requested.emit(path)
                return True
        return super().event(event)


def configure_application_identity() -> None:
    """Names QSettings uses, and an override of its folder (``DBPLAY_SETTINGS_DIR``)."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QGuiApplication.setApplicationDisplayName("Database Playground")
    # Wayland and the task bar match windows to dbplay.desktop by this name.
    QGuiApplication.setDesktopFileName(APPLICATION)
    folder = os.environ.get(SETTINGS_DIR_ENV, "").strip()
    if folder:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


def listen_for_other_instances(window) -> SingleInstanceServer:
    """Let later ``dbplay FILE`` processes hand their files to ``window``."""
    from dbplay_desktop.ui.window.single_instance import SingleInstanceServer

    instance = SingleInstanceServer(parent=window)
    instance.files_received.connect(window.open_files)
    instance.listen()
    return instance


class _QuitOnSignals:
    """Ctrl+C in the terminal or a SIGTERM closes the window the normal way, so the
    playgrounds' databases are dropped and the embedded server stops.

    Installed before anything else starts: a signal that arrives before the window
    exists is remembered and closes the window as soon as it is shown.
    """

    def __init__(self) -> None:
        import signal

        self.requested = False
        self._window = None
        for name in ("SIGINT", "SIGTERM"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._on_signal)

    def watch(self, window) -> None:
        from PySide6.QtCore import QTimer

        self._window = window
        # Python runs signal handlers only between bytecodes: wake it up now and then.
        timer = QTimer(window)
        timer.setInterval(200)
        timer.timeout.connect(lambda: None)
        timer.start()
        if self.requested:
            QTimer.singleShot(0, self._close)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.requested = True
        if self._window is not None:
            self._close()

    def _close(self) -> None:
        window = self._window
        if window is not None:
            window.close_without_questions()


#: Set, the window closes as soon as the event loop has shown it, after printing
#: "dbplay: window shown" on stdout: how packaging/build.sh and the benchmarks time a
#: launch (to a window on the screen) of the installed app.
QUIT_WHEN_SHOWN_ENV = "DBPLAY_QUIT_WHEN_SHOWN"


def _quit_once_shown(window: MainWindow) -> None:
    from PySide6.QtCore import QTimer

    def shown() -> None:
        print("dbplay: window shown", flush=True)
        window.close_without_questions()

    QTimer.singleShot(0, shown)


def run_app(files: list[str], debug: bool = False) -> int:
    """Run the window until it closes; returns the process exit code."""
    from dbplay_desktop.ui.window.single_instance import hand_over

    quit_on_signals = _QuitOnSignals()
    app = QApplication.instance()
    if app is None:
        app = DbplayApplication(sys.argv[:1])
    configure_application_identity()
    from dbplay_desktop.ui.icons import app_icon

    app.setWindowIcon(app_icon())

    if hand_over(list(files), timeout_ms=1500):
        return 0

    from dbplay_desktop.servers.manager import ServerManager
    from dbplay_desktop.ui.window.main_window import MainWindow

    manager = ServerManager()
    window = MainWindow(manager=manager)
    instance = listen_for_other_instances(window)
    if not instance.is_listening and debug:
        print(f"dbplay: cannot listen on {instance.name}; single instance is off",
              file=sys.stderr)
    if isinstance(app, DbplayApplication):
        app.file_open_requested.connect(lambda path: window.open_files([path]))

    window.show()
    if os.environ.get(QUIT_WHEN_SHOWN_ENV):
        _quit_once_shown(window)
    window.start_server()
    for name in files:
        window.open_template(name)
    if not files and not window.recent_files():
        window.statusBar().showMessage(
            "Tip: double-click a sample template on the left to start", 10000
        )
    app.setQuitOnLastWindowClosed(True)
    quit_on_signals.watch(window)
    if not quit_on_signals.requested:
        window.offer_unsaved_scripts()  # a crashed session's scripts
    try:
        code = app.exec()
    finally:
        instance.close()
        manager.stop()
    return int(code)
