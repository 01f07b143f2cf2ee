"""The main window: template browser and catalog on the left, playground tabs in the centre.

The window is shown before anything slow happens: the database server starts (or is
reached) on a worker while the user can already look at the template library; files
asked for meanwhile open as tabs that wait for the server. Every engine call happens on
a worker (see :mod:`.playground`); the window only routes signals and keeps the chrome
(title, top bar, status bar, menus; see :mod:`.window_chrome`) in step with the playground
in front. Saving and closing live in :mod:`.window_closing`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from dbplay_desktop.connections import ConnectionStore, uri_for_database
from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.engines.base import Engine
from dbplay_desktop.history import QueryHistory
from dbplay_desktop.servers.manager import EMBEDDED_LABEL, ServerManager
from dbplay_desktop.templates.library import TEMPLATE_SUFFIX, TemplateLibrary
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.playground.playground import FAILED, PREPARING, READY, UNTITLED, Playground
from dbplay_desktop.ui.playground.sandbox_jobs import one_line
from dbplay_desktop.ui.results.run_results import RunSummary
from dbplay_desktop.ui.settings import AppSettings
from dbplay_desktop.ui.window.chrome import APP_TITLE, WindowChromeMixin
from dbplay_desktop.ui.window.closing import SaveAndCloseMixin
from dbplay_desktop.ui.window.support import connect_to_server, template_paths_from_mime
from dbplay_desktop.ui.workers import Worker, start_worker

__all__ = ["APP_TITLE", "MainWindow"]


class MainWindow(WindowChromeMixin, SaveAndCloseMixin, QMainWindow):
    """The one dbplay window. ``server_uri`` skips the embedded server (tests, connections).

    Chrome (actions, menus, docks) comes from :class:`WindowChromeMixin`; saving and
    closing from :class:`SaveAndCloseMixin`; this class holds the server, the playground
    tabs and the routing of their signals.
    """

    #: The server is reachable and playgrounds can be made.
    engine_ready = Signal()
    #: The server could not be started or reached: a one-line reason.
    engine_failed = Signal(str)
    #: Every playground's database is dropped after a close request; the window is gone.
    shutdown_finished = Signal()

    def __init__(
        self,
        *,
        server_uri: str | None = None,
        manager: ServerManager | None = None,
        library: TemplateLibrary | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icons.icon("database"))
        self.setAcceptDrops(True)
        self.server_uri = server_uri
        self.manager = manager if manager is not None else ServerManager()
        self.library = library if library is not None else TemplateLibrary()
        self.app_settings = AppSettings(parent=self)
        self.app_settings.changed.connect(self._on_setting_changed)
        self.history = QueryHistory()
        self.connection_store = ConnectionStore()
        self.engine: Engine | None = None
        self.server_label_text = EMBEDDED_LABEL if server_uri is None else _server_text(server_uri)
        self.engine_error: str | None = None
        self._closing: list[Playground] = []
        self._shutting_down = False
        self._shutdown_done = False
        self._server_worker: Worker | None = None

        self._make_actions()
        self._make_central()
        self._make_docks()
        self._make_menus()
        self._make_top_bar()
        self.statusBar().showMessage("Starting…")
        self._restore_geometry()
        self._update_chrome()

    # ================================================================== the server
    def start_server(self) -> None:
        """Start (or reach) the database server on a worker; the window stays usable."""
        if self._server_worker is not None and not self._server_worker.is_done:
            return
        self.engine_error = None
        message = "Starting PostgreSQL…" if self.server_uri is None else "Connecting…"
        self.statusBar().showMessage(message)
        self.status_label.setText(message)
        worker = Worker(connect_to_server, self.server_uri, self.manager)
        worker.signals.returned.connect(self._on_engine_ready)
        worker.signals.errored.connect(self._on_engine_failed)
        self._server_worker = worker
        start_worker(worker)

    def _on_engine_ready(self, result: tuple[Engine, str]) -> None:
        self.engine, version = result
        name = getattr(self.engine, "display_name", self.engine.name)
        short_version = version.split()[0] if version else ""
        # The version string is the server's own words.
        self.engine_label.setText(safe_text(f"{name} {short_version}".strip()))
        self.engine_label.setToolTip(qt_text(f"{name} {version}"))
        self.engine_icon_label.setPixmap(icons.engine_icon(self.engine.name).pixmap(16, 16))
        self.statusBar().showMessage(safe_text(f"{name} {version} ready"), 5000)
        for playground in self.playgrounds():
            playground.attach_engine(self.engine)
        self._update_chrome()
        self.engine_ready.emit()

    def _on_engine_failed(self, exc: object) -> None:
        message = safe_text(one_line(exc) if isinstance(exc, BaseException) else str(exc))
        self.engine_error = message
        self.statusBar().showMessage(f"Database server unavailable: {message}")
        for playground in self.playgrounds():
            if playground.state == PREPARING and playground.engine is None:
                playground.status = "No database server"
                playground.show_banner(
                    f"No database server: {message}", busy=False, error=True,
                    retry="Retry", close="Close playground",
                )
        self._update_chrome()
        self.engine_failed.emit(message)

    # ================================================================== playgrounds
    def playgrounds(self) -> list[Playground]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]  # type: ignore[misc]

    def current_playground(self) -> Playground | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, Playground) else None

    def new_playground(self) -> Playground:
        """A blank playground: a fresh, empty sandbox database."""
        return self._add_playground(None)

    def open_template(self, path: Path | str) -> Playground | None:
        """Open a ``.dbtpl`` as a new playground (restored on a worker)."""
        path = Path(path).expanduser()
        if not path.is_file():
            self.show_error("Cannot open template", f"{path}: no such file")
            return None
        self.add_recent_file(path)
        return self._add_playground(path.resolve())

    def open_files(self, files: list[str]) -> None:
        """Open files from the command line or a second instance, and come to the front."""
        for name in files:
            self.open_template(name)
        self.bring_to_front()

    def bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def _add_playground(self, template: Path | None) -> Playground:
        settings = self.app_settings
        playground = Playground(
            template, batch_size=settings.batch_size, row_cap=settings.row_cap,
            timeout=settings.statement_timeout, parent=self.tabs,
        )
        playground.server_name = self.server_label_text
        playground.set_font_size(settings.editor_font_size)
        playground.run_recorded.connect(self._record_run)
        playground.state_changed.connect(self._on_playground_changed)
        playground.catalog_changed.connect(self._on_catalog_changed)
        playground.status_message.connect(self._on_playground_message)
        playground.status_ticked.connect(self._on_playground_ticked)
        self.autosave.track(playground)
        playground.close_requested.connect(lambda p=playground: self.close_playground(p))
        playground.server_retry_requested.connect(self.start_server)
        index = self.tabs.addTab(
            playground, icons.engine_icon("postgresql"), safe_text(playground.title)
        )
        self.tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.tabs)
        if self.engine is not None:
            playground.attach_engine(self.engine)
        elif self.engine_error is not None:
            playground.show_banner(f"No database server: {self.engine_error}", busy=False,
                                   error=True, retry="Retry", close="Close playground")
        playground.editor.setFocus()
        self._update_chrome()
        return playground

    def _on_playground_changed(self) -> None:
        playground = self.sender()
        if isinstance(playground, Playground):
            index = self.tabs.indexOf(playground)
            if index >= 0:
                title = playground.title + (" •" if playground.modified else "")
                self.tabs.setTabText(index, safe_text(title))
                self.tabs.setTabToolTip(index, qt_text(playground.template_path or UNTITLED))
            if playground is self.current_playground() and playground.state != READY:
                self.catalog_tree.set_message(_catalog_placeholder(playground))
        self._update_chrome()

    def _on_playground_message(self, text: str) -> None:
        # A closed tab still reports on its database (a drop that has to wait).
        sender = self.sender()
        if sender is self.current_playground() or sender in self._closing:
            self.statusBar().showMessage(safe_text(text), 8000)

    def _on_playground_ticked(self, status: str) -> None:
        # The run's clock: one label, not the whole chrome, several times a second.
        if self.sender() is self.current_playground():
            self.status_label.setText(safe_text(status))

    def _on_catalog_changed(self, items: list) -> None:
        if self.sender() is self.current_playground():
            self.catalog_tree.set_items(items)

    def _on_current_changed(self, _index: int) -> None:
        playground = self.current_playground()
        if playground is None:
            self.catalog_tree.set_message("No playground open.")
        elif playground.state == READY:
            self.catalog_tree.set_items(playground.catalog)
        else:
            self.catalog_tree.set_message(_catalog_placeholder(playground))
        self._update_chrome()

    # ================================================================== editor commands
    def run_current(self) -> None:
        if (playground := self.current_playground()) is not None:
            playground.run_current()

    def run_all(self) -> None:
        if (playground := self.current_playground()) is not None:
            playground.run_all()

    def cancel_current(self) -> None:
        if (playground := self.current_playground()) is not None:
            playground.cancel()

    def format_current(self) -> None:
        if (playground := self.current_playground()) is not None:
            playground.editor.format_sql()

    def find_current(self) -> None:
        playground = self.current_playground()
        if playground is not None:
            playground.editor.find_requested.emit(False)

    def refresh_catalog(self) -> None:
        if (playground := self.current_playground()) is not None:
            playground.refresh_catalog()

    def reset_current(self) -> None:
        if (playground := self.current_playground()) is not None:
            playground.reset()

    def _insert_into_editor(self, text: str) -> None:
        playground = self.current_playground()
        if playground is not None:
            playground.editor.insertPlainText(text)
            playground.editor.setFocus()

    # ================================================================== opening
    def open_dialog(self) -> None:
        start = str(self.library.root if self.library.root.is_dir() else Path.home())
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open template", start, f"dbplay templates (*{TEMPLATE_SUFFIX})"
        )
        for path in paths:
            self.open_template(path)

    # ================================================================== drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if template_paths_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = template_paths_from_mime(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        for path in paths:
            self.open_template(path)

    # ================================================================== history
    def _record_run(self, summary: RunSummary) -> None:
        playground = self.sender()
        engine = getattr(getattr(playground, "engine", None), "name", "")
        connection = getattr(playground, "server_name", self.server_label_text)
        worker = Worker(
            self.history.add, summary.text, connection=connection, engine=engine,
            database=summary.database, elapsed_s=summary.elapsed, ok=summary.ok,
            rows=summary.rows, error=summary.error,
        )
        worker.signals.finished.connect(self.history_panel.refresh)
        start_worker(worker)

    def _rerun_from_history(self, text: str) -> None:
        playground = self.current_playground()
        if playground is None:
            self.statusBar().showMessage("Open a playground to run this query in.", 6000)
            return
        playground.run_text(text, None)

    def _open_from_history(self, text: str) -> None:
        playground = self.current_playground() or self.new_playground()
        editor = playground.editor
        editor.moveCursor(editor.textCursor().MoveOperation.End)
        if editor.toPlainText() and not editor.toPlainText().endswith("\n"):
            editor.insertPlainText("\n")
        editor.insertPlainText(text)
        editor.setFocus()

    # ================================================================== connections
    def open_connections(self) -> None:
        """Pick another server (or the embedded one) for new playgrounds."""
        from PySide6.QtWidgets import QDialog

        from dbplay_desktop.ui.connections.dialog import ConnectionDialog

        dialog = ConnectionDialog(self.connection_store, self,
                                  current=self.app_settings.last_connection)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.selected() is None:
            return
        profile, password = dialog.selected()  # type: ignore[misc]
        self.use_connection(
            None if profile.embedded else profile.uri(password), profile.name
        )

    def use_connection(self, server_uri: str | None, name: str) -> None:
        """Make new playgrounds on another server; open tabs keep theirs."""
        self.server_uri = server_uri
        self.server_label_text = name if server_uri is not None else EMBEDDED_LABEL
        self.app_settings.last_connection = name
        self.engine = None
        self.engine_error = None
        self._server_worker = None
        self.history_panel.set_connection(self.server_label_text)
        self.start_server()
        self._update_chrome()

    # ================================================================== server address
    def _on_embedded_server(self, playground: Playground) -> bool:
        engine_uri = getattr(playground.engine, "uri", None)
        return engine_uri is not None and engine_uri == self.manager.admin_uri

    def playground_uri(self, playground: Playground | None, *,
                       with_password: bool = False) -> str | None:
        """The URI of ``playground``'s database, for psql, DBeaver or ``dbplay query``.

        On the embedded server that is its superuser ``dbplay`` (sandbox roles cannot log
        in from outside); the password only when asked for.
        """
        if playground is None or playground.engine is None or not playground.database:
            return None
        if self._on_embedded_server(playground):
            return self.manager.embedded_uri(playground.database, with_password=with_password)
        return uri_for_database(playground.engine.uri, playground.database,
                                with_password=with_password)

    def copy_connection_uri(self, *, with_password: bool = False) -> None:
        """Server → Copy connection URI (…with password): the current playground's."""
        playground = self.current_playground()
        uri = self.playground_uri(playground, with_password=with_password)
        if uri is None or playground is None:
            self.statusBar().showMessage("Open a playground to copy its address.", 6000)
            return
        QGuiApplication.clipboard().setText(uri)
        if with_password:
            note = "Copied the connection URI, with its password."
        else:
            note = f"Copied {uri} (without the password"
            server = self.manager.embedded if self._on_embedded_server(playground) else None
            note += f"; PGPASSFILE={server.pgpass_file})" if server is not None else ")"
        self.statusBar().showMessage(safe_text(note), 10000)

    def _update_server_address(self, playground: Playground | None) -> None:
        """The server label's tooltip says where the server is; the copy actions follow."""
        uri = self.playground_uri(playground)
        for action in (self.copy_uri_action, self.copy_uri_password_action):
            action.setEnabled(uri is not None)
        if playground is not None and playground.engine is not None:
            if self._on_embedded_server(playground):
                tip = self.manager.describe() or EMBEDDED_LABEL
            else:
                tip = _server_text(playground.engine.uri)
        elif playground is None and self.server_uri is None and self.engine is not None:
            tip = self.manager.describe() or EMBEDDED_LABEL
        else:
            tip = self.server_label_text
        self.server_label.setToolTip(qt_text(tip))

    # ================================================================== messages
    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error box: one line that says what went wrong.

        The message often quotes a template or the server, so it is escaped and shown as
        plain text, never as markup.
        """
        message = safe_text(message)
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, safe_text(title), message,
                          QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()


def _server_text(uri: str) -> str:
    """``user@host:port`` of a server URI, never its password."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return "Server"
    return f"{user}{host}{port}"


def _catalog_placeholder(playground: Playground) -> str:
    """What the catalog dock says while a playground has no catalog to show."""
    if playground.state == FAILED:
        return "No database: this playground could not be prepared."
    return playground.status
