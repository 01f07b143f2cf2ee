"""The template browser: the left dock that lists the user's templates and the samples.

It shows what a template holds before it is opened (engine, description, size, object
counts, date), filters as the user types, and offers the few file operations a library
needs. Everything it changes goes through :class:`TemplateLibrary`; the folder is watched,
so files copied in with a file manager (or saved by the main window) appear by themselves.
Reading manifests is cheap and cached, so the list is rebuilt synchronously. How a row
looks (painting, texts, tooltip) is :mod:`.template_delegate`'s business.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QFileSystemWatcher,
    QObject,
    QPoint,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QDesktopServices, QFont, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.templates.library import (
    TEMPLATE_SUFFIX,
    TemplateEntry,
    TemplateLibrary,
    matches,
)
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.confirm import confirm_destructive
from dbplay_desktop.ui.templates.delegate import (
    ENTRY,
    ENTRY_ROLE,
    GROUP,
    KIND_ROLE,
    PLACEHOLDER,
    EntryDelegate,
    entry_date,
    entry_tooltip,
    human_size,
    short_date,
    stats_summary,
)

__all__ = [  # the row texts and roles are re-exported: callers have always found them here
    "ENTRY",
    "ENTRY_ROLE",
    "GROUP",
    "KIND_ROLE",
    "MY_TEMPLATES",
    "PLACEHOLDER",
    "SAMPLES",
    "TemplateBrowser",
    "entry_date",
    "entry_tooltip",
    "human_size",
    "short_date",
    "stats_summary",
]

MY_TEMPLATES, SAMPLES = "My templates", "Samples"

_REFRESH_DELAY_MS = 150


# --------------------------------------------------------------------------- the widget


class TemplateBrowser(QWidget):
    """Lists the template library and samples; emits :attr:`open_requested` to open one."""

    #: The user wants a new playground from this template file.
    open_requested = Signal(Path)

    def __init__(self, library: TemplateLibrary | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("templateBrowser")
        self.library = library if library is not None else TemplateLibrary()
        self._entries: list[TemplateEntry] = []
        self._collapsed: set[str] = set()

        self.search_field = QLineEdit(self)
        self.search_field.setPlaceholderText("Search templates")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_field.textChanged.connect(self._rebuild)
        self.search_field.installEventFilter(self)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setItemDelegate(EntryDelegate(self.tree))
        self.tree.setMouseTracking(True)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        self.tree.itemSelectionChanged.connect(self._update_actions)
        self.tree.itemExpanded.connect(lambda item: self._collapsed.discard(self._group_key(item)))
        self.tree.itemCollapsed.connect(lambda item: self._collapsed.add(self._group_key(item)))
        self.tree.installEventFilter(self)

        self._make_actions()
        self.toolbar = QToolBar(self)
        self.toolbar.setIconSize(QSize(18, 18))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for action in (self.open_action, None, self.import_action, self.reveal_action, None,
                       self.rename_action, self.delete_action, None, self.refresh_action):
            if action is None:
                self.toolbar.addSeparator()
            else:
                self.toolbar.addAction(action)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search_field)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.tree, 1)
        self.setAcceptDrops(True)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(_REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._refresh_timer.start())
        self._watcher.fileChanged.connect(lambda _path: self._refresh_timer.start())
        self.refresh()

    # -- public ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the library (cheap: manifests are cached by mtime and size)."""
        self._watch()
        self._entries = self.library.entries()
        self._rebuild()

    def entries(self) -> list[TemplateEntry]:
        """The entries currently shown (after the search filter)."""
        return [self._entry(item) for item in self._entry_items()]

    def selected_entry(self) -> TemplateEntry | None:
        items = self.tree.selectedItems()
        if items and items[0].data(0, KIND_ROLE) == ENTRY:
            return self._entry(items[0])
        return None

    def select_path(self, path: Path) -> bool:
        """Select the row for ``path``; False if it is not shown."""
        for item in self._entry_items():
            if self._entry(item).path == Path(path):
                self.tree.setCurrentItem(item)
                self.tree.scrollToItem(item)
                return True
        return False

    def import_files(self, paths: list[Path]) -> list[TemplateEntry]:
        """Import files into the library; the first error is shown, the rest still import."""
        imported: list[TemplateEntry] = []
        errors: list[str] = []
        for path in paths:
            try:
                imported.append(self.library.import_file(path))
            except EngineError as err:
                errors.append(str(err))
        self.refresh()
        if imported:
            self.select_path(imported[-1].path)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self._error("Import failed", errors[0] + more)
        return imported

    # -- actions -----------------------------------------------------------------------
    def _make_actions(self) -> None:
        def action(icon: str, text: str, slot, shortcut: QKeySequence | None = None) -> QAction:
            act = QAction(icons.icon(icon), text, self)
            act.setToolTip(text.rstrip("…"))
            act.triggered.connect(slot)
            if shortcut is not None:  # only while the list has focus, not the search field
                act.setShortcut(shortcut)
                act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                self.tree.addAction(act)
            return act

        self.open_action = action("new-playground", "Open as new playground", self.open_selected)
        self.import_action = action("import", "Import file…", self.import_dialog)
        self.reveal_action = action("reveal", "Reveal in file manager", self.reveal_selected)
        self.rename_action = action(
            "rename", "Rename…", self.rename_selected, QKeySequence(Qt.Key.Key_F2)
        )
        self.delete_action = action(
            "delete", "Delete", self.delete_selected, QKeySequence(QKeySequence.StandardKey.Delete)
        )
        self.refresh_action = action("refresh", "Refresh", self.refresh)
        self._update_actions()

    def _update_actions(self) -> None:
        entry = self.selected_entry()
        self.open_action.setEnabled(entry is not None and entry.error is None)
        writable = entry is not None and not entry.sample
        self.rename_action.setEnabled(writable and entry.error is None)
        self.delete_action.setEnabled(writable)

    def open_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        if entry.error:
            self._error("Cannot open template", entry.error)
            return
        self.open_requested.emit(entry.path)

    def import_dialog(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(
            self,
            "Import templates",
            str(Path.home()),
            f"Database templates (*{TEMPLATE_SUFFIX});;All files (*)",
        )
        if names:
            self.import_files([Path(name) for name in names])

    def reveal_selected(self) -> None:
        entry = self.selected_entry()
        folder = entry.path.parent if entry is not None else self._library_root()
        if folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def rename_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.sample:
            return
        name, ok = QInputDialog.getText(
            self, "Rename template", "New name:", QLineEdit.EchoMode.Normal,
            safe_text(entry.name),  # what the list shows, hidden characters made visible
        )
        if ok and name.strip() and name.strip() != entry.name:
            self._run(lambda: self.library.rename(entry, name), "Rename failed")

    def delete_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.sample:
            return
        if confirm_destructive(
            self,
            "Delete template",
            qt_text(f"Delete the template “{entry.name}”?"),
            "Delete",
            qt_text(f"The file {entry.path.name} is removed from your library."),
        ):
            self._run(lambda: self.library.delete(entry), "Delete failed")

    def _run(self, operation, title: str) -> None:
        try:
            result = operation()
        except EngineError as err:
            self._error(title, str(err))
            return
        self.refresh()
        if isinstance(result, TemplateEntry):
            self.select_path(result.path)

    def _error(self, title: str, message: str) -> None:
        """Errors quote file names and manifest text: shown escaped, never as markup."""
        QMessageBox.warning(self, title, qt_text(message))

    def _show_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        menu = QMenu(self)
        if item is not None and item.data(0, KIND_ROLE) == ENTRY:
            self.tree.setCurrentItem(item)
            menu.addAction(self.open_action)
            menu.setDefaultAction(self.open_action)
            menu.addSeparator()
            menu.addAction(self.rename_action)
            menu.addAction(self.delete_action)
            menu.addSeparator()
            menu.addAction(self.reveal_action)
        else:
            menu.addAction(self.import_action)
            menu.addAction(self.reveal_action)
            menu.addAction(self.refresh_action)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    # -- events ------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if watched is self.tree and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.open_selected()
                return True
            if watched is self.search_field and key == Qt.Key.Key_Down:
                items = self._entry_items()
                if items:
                    self.tree.setFocus()
                    self.tree.setCurrentItem(items[0])
                return True
        return super().eventFilter(watched, event)

    def dragEnterEvent(self, event) -> None:
        if self._dropped_templates(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        paths = self._dropped_templates(event)
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    @staticmethod
    def _dropped_templates(event) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [
            Path(url.toLocalFile())
            for url in mime.urls()
            if url.isLocalFile() and url.toLocalFile().lower().endswith(TEMPLATE_SUFFIX)
        ]

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, KIND_ROLE) == ENTRY:
            self.open_selected()

    # -- building the tree -------------------------------------------------------------
    def _rebuild(self) -> None:
        selected = self.selected_entry()
        keep = selected.path if selected is not None else None
        text = self.search_field.text()
        shown = [entry for entry in self._entries if matches(entry, text)]
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            mine = [e for e in shown if not e.sample]
            samples = [e for e in shown if e.sample]
            if text.strip():
                empty_mine = "No matching templates"
            else:
                empty_mine = "No templates yet: save a playground or import a file"
            self._add_group(MY_TEMPLATES, mine, empty_mine)
            if samples or not text.strip():
                self._add_group(SAMPLES, samples, "No sample templates installed")
        finally:
            self.tree.setUpdatesEnabled(True)
        if keep is None or not self.select_path(keep):
            self._update_actions()

    def _add_group(self, title: str, entries: list[TemplateEntry], empty_text: str) -> None:
        group = QTreeWidgetItem(self.tree, [f"{title}  ({len(entries)})"])
        group.setData(0, KIND_ROLE, GROUP)
        group.setData(0, ENTRY_ROLE, title)
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = QFont(self.tree.font())
        font.setBold(True)
        group.setFont(0, font)
        if not entries:
            placeholder = QTreeWidgetItem(group, [empty_text])
            placeholder.setData(0, KIND_ROLE, PLACEHOLDER)
            placeholder.setFlags(Qt.ItemFlag.ItemIsEnabled)
        for entry in entries:
            item = QTreeWidgetItem(group, [safe_text(entry.name)])
            item.setData(0, KIND_ROLE, ENTRY)
            item.setData(0, ENTRY_ROLE, entry)
            item.setToolTip(0, entry_tooltip(entry))
        group.setExpanded(title not in self._collapsed)

    def _entry_items(self) -> list[QTreeWidgetItem]:
        items = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in range(group.childCount()):
                child = group.child(c)
                if child.data(0, KIND_ROLE) == ENTRY:
                    items.append(child)
        return items

    @staticmethod
    def _entry(item: QTreeWidgetItem) -> TemplateEntry:
        return item.data(0, ENTRY_ROLE)

    @staticmethod
    def _group_key(item: QTreeWidgetItem) -> str:
        return str(item.data(0, ENTRY_ROLE))

    def _library_root(self) -> Path | None:
        try:
            return self.library.ensure_root()
        except EngineError as err:
            self._error("Template library", str(err))
            return None

    def _watch(self) -> None:
        """Watch the library and sample folders (created first, so a new library is seen)."""
        folders = [self._library_root(), self.library.samples_dir]
        wanted = {str(f) for f in folders if f is not None and f.is_dir()}
        current = set(self._watcher.directories())
        if current - wanted:
            self._watcher.removePaths(sorted(current - wanted))
        if wanted - current:
            self._watcher.addPaths(sorted(wanted - current))
