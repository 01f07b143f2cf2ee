"""The main window: template browser and catalog on the left, playground tabs in the centre.

The window is shown before anything slow happens: the database server starts (or is
reached) on a worker while the user can already look at the template library; files
asked for meanwhile open as tabs that wait for the server. Every engine call happens on
a worker (see :mod:`.playground`); the window only routes signals and keeps the chrome
(title, top bar, status bar, menus) in step with the playground in front.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from dbplay_desktop.connections import ConnectionStore
from dbplay_desktop.engines.base import Engine
from dbplay_desktop.history import QueryHistory
from dbplay_desktop.servers.manager import EMBEDDED_LABEL, ServerManager
from dbplay_desktop.templates.library import TEMPLATE_SUFFIX, TemplateLibrary
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.catalog_tree import CatalogTree
from dbplay_desktop.ui.history_panel import HistoryPanel
from dbplay_desktop.ui.playground import (
    FAILED,
    PREPARING,
    READY,
    UNTITLED,
    Playground,
    ProgressRelay,
    RunSummary,
    one_line,
)
from dbplay_desktop.ui.save_template_dialog import SaveChoice, SaveTemplateDialog
from dbplay_desktop.ui.settings import AppSettings, open_settings
from dbplay_desktop.ui.template_browser import TemplateBrowser
from dbplay_desktop.ui.welcome import WelcomePage
from dbplay_desktop.ui.window_support import (
    connect_to_server,
    save_template_job,
    template_paths_from_mime,
)
from dbplay_desktop.ui.workers import Worker, start_worker

APP_TITLE = "Database Playground"
SHUTDOWN_TIMEOUT_MS = 15_000


class MainWindow(QMainWindow):
    """The one dbplay window. ``server_uri`` skips the embedded server (tests, connections)."""

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

    # ================================================================== construction
    def _action(
        self, icon: str | None, text: str, slot, shortcut: QKeySequence | str | None = None
    ) -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(icons.icon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(text.rstrip("…") + (f" ({action.shortcut().toString()})"
                                               if shortcut is not None else ""))
        action.triggered.connect(slot)
        return action

    def _make_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.new_action = self._action("new-playground", "New playground", self.new_playground,
                                       std.New)
        self.open_action = self._action("open", "Open template…", self.open_dialog, std.Open)
        self.save_action = self._action("save-template", "Save state as template…",
                                        self.save_current, std.Save)
        self.reset_action = self._action("reset", "Reset playground", self.reset_current,
                                         "Ctrl+Shift+R")
        self.close_tab_action = self._action(None, "Close playground", self.close_current,
                                             std.Close)
        self.quit_action = self._action(None, "Quit", self.close, std.Quit)
        self.run_action = self._action("run", "Run statement", self.run_current, "Ctrl+Return")
        self.run_all_action = self._action("run-all", "Run all", self.run_all,
                                           "Ctrl+Shift+Return")
        self.stop_action = self._action("stop", "Stop", self.cancel_current)
        self.format_action = self._action("format", "Format SQL", self.format_current,
                                          "Ctrl+Shift+F")
        self.find_action = self._action("search", "Find / Replace…", self.find_current, std.Find)
        self.refresh_catalog_action = self._action("refresh", "Refresh catalog",
                                                   self.refresh_catalog, "F5")
        self.connections_action = self._action("connect", "Connections…", self.open_connections)
        self.preferences_action = self._action(None, "Preferences…", self.open_preferences,
                                               QKeySequence.StandardKey.Preferences)
        self.retry_server_action = self._action("connect", "Start the embedded server again",
                                                self.start_server)
        # The editor handles these keys itself while it has focus; window shortcuts would
        # fire twice, so they are application-wide only when the editor is not focused.
        for action in (self.run_action, self.run_all_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

    def _make_central(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("playgroundTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(lambda i: self.close_playground(self.tabs.widget(i)))
        self.tabs.currentChanged.connect(self._on_current_changed)
        self.welcome = WelcomePage(self)
        self.welcome.new_requested.connect(self.new_playground)
        self.welcome.open_requested.connect(self.open_dialog)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)

    def _make_docks(self) -> None:
        self.template_browser = TemplateBrowser(self.library, self)
        self.template_browser.open_requested.connect(self.open_template)
        self.templates_dock = self._dock("templatesDock", "Templates", self.template_browser)
        self.catalog_tree = CatalogTree(self)
        self.catalog_tree.refresh_requested.connect(self.refresh_catalog)
        self.catalog_tree.insert_requested.connect(self._insert_into_editor)
        self.catalog_dock = self._dock("catalogDock", "Catalog", self.catalog_tree)
        self.history_panel = HistoryPanel(self.history, self)
        self.history_panel.set_connection(self.server_label_text)
        self.history_panel.rerun_requested.connect(self._rerun_from_history)
        self.history_panel.open_requested.connect(self._open_from_history)
        self.history_dock = self._dock("historyDock", "History", self.history_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.history_dock)
        self.history_dock.hide()  # opened from View > History; the results need the room
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.templates_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.catalog_dock)
        self.splitDockWidget(self.templates_dock, self.catalog_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.templates_dock], [300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.templates_dock, self.catalog_dock], [1, 1], Qt.Orientation.Vertical)

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        return dock

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.reset_action)
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addSeparator()
        file_menu.addAction(self.close_tab_action)
        file_menu.addAction(self.quit_action)
        query_menu = bar.addMenu("&Query")
        for action in (self.run_action, self.run_all_action, self.stop_action, None,
                       self.format_action, self.find_action):
            query_menu.addSeparator() if action is None else query_menu.addAction(action)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.templates_dock.toggleViewAction())
        view_menu.addAction(self.catalog_dock.toggleViewAction())
        history_toggle = self.history_dock.toggleViewAction()
        history_toggle.setShortcut(QKeySequence("Ctrl+Shift+H"))
        view_menu.addAction(history_toggle)
        view_menu.addAction(self.refresh_catalog_action)
        server_menu = bar.addMenu("&Server")
        server_menu.addAction(self.connections_action)
        server_menu.addAction(self.retry_server_action)
        self.server_menu = server_menu

    def _make_top_bar(self) -> None:
        bar = QToolBar("Playground", self)
        bar.setObjectName("topBar")
        bar.setMovable(False)
        bar.setIconSize(QSize(20, 20))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.new_action, self.open_action, self.save_action, self.reset_action,
                       None, self.run_action, self.run_all_action, self.stop_action, None,
                       self.format_action):
            bar.addSeparator() if action is None else bar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.top_bar = bar
        # Where the playground lives, on its own row so it never hides behind "»".
        info = QToolBar("Connection", self)
        info.setObjectName("connectionBar")
        info.setMovable(False)
        info.setIconSize(QSize(16, 16))
        self.engine_icon_label = QLabel(info)
        self.engine_label = QLabel(info)
        self.server_label = QLabel(info)
        self.database_label = QLabel(info)
        self.status_label = QLabel(info)
        info.addWidget(self.engine_icon_label)
        for label in (self.engine_label, self.server_label, self.database_label):
            label.setContentsMargins(4, 0, 12, 0)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            info.addWidget(label)
        spacer = QWidget(info)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        info.addWidget(spacer)
        self.status_label.setContentsMargins(12, 0, 8, 0)
        info.addWidget(self.status_label)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, info)
        self.connection_bar = info

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
        self.engine_label.setText(f"{name} {short_version}".strip())
        self.engine_label.setToolTip(f"{name} {version}")
        self.engine_icon_label.setPixmap(icons.engine_icon(self.engine.name).pixmap(16, 16))
        self.statusBar().showMessage(f"{name} {version} ready", 5000)
        for playground in self.playgrounds():
            playground.attach_engine(self.engine)
        self._update_chrome()
        self.engine_ready.emit()

    def _on_engine_failed(self, exc: object) -> None:
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        self.engine_error = message
        self.statusBar().showMessage(f"Database server unavailable: {message}")
        for playground in self.playgrounds():
            if playground.state == PREPARING and playground.engine is None:
                playground.status = "No database server"
                playground._show_banner(
                    f"No database server: {message}", busy=False, error=True
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
        index = self.tabs.addTab(playground, icons.engine_icon("postgresql"), playground.title)
        self.tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.tabs)
        if self.engine is not None:
            playground.attach_engine(self.engine)
        elif self.engine_error is not None:
            playground._show_banner(f"No database server: {self.engine_error}", busy=False,
                                    error=True)
        playground.editor.setFocus()
        self._update_chrome()
        return playground

    def _on_playground_changed(self) -> None:
        playground = self.sender()
        if isinstance(playground, Playground):
            index = self.tabs.indexOf(playground)
            if index >= 0:
                title = playground.title + (" •" if playground.modified else "")
                self.tabs.setTabText(index, title)
                self.tabs.setTabToolTip(index, str(playground.template_path or UNTITLED))
        self._update_chrome()

    def _on_playground_message(self, text: str) -> None:
        if self.sender() is self.current_playground():
            self.statusBar().showMessage(text, 8000)

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
            self.catalog_tree.set_message(playground.status)
        self._update_chrome()

    def _update_chrome(self) -> None:
        playground = self.current_playground()
        if playground is None:
            self.setWindowTitle(APP_TITLE)
            if self.tabs.count() == 0:
                self.stack.setCurrentWidget(self.welcome)
        else:
            self.setWindowTitle(f"{playground.title} — {APP_TITLE}")
        ready = playground is not None and playground.state == READY
        running = ready and playground.is_running  # type: ignore[union-attr]
        for action in (self.run_action, self.run_all_action):
            action.setEnabled(ready and not running)
        self.stop_action.setEnabled(
            running or (playground is not None and playground.state == PREPARING)
        )
        self.save_action.setEnabled(ready and not running)
        self.reset_action.setEnabled(
            playground is not None and playground.state in (READY, FAILED)
            and self.engine is not None
        )
        has_tab = playground is not None
        for action in (self.close_tab_action, self.format_action, self.find_action):
            action.setEnabled(has_tab)
        self.refresh_catalog_action.setEnabled(ready)
        self.retry_server_action.setVisible(self.server_uri is None)
        self.retry_server_action.setEnabled(self.engine is None)
        self.server_label.setText(
            getattr(playground, "server_name", None) or self.server_label_text
        )
        self.database_label.setText(
            f"Sandbox: {playground.database}" if playground and playground.database else ""
        )
        if self.engine is None:
            status = "Server failed" if self.engine_error else "Starting…"
        elif playground is None:
            status = "Ready"
        else:
            status = playground.status
        self.status_label.setText(status)
        if self.engine_error and self.engine is None:
            self.status_label.setToolTip(self.engine_error)

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

    # ================================================================== open / save
    def open_dialog(self) -> None:
        start = str(self.library.root if self.library.root.is_dir() else Path.home())
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open template", start, f"dbplay templates (*{TEMPLATE_SUFFIX})"
        )
        for path in paths:
            self.open_template(path)

    def save_current(self) -> Path | None:
        playground = self.current_playground()
        return self.save_playground(playground) if playground is not None else None

    def save_playground(
        self, playground: Playground, choice: SaveChoice | None = None
    ) -> Path | None:
        """Save the playground's state as a template; returns the file, or None.

        Asks with :class:`SaveTemplateDialog` unless ``choice`` is given. The dump runs on
        a worker behind a window-modal progress dialog with Cancel; events keep flowing.
        """
        if playground.state != READY or playground.database is None or self.engine is None:
            self.show_error("Cannot save", f"{playground.title} is not ready: {playground.status}")
            return None
        if choice is None:
            dialog = SaveTemplateDialog(
                playground.template_name or "", playground.template_description,
                library=self.library, parent=self,
            )
            if not dialog.exec():
                return None
            choice = dialog.choice()
        relay = ProgressRelay(self)
        progress = QProgressDialog(f"Saving “{choice.name}”…", "Cancel", 0, 0, self)
        progress.setWindowTitle("Save state as template")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)
        progress.canceled.connect(relay.cancelled.set)
        relay.progress.connect(
            lambda done, _total: progress.setLabelText(
                f"Saving “{choice.name}”… {done / 1_048_576:.1f} MB"
            )
        )
        outcome: dict[str, object] = {}
        worker = Worker(save_template_job, self.engine, playground.database, choice, relay)
        loop = QEventLoop(self)
        worker.signals.returned.connect(lambda path: outcome.setdefault("path", path))
        worker.signals.errored.connect(lambda exc: outcome.setdefault("error", exc))
        worker.signals.finished.connect(loop.quit)
        start_worker(worker)
        if not worker.is_done:
            loop.exec()
        progress.reset()
        progress.deleteLater()
        relay.deleteLater()
        if "error" in outcome:
            error = outcome["error"]
            if relay.cancelled.is_set():
                self.statusBar().showMessage("Save cancelled; no file was written.", 8000)
            else:
                self.show_error("Save failed", one_line(error))  # type: ignore[arg-type]
            return None
        path = Path(outcome["path"])  # type: ignore[arg-type]
        playground.mark_saved(path, choice.name, choice.description)
        self.add_recent_file(path)
        self.template_browser.refresh()
        self.template_browser.select_path(path)
        self.statusBar().showMessage(f"Saved “{choice.name}” to {path}", 8000)
        return path

    # ================================================================== closing
    def ask_save(self, playground: Playground) -> str:
        """Ask whether to save a changed playground: "save", "discard" or "cancel"."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Save changes?")
        box.setText(f"“{playground.title}” has changed since it was opened.")
        box.setInformativeText(
            "Closing it deletes its database. Save its state as a template first?"
        )
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        answer = box.exec()
        if answer == buttons.Save:
            return "save"
        if answer == buttons.Discard:
            return "discard"
        return "cancel"

    def _confirm_close(self, playground: Playground) -> bool:
        """Offer to save a changed playground; False when the user cancelled."""
        if not playground.modified or playground.state != READY:
            return True
        self.tabs.setCurrentWidget(playground)
        answer = self.ask_save(playground)
        if answer == "cancel":
            return False
        if answer == "save":
            return self.save_playground(playground) is not None
        return True

    def close_current(self) -> None:
        if (playground := self.current_playground()) is not None:
            self.close_playground(playground)

    def close_playground(self, playground: Playground, *, ask: bool = True) -> bool:
        """Close a tab: offer to save, then cancel its work and drop its database."""
        if not isinstance(playground, Playground):
            return False
        if ask and not self._confirm_close(playground):
            return False
        self._retire(playground)
        return True

    def _retire(self, playground: Playground) -> None:
        index = self.tabs.indexOf(playground)
        if index >= 0:
            self.tabs.removeTab(index)
        playground.hide()
        playground.setParent(None)  # type: ignore[call-overload]
        self._closing.append(playground)
        playground.closed.connect(self._on_playground_closed)
        playground.shutdown()
        self._update_chrome()

    def _on_playground_closed(self) -> None:
        playground = self.sender()
        if playground in self._closing:
            self._closing.remove(playground)  # type: ignore[arg-type]
            playground.deleteLater()
        if self._shutting_down and not self._closing:
            self._finish_shutdown()

    @property
    def closing_playgrounds(self) -> int:
        """Playgrounds whose databases are still being dropped."""
        return len(self._closing)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._shutdown_done:
            self._save_geometry()
            event.accept()
            return
        event.ignore()
        if self._shutting_down:
            return
        for playground in self.playgrounds():
            if not self._confirm_close(playground):
                return
        self._shutting_down = True
        self._save_geometry()
        self.statusBar().showMessage("Closing playgrounds…")
        for playground in self.playgrounds():
            self._retire(playground)
        if not self._closing:
            self._finish_shutdown()
        else:
            QTimer.singleShot(SHUTDOWN_TIMEOUT_MS, self._finish_shutdown)

    def _finish_shutdown(self) -> None:
        if self._shutdown_done:
            return
        self._shutdown_done = True
        self.shutdown_finished.emit()
        self.close()

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

    # ================================================================== settings
    def recent_files(self) -> list[str]:
        return self.app_settings.recent_files

    def add_recent_file(self, path: Path) -> None:
        self.app_settings.add_recent_file(Path(path).resolve())

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = [f for f in self.recent_files() if Path(f).is_file()]
        if not files:
            self.recent_menu.addAction("No recent templates").setEnabled(False)
            return
        for name in files:
            action = self.recent_menu.addAction(Path(name).name)
            action.setToolTip(name)
            action.triggered.connect(lambda _checked=False, n=name: self.open_template(n))

    def _save_geometry(self) -> None:
        self.app_settings.window_geometry = self.saveGeometry()
        self.app_settings.window_state = self.saveState()
        self.app_settings.sync()

    def _restore_geometry(self) -> None:
        geometry = self.app_settings.window_geometry
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.app_settings.window_state
        if not state.isEmpty():
            self.restoreState(state)

    def open_preferences(self) -> None:
        open_settings(self.app_settings, self)

    def _on_setting_changed(self, name: str) -> None:
        if name == "editor_font_size":
            for playground in self.playgrounds():
                playground.set_font_size(self.app_settings.editor_font_size)

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

        from dbplay_desktop.ui.connections import ConnectionDialog

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

    # ================================================================== messages
    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error box: one line that says what went wrong."""
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          self)
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
