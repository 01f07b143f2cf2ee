"""The main window: template browser and catalog on the left, playground tabs in the centre.

The window is shown before anything slow happens: the default engine's server starts (or
is reached) on a worker while the user can already look at the template library; files
asked for meanwhile open as tabs that wait for their engine. Each playground runs on the
engine its template names (or the one *New playground* was asked for); every engine is
started on a worker on first need (see :mod:`.engines`). Every engine call happens on a
worker (see :mod:`..playground.playground`); the window only routes signals and keeps the
chrome (title, top bar, status bar, menus; see :mod:`.chrome`) in step with the
playground in front. Saving and closing live in :mod:`.closing`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMainWindow, QWidget

from dbplay_desktop.ui import icons
from dbplay_desktop.ui.window.chrome import APP_TITLE, WindowChromeMixin
from dbplay_desktop.ui.window.closing import SaveAndCloseMixin
from dbplay_desktop.ui.window.engines import EngineHostMixin, find_descriptor
from dbplay_desktop.ui.window.importing import ImportMixin

if TYPE_CHECKING:
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    from dbplay_desktop.servers.manager import ServerManager
    from dbplay_desktop.templates.library import TemplateLibrary
    from dbplay_desktop.ui.playground.playground import Playground
    from dbplay_desktop.ui.results.run_results import RunSummary

__all__ = ["APP_TITLE", "MainWindow"]


class MainWindow(EngineHostMixin, WindowChromeMixin, SaveAndCloseMixin, ImportMixin,
                 QMainWindow):
    """The one dbplay window.

    ``server_uris`` maps engine kinds to servers to use instead of their built-in
    defaults (tests, connections); ``server_uri`` is one such server, whose kind becomes
    the default engine. ``default_engine`` names the engine of *New playground* (default:
    the settings' choice, else :func:`~.engines.preferred_default_engine`). Chrome comes
    from :class:`WindowChromeMixin`, saving and closing from :class:`SaveAndCloseMixin`,
    the engines from :class:`EngineHostMixin`; this class holds the playground tabs and
    the routing of their signals.

    ``deferred=True`` makes only the window's frame (title, geometry, menus, tool bars,
    the welcome page and empty docks: nothing that imports the editor, the results or
    an engine) so it can be on the screen at once; :meth:`build` then makes the rest
    and :meth:`set_ready` runs what was asked of the window meanwhile (see
    :meth:`when_ready`). Without it the window is complete when constructed.
    """

    #: An engine's server is reachable and its playgrounds can be made: the engine name.
    engine_ready = Signal(str)
    #: An engine's server could not be started or reached: a one-line reason, the engine.
    engine_failed = Signal(str, str)
    #: A local server the window started died under it: the engine name.
    server_lost = Signal(str)
    #: Every playground's database is dropped after a close request; the window is gone.
    shutdown_finished = Signal()

    def __init__(
        self,
        *,
        server_uris: Mapping[str, str] | None = None,
        server_uri: str | None = None,
        manager: ServerManager | None = None,
        library: TemplateLibrary | None = None,
        default_engine: str | None = None,
        parent: QWidget | None = None,
        deferred: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)
        self._closing: list[Playground] = []
        self._shutting_down = False
        self._shutdown_done = False
        self._built = False
        self._ready = False
        self._waiting: list[Callable[[], object]] = []
        self._parts = (server_uris, server_uri, manager, library, default_engine)

        self._make_frame()
        self.statusBar().showMessage("Starting…")
        self._restore_geometry()
        if not deferred:
            self.build()
            self.set_ready()

    # ================================================================== two-step start
    @property
    def is_built(self) -> bool:
        """Whether every part of the window exists (see ``deferred``)."""
        return self._built

    @property
    def is_closing(self) -> bool:
        """Whether the window is on its way out (a close was accepted)."""
        return self._shutting_down

    def build(self) -> None:
        """Make what the frame left out: the settings, the engines, the template
        browser, catalog and history docks, the *New playground* menu."""
        if self._built:
            return
        from dbplay_desktop.connections import ConnectionStore
        from dbplay_desktop.history import QueryHistory
        from dbplay_desktop.templates.library import TemplateLibrary
        from dbplay_desktop.ui.settings import AppSettings

        server_uris, server_uri, manager, library, default_engine = self._parts
        self.library = library if library is not None else TemplateLibrary()
        self.app_settings = AppSettings(parent=self)
        self.app_settings.apply_engine_settings()  # the engines read them from the environment
        self.app_settings.changed.connect(self._on_setting_changed)
        if default_engine is None and not server_uri:
            chosen = self.app_settings.default_engine
            default_engine = chosen if chosen and find_descriptor(chosen) else None
        self._init_engines(server_uris, server_uri, manager, default_engine)
        self.history = QueryHistory()
        self.connection_store = ConnectionStore()
        self._finish_actions()
        self._fill_docks()
        self._built = True
        self._update_chrome()

    def set_ready(self) -> None:
        """The window is built and launched: run what waited for it, in order."""
        self.build()
        self._ready = True
        waiting, self._waiting = self._waiting, []
        for call in waiting:
            call()

    def when_ready(self, call: Callable[[], object]) -> None:
        """Run ``call`` now if the window is ready, else once it is (a file handed over,
        a menu item chosen or a close asked for while the window was still starting)."""
        if self._ready:
            call()
        else:
            self._waiting.append(call)

    # ================================================================== playgrounds
    def playgrounds(self) -> list[Playground]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]  # type: ignore[misc]

    def current_playground(self) -> Playground | None:
        widget = self.tabs.currentWidget()
        if widget is None:
            return None
        from dbplay_desktop.ui.playground.playground import Playground

        return widget if isinstance(widget, Playground) else None

    def new_playground(self, engine: str | None = None) -> Playground:
        """A blank playground on ``engine`` (default: the default engine): a fresh,
        empty sandbox database."""
        return self._add_playground(None, engine or self.default_engine)

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
        if not self._ready:
            self.when_ready(lambda: self.open_files(files))
            return
        for name in files:
            self.open_template(name)
        self.bring_to_front()

    def bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def _engine_of(self, template: Path | None, engine: str | None) -> str:
        """The engine a new playground is for: the one asked for, else the template's
        (a cheap read of its manifest), else the default one."""
        if engine:
            return engine
        if template is not None:
            from dbplay_desktop.templates.container import read_manifest

            try:
                return read_manifest(template).engine or self.default_engine
            except Exception:  # the restore says what is wrong with the file
                return self.default_engine
        return self.default_engine

    def _add_playground(self, template: Path | None, engine: str | None = None) -> Playground:
        from dbplay_desktop.display_text import safe_text
        from dbplay_desktop.engines import registry
        from dbplay_desktop.engines.base import EngineError
        from dbplay_desktop.ui.playground.playground import Playground

        settings = self.app_settings
        name = self._engine_of(template, engine)
        descriptor = find_descriptor(name)
        problem = None
        if descriptor is None:
            try:
                registry.descriptor(name)
            except EngineError as exc:
                problem = str(exc)
        else:
            problem = descriptor.unavailable_reason()
        playground = Playground(
            template, batch_size=settings.batch_size, row_cap=settings.row_cap,
            timeout=settings.statement_timeout, descriptor=descriptor, parent=self.tabs,
        )
        if descriptor is None:
            playground.status = "Engine not installed"
        playground.server_name = self.server_label_for(name)
        playground.set_font_size(settings.editor_font_size)
        playground.run_recorded.connect(self._record_run)
        playground.state_changed.connect(self._on_playground_changed)
        playground.catalog_changed.connect(self._on_catalog_changed)
        playground.status_message.connect(self._on_playground_message)
        playground.status_ticked.connect(self._on_playground_ticked)
        self.autosave.track(playground)
        playground.close_requested.connect(lambda p=playground: self.close_playground(p))
        playground.server_retry_requested.connect(
            lambda p=playground: self.start_server(p.engine_name))
        playground.link_lost.connect(self.check_servers)  # a dead local server says so now
        index = self.tabs.addTab(
            playground, icons.engine_icon(descriptor), safe_text(playground.title)
        )
        self.tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.tabs)
        if problem is not None:
            what = f"Cannot open “{playground.title}”" if template else "Cannot make it"
            playground.show_unavailable(f"{what}: {problem}")
        else:
            self._give_engine(playground)
        playground.editor.setFocus()
        self._update_chrome()
        return playground

    def _on_playground_changed(self) -> None:
        from dbplay_desktop.display_text import qt_text, safe_text
        from dbplay_desktop.ui.playground.playground import READY, UNTITLED, Playground

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
        from dbplay_desktop.display_text import safe_text

        sender = self.sender()
        if sender is self.current_playground() or sender in self._closing:
            self.statusBar().showMessage(safe_text(text), 8000)

    def _on_playground_ticked(self, status: str) -> None:
        # The run's clock: one label, not the whole chrome, several times a second.
        from dbplay_desktop.display_text import safe_text

        if self.sender() is self.current_playground():
            self.status_label.setText(safe_text(status))

    def _on_catalog_changed(self, items: list) -> None:
        if self.sender() is self.current_playground():
            self.catalog_tree.set_items(items, self.sender().catalog_kinds)

    def _on_current_changed(self, _index: int) -> None:
        from dbplay_desktop.ui.playground.playground import READY

        playground = self.current_playground()
        if playground is None:
            self.catalog_tree.set_message("No playground open.")
        elif playground.state == READY:
            self.catalog_tree.set_items(playground.catalog, playground.catalog_kinds)
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
        from PySide6.QtWidgets import QFileDialog

        from dbplay_desktop.templates.library import TEMPLATE_SUFFIX

        start = str(self.library.root if self.library.root.is_dir() else Path.home())
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open template", start, f"dbplay templates (*{TEMPLATE_SUFFIX})"
        )
        for path in paths:
            self.open_template(path)

    # ================================================================== drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        from dbplay_desktop.ui.window.support import template_paths_from_mime

        if template_paths_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        from dbplay_desktop.ui.window.support import template_paths_from_mime

        paths = template_paths_from_mime(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.when_ready(lambda: [self.open_template(path) for path in paths])

    # ================================================================== history
    def _record_run(self, summary: RunSummary) -> None:
        from dbplay_desktop.ui.workers import Worker, start_worker

        playground = self.sender()
        engine = getattr(playground, "engine_name", "")
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
        """Pick another server of an engine kind (or the built-in ones) for new playgrounds."""
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

    # ================================================================== messages
    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error box: one line that says what went wrong.

        The message often quotes a template or the server, so it is escaped and shown as
        plain text, never as markup.
        """
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QMessageBox

        from dbplay_desktop.display_text import safe_text

        message = safe_text(message)
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, safe_text(title), message,
                          QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()


def _catalog_placeholder(playground: Playground) -> str:
    """What the catalog dock says while a playground has no catalog to show."""
    from dbplay_desktop.ui.playground.playground import FAILED

    if playground.state == FAILED:
        return "No database: this playground could not be prepared."
    return playground.status
