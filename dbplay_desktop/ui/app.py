"""Start-up of the window: ``dbplay [FILE...]``.

Order matters for a snappy start and for double-clicks in a file manager:

1. If a dbplay window already runs for this user, hand the files to it and exit 0.
2. Otherwise show the window's frame at once -- its title, size, menus, tool bars, the
   welcome page and the docks' places, made without importing the editor, the results,
   the template library or any engine -- and only once it is painted make the rest, in
   the next turns of the event loop: the docks' contents, then the default engine's
   server on a worker (status bar: "Starting <engine>…"), the files from the command
   line (tabs that wait for their engine) and a crashed session's scripts. What is asked
   of the window meanwhile (a second ``dbplay FILE``, a menu item, a close) waits for it.
3. At exit, every playground's database is dropped and the local servers stopped.

On macOS, Finder delivers double-clicked files as ``QFileOpenEvent`` rather than
arguments; :class:`DbplayApplication` turns those into the same "open files" call.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from dbplay_desktop.ui.window.main_window import MainWindow
    from dbplay_desktop.ui.window.single_instance import SingleInstanceServer

ORGANIZATION = "dbplay"
APPLICATION = "dbplay"
#: Point QSettings (window geometry, recent files, ...) at another folder, e.g. in tests.
SETTINGS_DIR_ENV = "DBPLAY_SETTINGS_DIR"


def _lighten_pyside_import_hook() -> None:
    """Make PySide6's check of every later import cheap.

    Once imported, PySide6 looks at each module imported after it for its opt-in
    ``from __feature__ import snake_case, true_property`` switches, by reading the module's
    whole source with ``inspect.getsource`` (which also walks ``sys.modules``); dbplay uses
    no such switch. Reading the file's bytes gives the same answer (does it mention
    PySide6?) at a fraction of the cost; a module without a ``.py`` file has no source to
    mention it, as PySide6 itself concludes.
    """
    feature = sys.modules.get("shibokensupport.feature")
    upstream = getattr(feature, "_mod_uses_pyside", None)
    if upstream is None or getattr(upstream, "dbplay_reads_bytes", False):
        return

    def uses_pyside(module: object) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return False
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return False

    uses_pyside.dbplay_reads_bytes = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = uses_pyside  # type: ignore[union-attr]


_lighten_pyside_import_hook()


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


#: Set, the window closes as soon as it is built and launched, after printing
#: "dbplay: window shown" on stdout when its first frame is painted: how packaging/build.sh
#: and the benchmarks time a launch (to a window on the screen) of the installed app.
#: "dbplay: window ready" follows once every part of it is made and the server starting.
QUIT_WHEN_SHOWN_ENV = "DBPLAY_QUIT_WHEN_SHOWN"
#: Build the rest of the window even if its first frame is never painted (a window
#: that starts minimized, a platform that paints nothing).
_UNPAINTED_BUILD_MS = 2000


class FirstFrame(QObject):
    """Calls back once ``window`` has painted its first frame on the screen.

    Qt paints a window when the platform exposes it; the callback runs in the event
    loop's next turn, after that paint has been flushed to the screen.
    """

    def __init__(self, window, callback) -> None:
        super().__init__(window)
        self._callback = callback
        self._seen = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._seen and event.type() == QEvent.Type.Paint:
            self._seen = True
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)
        return False


class Launch:
    """The start-up after the first frame: one step per event-loop turn, so the window
    keeps painting and answering between them."""

    def __init__(self, window: MainWindow, files: list[str], quit_on_signals: _QuitOnSignals,
                 *, quit_when_ready: bool, debug: bool = False) -> None:
        self.window = window
        self.debug = debug
        self.instance: SingleInstanceServer | None = None
        self.files = files
        self.quit_on_signals = quit_on_signals
        self.quit_when_ready = quit_when_ready
        self.painted = False
        self._started = False

    def first_frame_painted(self) -> None:
        self.painted = True
        if self.quit_when_ready:
            print("dbplay: window shown", flush=True)
        self.begin()

    def begin(self) -> None:
        if self._started:
            return
        self._started = True
        # Listening first: a second ``dbplay FILE`` from now on hands its file over (it
        # waits in the window until the window is ready).
        window = self.window
        self.instance = instance = listen_for_other_instances(window)
        if not instance.is_listening and self.debug:
            print(f"dbplay: cannot listen on {instance.name}; single instance is off",
                  file=sys.stderr)
        QTimer.singleShot(0, self._build)

    def _build(self) -> None:
        self.window.build()
        QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        window = self.window
        window.start_server()
        from dbplay_desktop.atomic_file import remove_abandoned
        from dbplay_desktop.ui.workers import start_worker

        start_worker(remove_abandoned)  # what a killed dbplay left half-written
        for name in self.files:
            window.open_template(name)
        if not self.files and not window.recent_files():
            window.statusBar().showMessage(
                "Tip: double-click a sample template on the left to start", 10000
            )
        window.set_ready()
        if self.quit_when_ready:
            print("dbplay: window ready", flush=True)
            window.close_without_questions()
        elif not self.quit_on_signals.requested and not window.is_closing:
            window.offer_unsaved_scripts()  # a crashed session's scripts


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

    from dbplay_desktop.ui.window.main_window import MainWindow

    window = MainWindow(deferred=True)  # its server manager comes with the rest of it
    if isinstance(app, DbplayApplication):
        app.file_open_requested.connect(lambda path: window.open_files([path]))

    launch = Launch(window, list(files), quit_on_signals,
                    quit_when_ready=bool(os.environ.get(QUIT_WHEN_SHOWN_ENV)), debug=debug)
    FirstFrame(window, launch.first_frame_painted)
    window.show()
    QTimer.singleShot(_UNPAINTED_BUILD_MS, launch.begin)
    app.setQuitOnLastWindowClosed(True)
    quit_on_signals.watch(window)
    try:
        code = app.exec()
    finally:
        if launch.instance is not None:
            launch.instance.close()
        manager = getattr(window, "manager", None)
        if manager is not None:
            manager.stop()
    return int(code)
