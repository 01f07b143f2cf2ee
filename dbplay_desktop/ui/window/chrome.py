"""The window's chrome: actions, menus, tool bars, docks, and keeping them in step.

:class:`WindowChromeMixin` builds every action, menu, tool bar and dock of
:class:`~.main_window.MainWindow` and updates them (title, enabled actions, the
connection bar) whenever the playground in front changes. It also remembers the
window's geometry and recent files. It is a mixin rather than a widget of its own so the
actions stay plain attributes of the window (``window.run_action``), where menus,
shortcuts and tests find them.

The window's first frame is built in two steps (see ``MainWindow(deferred=True)``):
:meth:`WindowChromeMixin._make_frame` makes the actions, menus, bars, the welcome page
and the docks with empty contents, importing nothing heavy; ``_finish_actions`` and
``_fill_docks`` add what needs the engines' registry, the template library and the
panels. An action used before the window is ready runs once it is.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMenu,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from dbplay_desktop.ui import icons
from dbplay_desktop.ui.window.welcome import WelcomePage

APP_TITLE = "Database Playground"
#: Organization and application names of the settings store (ui/settings.py's).
_SETTINGS_NAMES = ("dbplay", "Database Playground")
#: The template browser's first width: a row's name, date and counts fit.
TEMPLATES_DOCK_WIDTH = 360


def _preferences_shortcut() -> QKeySequence:
    """The platform's Preferences key, or Ctrl+, where the platform has none (most Linux
    desktops), as other editors and database tools use."""
    standard = QKeySequence(QKeySequence.StandardKey.Preferences)
    return standard if not standard.isEmpty() else QKeySequence("Ctrl+,")


class WindowChromeMixin:
    """Construction and upkeep of the main window's actions, menus, bars and docks.

    Mixed into :class:`~.main_window.MainWindow` (a ``QMainWindow``) whose slots the
    actions call; nothing here runs engine code.
    """

    # ================================================================== construction
    def _make_frame(self) -> None:
        """What the first frame shows: menus, tool bars, the welcome page, the docks."""
        self._make_actions()
        self._make_central()
        self._make_dock_frames()
        self._make_menus()
        self._make_top_bar()
        # Nothing is open yet: what needs a playground starts disabled, as
        # _update_chrome leaves it on no tab.
        for action in (self.run_action, self.run_all_action, self.stop_action,
                       self.save_action, self.reset_action, self.close_tab_action,
                       self.format_action, self.find_action, self.refresh_catalog_action,
                       self.copy_uri_action, self.copy_uri_password_action):
            action.setEnabled(False)
        self.retry_server_action.setVisible(False)
        self.status_label.setText("Starting…")

    def _action(
        self, icon: str | None, text: str, slot, shortcut: QKeySequence | str | None = None
    ) -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(icons.icon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(text.rstrip("…") + (f" ({keys})" if keys else ""))
        action.triggered.connect(lambda _checked=False, call=slot: self.when_ready(call))
        return action

    def _make_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.new_action = self._action("new-playground", "New playground",
                                       lambda: self.new_playground(), std.New)
        self._make_new_menu()
        self.open_action = self._action("open", "Open template…", self.open_dialog, std.Open)
        self.import_file_action = self._action(
            "import", "Import file as template…", lambda: self.import_dialog(folder=False))
        self.import_folder_action = self._action(
            None, "Import folder as template…", lambda: self.import_dialog(folder=True))
        self.save_action = self._action("save-template", "Save state as template…",
                                        self.save_current, std.Save)
        self.reset_action = self._action("reset", "Reset playground", self.reset_current,
                                         "Ctrl+Shift+R")
        self.close_tab_action = self._action(None, "Close playground", self.close_current,
                                             std.Close)
        # Some platforms bind no key to Quit (Windows, offscreen): Ctrl+Q there too.
        quit_keys = QKeySequence.keyBindings(std.Quit) or [QKeySequence("Ctrl+Q")]
        self.quit_action = self._action(None, "Quit", self.close, quit_keys[0])
        self.run_action = self._action("run", "Run statement", self.run_current, "Ctrl+Return")
        self.run_all_action = self._action("run-all", "Run all", self.run_all,
                                           "Ctrl+Shift+Return")
        self.stop_action = self._action("stop", "Stop", self.cancel_current)
        # Esc is handled by the editor (a window-wide Esc would also close every popup).
        self.stop_action.setToolTip("Stop the running query (Esc)")
        self.format_action = self._action("format", "Format", self.format_current,
                                          "Ctrl+Shift+F")
        self.find_action = self._action("search", "Find and replace…", self.find_current, std.Find)
        self.refresh_catalog_action = self._action("refresh", "Refresh catalog",
                                                   self.refresh_catalog, "F5")
        self.connections_action = self._action("connect", "Connections…", self.open_connections)
        self.preferences_action = self._action(None, "Preferences…", self.open_preferences,
                                               _preferences_shortcut())
        self.retry_server_action = self._action("connect", "Start the built-in server again",
                                                self._retry_server)
        self.copy_uri_action = self._action(
            None, "Copy connection URI", lambda: self.copy_connection_uri(with_password=False))
        self.copy_uri_password_action = self._action(
            None, "Copy connection URI with password",
            lambda: self.copy_connection_uri(with_password=True))
        # The editor handles these keys itself while it has focus; window shortcuts would
        # fire twice, so they are application-wide only when the editor is not focused.
        for action in (self.run_action, self.run_all_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

    def _make_new_menu(self) -> None:
        """*New playground* ▸ one entry per registered engine, added by
        :meth:`_fill_new_menu` (the tool bar shows its arrow from the first frame)."""
        menu = QMenu("New playground", self)
        menu.setToolTipsVisible(True)
        self.new_engine_actions: dict[str, QAction] = {}
        self.new_menu = menu
        self.new_action.setMenu(menu)
        # Ctrl+N works wherever the action is shown (a submenu's own action is not).
        self.addAction(self.new_action)

    def _finish_actions(self) -> None:
        """The actions that depend on the installed engines."""
        from dbplay_desktop.ui.window.importing import importing_engines

        self._fill_new_menu()
        importers = importing_engines()
        for action in (self.import_file_action, self.import_folder_action):
            action.setEnabled(bool(importers))
            action.setToolTip(
                f"Another tool's dump as a new template ({', '.join(importers)})" if importers
                else "No installed engine imports other tools' dumps")

    def _fill_new_menu(self) -> None:
        """One entry per registered engine; an engine that cannot be used here is
        listed, disabled, with the reason (and the fix) as its tooltip."""
        from dbplay_desktop.display_text import qt_text, safe_text
        from dbplay_desktop.engines import registry

        menu = self.new_menu
        for descriptor in registry.descriptors():
            action = menu.addAction(icons.engine_icon(descriptor),
                                    safe_text(descriptor.display_name))
            action.setData(descriptor.name)
            reason = descriptor.unavailable_reason()
            action.setEnabled(reason is None)
            if reason is not None:
                action.setToolTip(qt_text(reason))
            elif descriptor.name == self.default_engine:
                keys = self.new_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                action.setToolTip(qt_text(f"A {descriptor.display_name} playground "
                                          f"(the default: {keys})"))
            else:
                action.setToolTip(qt_text(f"A {descriptor.display_name} playground"))
            action.triggered.connect(
                lambda _checked=False, n=descriptor.name: self.new_playground(n))
            self.new_engine_actions[descriptor.name] = action

    def _retry_server(self) -> None:
        playground = self.current_playground()
        self.start_server(playground.engine_name if playground is not None else None)

    def _make_central(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("playgroundTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(lambda i: self.close_playground(self.tabs.widget(i)))
        self.tabs.currentChanged.connect(self._on_current_changed)
        self.welcome = WelcomePage(self)
        self.welcome.new_requested.connect(lambda: self.when_ready(self.new_playground))
        self.welcome.open_requested.connect(lambda: self.when_ready(self.open_dialog))
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)

    def _make_dock_frames(self) -> None:
        """The docks, in their places, with blank contents until :meth:`_fill_docks`."""
        self.templates_dock = self._dock("templatesDock", "Templates", _blank(self))
        self.catalog_dock = self._dock("catalogDock", "Catalog", _blank(self))
        self.history_dock = self._dock("historyDock", "History", _blank(self))
        # The left docks keep the window's full height: History opens under the
        # playgrounds (beside their Messages and Results), never under the browser.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.history_dock)
        self.history_dock.hide()  # opened from View > History; the results need the room
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.templates_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.catalog_dock)
        self.splitDockWidget(self.templates_dock, self.catalog_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.templates_dock], [TEMPLATES_DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.resizeDocks([self.templates_dock, self.catalog_dock], [1, 1], Qt.Orientation.Vertical)

    def _fill_docks(self) -> None:
        from dbplay_desktop.ui.playground.catalog_tree import CatalogTree
        from dbplay_desktop.ui.results.history_panel import HistoryPanel
        from dbplay_desktop.ui.templates.browser import TemplateBrowser

        self.template_browser = TemplateBrowser(self.library, self)
        self.template_browser.open_requested.connect(self.open_template)
        _replace_contents(self.templates_dock, self.template_browser)
        self.catalog_tree = CatalogTree(self)
        self.catalog_tree.refresh_requested.connect(self.refresh_catalog)
        self.catalog_tree.insert_requested.connect(self._insert_into_editor)
        _replace_contents(self.catalog_dock, self.catalog_tree)
        self.history_panel = HistoryPanel(self.history, self)
        self.history_panel.set_connection(self.server_label_text)
        self.history_panel.rerun_requested.connect(self._rerun_from_history)
        self.history_panel.open_requested.connect(self._open_from_history)
        _replace_contents(self.history_dock, self.history_panel)

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
        import_menu = file_menu.addMenu("&Import as template")
        import_menu.addAction(self.import_file_action)
        import_menu.addAction(self.import_folder_action)
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
        server_menu.addSeparator()
        server_menu.addAction(self.copy_uri_action)
        server_menu.addAction(self.copy_uri_password_action)
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
        new_button = bar.widgetForAction(self.new_action)
        if isinstance(new_button, QToolButton):  # click: the default engine; arrow: any
            new_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.top_bar = bar
        # Where the playground lives, on its own row so it never hides behind "»".
        info = QToolBar("Connection", self)
        info.setObjectName("connectionBar")
        info.setMovable(False)
        info.setIconSize(QSize(16, 16))
        self.engine_icon_label = QLabel(info)
        self.engine_icon_label.setMinimumSize(16, 16)  # the row keeps its height for the icon
        self.engine_label = QLabel(info)
        self.server_label = QLabel(info)
        self.database_label = QLabel(info)
        self.status_label = QLabel(info)
        info.addWidget(self.engine_icon_label)
        # These show the server's version, database names and template-derived status:
        # never guessed to be markup.
        for label in (self.engine_label, self.server_label, self.database_label,
                      self.status_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
        for label in (self.engine_label, self.server_label, self.database_label):
            label.setContentsMargins(4, 0, 12, 0)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            info.addWidget(label)
        spacer = QWidget(info)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        info.addWidget(spacer)
        self.status_label.setContentsMargins(12, 0, 8, 0)
        # Room for a running clock, so its ticking does not shift the text sideways.
        self.status_label.setMinimumWidth(
            self.status_label.fontMetrics().horizontalAdvance("Cancelling… 00.0 s") + 20
        )
        info.addWidget(self.status_label)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, info)
        self.connection_bar = info

    # ================================================================== keeping in step
    def _update_chrome(self) -> None:
        if not self._built:
            return  # the frame's own state until the window is built
        from dbplay_desktop.display_text import qt_text, safe_text
        from dbplay_desktop.ui.playground.playground import FAILED, LOST, PREPARING, READY

        playground = self.current_playground()
        if playground is None:
            self.setWindowTitle(APP_TITLE)
            if self.tabs.count() == 0:
                self.stack.setCurrentWidget(self.welcome)
        else:
            self.setWindowTitle(f"{safe_text(playground.title)} — {APP_TITLE}")
        # What needs a database is enabled only on a tab that has one; a tab that failed
        # to open offers Retry/Close in its banner instead (Reset would fail the same way).
        ready = playground is not None and playground.state == READY
        running = ready and playground.is_running  # type: ignore[union-attr]
        for action in (self.run_action, self.run_all_action):
            action.setEnabled(ready and not running)
        self.stop_action.setEnabled(
            running or (playground is not None and playground.state == PREPARING
                        and playground.engine is not None)
        )
        self.save_action.setEnabled(ready and not running)
        self.reset_action.setEnabled(ready and playground.engine is not None)  # type: ignore[union-attr]
        self.close_tab_action.setEnabled(playground is not None)
        usable = playground is not None and playground.editor_usable
        can_format = usable and playground.editor.can_format()  # type: ignore[union-attr]
        self.format_action.setEnabled(can_format)
        keys = self.format_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.format_action.setToolTip(
            f"Format ({keys})" if can_format or playground is None
            else f"Format ({keys}): this playground's language has no formatter")
        self.find_action.setEnabled(usable or (
            playground is not None and playground.editor_pane.isVisibleTo(playground)))
        self.refresh_catalog_action.setEnabled(ready)
        # The engine in front: the current playground's, or the default one on no tab.
        kind = playground.engine_name if playground is not None else self.default_engine
        self.retry_server_action.setVisible(self.uses_local_server(kind))
        self.retry_server_action.setEnabled(kind not in self.engines
                                            and not self.is_starting(kind))
        self._update_engine_label(playground)
        self._update_server_address(playground)
        self.server_label.setText(
            safe_text(getattr(playground, "server_name", None) or self.server_label_for(kind))
        )
        self.database_label.setText(
            safe_text(f"Sandbox: {playground.database}")
            if playground and playground.database else ""
        )
        error = self.engine_errors.get(kind)
        if playground is not None and (playground.engine is not None or kind in self.engines
                                       or playground.state in (FAILED, LOST)):
            status = playground.status_line
        elif playground is None and kind in self.engines:
            status = "Ready"
        else:
            status = "Server failed" if error else "Starting…"
        self.status_label.setText(safe_text(status))
        if error and kind not in self.engines:
            self.status_label.setToolTip(qt_text(error))
        elif playground is not None and status == playground.last_run:
            self.status_label.setToolTip(qt_text(playground.last_run_tip))
        else:
            self.status_label.setToolTip("")

    # ================================================================== settings
    def recent_files(self) -> list[str]:
        return self.app_settings.recent_files

    def add_recent_file(self, path: Path) -> None:
        self.app_settings.add_recent_file(Path(path).resolve())

    def _fill_recent_menu(self) -> None:
        from dbplay_desktop.display_text import qt_text, safe_text

        self.recent_menu.clear()
        files = [f for f in self.recent_files() if Path(f).is_file()]
        if not files:
            self.recent_menu.addAction("No recent templates").setEnabled(False)
            return
        for name in files:
            action = self.recent_menu.addAction(safe_text(Path(name).name))
            action.setToolTip(qt_text(name))
            action.triggered.connect(lambda _checked=False, n=name: self.open_template(n))

    def _save_geometry(self) -> None:
        self.app_settings.window_geometry = self.saveGeometry()
        self.app_settings.window_state = self.saveState()
        self.app_settings.sync()

    def _restore_geometry(self) -> None:
        geometry, state = saved_window_layout()
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        if state:
            self.restoreState(state)

    def open_preferences(self) -> None:
        from dbplay_desktop.ui.settings import open_settings

        open_settings(self.app_settings, self)

    def _use_default_engine(self, name: str) -> None:
        """*New playground* (Ctrl+N) makes ``name``'s playgrounds from now on ("" or an
        engine that cannot be used: the window's own choice)."""
        from dbplay_desktop.display_text import qt_text
        from dbplay_desktop.ui.window.engines import find_descriptor, preferred_default_engine

        found = find_descriptor(name) if name else None
        self.default_engine = (found.name if found is not None and found.available
                               else preferred_default_engine())
        keys = self.new_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        for engine, action in self.new_engine_actions.items():
            if action.isEnabled():
                display = action.text()
                suffix = f" (the default: {keys})" if engine == self.default_engine else ""
                action.setToolTip(qt_text(f"A {display} playground{suffix}"))
        self._update_chrome()

    def _on_setting_changed(self, name: str) -> None:
        if name == "default_engine":
            self._use_default_engine(self.app_settings.default_engine)
        if name == "editor_font_size":
            for playground in self.playgrounds():
                playground.set_font_size(self.app_settings.editor_font_size)


def saved_window_layout() -> tuple[bytes, bytes]:
    """The last session's ``saveGeometry()`` and ``saveState()`` (empty the first time).

    Read straight from the settings store that :class:`~dbplay_desktop.ui.settings.AppSettings`
    writes (same file, same keys) without importing the preferences, so the window's
    first frame already has its size and its docks in place.
    """
    import os
    from pathlib import Path

    override = os.environ.get("DBPLAY_DATA_DIR")
    if override:
        path = Path(override).expanduser() / "settings.ini"
        if not path.is_file():
            return b"", b""
        store = QSettings(str(path), QSettings.Format.IniFormat)
    else:
        store = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                          *_SETTINGS_NAMES)
    return _stored_bytes(store.value("window/geometry")), _stored_bytes(store.value("window/state"))


def _stored_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    data = getattr(raw, "data", None)  # a QByteArray
    return bytes(data()) if callable(data) else b""


def _blank(parent: QWidget) -> QWidget:
    """A dock's contents until the real ones exist: the view background, nothing else."""
    from PySide6.QtGui import QPalette

    blank = QWidget(parent)
    blank.setBackgroundRole(QPalette.ColorRole.Base)
    blank.setAutoFillBackground(True)
    return blank


def _replace_contents(dock: QDockWidget, widget: QWidget) -> None:
    old = dock.widget()
    dock.setWidget(widget)
    if old is not None and old is not widget:
        old.deleteLater()
