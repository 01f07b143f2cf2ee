"""The query history pane: search past runs, run one again or copy it into the editor.

Reads :class:`dbplay_desktop.history.QueryHistory` synchronously: a limited, indexed
query of the history's own file over at most ten thousand rows takes a few
milliseconds, less than handing it to a worker would cost. Typing in the search field
refreshes after a short pause.

The window records runs with ``history.add(...)`` (from any thread) and then calls
:meth:`HistoryPanel.refresh` on the UI thread, and connects :attr:`rerun_requested`
(double-click, "Run again") and :attr:`open_requested` ("Open in editor").
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.history import HistoryEntry, QueryHistory
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.confirm import confirm_destructive

__all__ = [
    "COLUMNS", "ENTRY_ROLE", "HistoryPanel", "format_elapsed", "format_when", "query_summary",
]  # fmt: skip

#: Column titles, in order.
COLUMNS = ("", "Time", "Database", "Query", "Elapsed", "Rows")
COL_STATUS, COL_TIME, COL_DATABASE, COL_QUERY, COL_ELAPSED, COL_ROWS = range(len(COLUMNS))
#: Item data role holding the :class:`HistoryEntry` of a row.
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_DELAY_MS = 200
DEFAULT_LIMIT = 500


def format_when(entry: HistoryEntry, now: datetime | None = None) -> str:
    """``14:03:21`` for today's runs, ``2024-05-01 14:03`` for older ones (local time)."""
    moment = entry.executed_at_local()
    today = (now or datetime.now().astimezone()).date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M")


#: Characters of a query shown in its one-line summary (the tooltip has the whole text).
SUMMARY_LENGTH = 300


def query_summary(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """The query on one line for the list: leading ``--`` comment lines (such as a
    template's header) skipped, white space collapsed, cut at ``limit`` characters.

    Showing only the first line made a formatted query read "SELECT c.name," and a run of
    a whole editor read "-- Shop".
    """
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip()
                                  or lines[start].lstrip().startswith("--")):
        start += 1
    body = lines[start:] if start < len(lines) else lines
    line = " ".join(" ".join(body).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def format_elapsed(seconds: float) -> str:
    """``850 ms``, ``2.41 s``, ``3 min 05 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _dot(color: str, size: int = 10) -> QIcon:
    """A small filled circle: green for success, red for failure."""
    pixmap = QPixmap(size * 2, size * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class HistoryPanel(QWidget):
    """Search field, a list of past runs and actions on the selected run.

    Signals carry the run's full text: ``rerun_requested`` to run it now in the active
    playground, ``open_requested`` to put it into the editor.
    """

    rerun_requested = Signal(str)
    open_requested = Signal(str)

    def __init__(
        self,
        history: QueryHistory,
        parent: QWidget | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.limit = limit
        self._connection: str | None = None
        self._ok_icon = _dot("#2da44e")
        self._error_icon = _dot("#d1242f")

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search history")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self.search_edit.textChanged.connect(self._search_timer.start)
        self.search_edit.returnPressed.connect(self.refresh)

        self.connection_only = QCheckBox("This connection only")
        self.connection_only.setToolTip("Show only runs on the current connection")
        self.connection_only.setVisible(False)
        self.connection_only.toggled.connect(self.refresh)

        self.rerun_action = self._action("Run again", "run", self._rerun_selected)
        self.rerun_action.setToolTip("Run this query again in the current playground")
        self.open_action = self._action("Open in editor", "open", self._open_selected)
        self.copy_action = self._action("Copy", "", self.copy_selected)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.copy_action)
        self.clear_action = self._action("Clear history…", "delete", self.clear_history)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.connection_only)
        for action in (self.rerun_action, self.open_action, self.copy_action, self.clear_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonTextBesideIcon
                if not action.icon().isNull()
                else Qt.ToolButtonStyle.ToolButtonTextOnly
            )
            button.setAutoRaise(True)
            top.addWidget(button)

        self.tree = QTreeWidget()
        self.tree.setObjectName("historyList")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.itemSelectionChanged.connect(self._update_actions)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for column in (COL_STATUS, COL_TIME, COL_DATABASE, COL_ELAPSED, COL_ROWS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_QUERY, QHeaderView.ResizeMode.Stretch)
        self.tree.headerItem().setTextAlignment(COL_ELAPSED, Qt.AlignmentFlag.AlignRight)
        self.tree.headerItem().setTextAlignment(COL_ROWS, Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self.refresh()

    def _action(self, text: str, icon_name: str, slot: object) -> QAction:
        action = QAction(icons.icon(icon_name) if icon_name else QIcon(), text, self)
        action.triggered.connect(slot)
        return action

    # -- data ----------------------------------------------------------------------------
    def set_connection(self, name: str | None) -> None:
        """Tell the panel which connection is active (offers "This connection only")."""
        self._connection = name
        self.connection_only.setVisible(name is not None)
        if name is None:
            self.connection_only.setChecked(False)
        self.connection_only.setToolTip(qt_text(f"Show only runs on {name}") if name else "")
        if self.connection_only.isChecked():
            self.refresh()

    def refresh(self) -> None:
        """Reload the list from the history, keeping the selected run selected."""
        self._search_timer.stop()
        selected = self.selected_entry()
        connection = self._connection if self.connection_only.isChecked() else None
        entries = self.history.search(
            self.search_edit.text(), limit=self.limit, connection=connection
        )
        now = datetime.now().astimezone()
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            items = [self._item(entry, now) for entry in entries]
            self.tree.addTopLevelItems(items)
            for item in items:
                if selected is not None and item.data(0, ENTRY_ROLE).id == selected.id:
                    self.tree.setCurrentItem(item)
                    break
        finally:
            self.tree.setUpdatesEnabled(True)
        self._update_actions()

    def _item(self, entry: HistoryEntry, now: datetime) -> QTreeWidgetItem:
        rows = "" if entry.rows < 0 else f"{entry.rows:,}"
        item = QTreeWidgetItem(
            ["", format_when(entry, now), safe_text(entry.database),
             safe_text(query_summary(entry.text)),
             format_elapsed(entry.elapsed_s), rows]
        )
        item.setData(0, ENTRY_ROLE, entry)
        item.setIcon(COL_STATUS, self._ok_icon if entry.ok else self._error_icon)
        item.setTextAlignment(COL_ELAPSED, Qt.AlignmentFlag.AlignRight)
        item.setTextAlignment(COL_ROWS, Qt.AlignmentFlag.AlignRight)
        moment = entry.executed_at_local().strftime("%Y-%m-%d %H:%M:%S")
        where = " / ".join(part for part in (entry.connection, entry.database) if part)
        tip = entry.text if len(entry.text) <= 4000 else entry.text[:4000] + "\n…"
        details = f"{moment}" + (f" on {where}" if where else "")
        if not entry.ok:
            details += f"\nError: {entry.error}" if entry.error else "\nFailed"
        # The query may hold "<b>" and the error is the server's: never guessed as markup.
        tooltip = qt_text(f"{tip}\n\n{details}", multiline=True)
        for column in range(len(COLUMNS)):
            item.setToolTip(column, tooltip)
        return item

    def entries(self) -> list[HistoryEntry]:
        """The runs currently listed, newest first."""
        return [
            self.tree.topLevelItem(i).data(0, ENTRY_ROLE)
            for i in range(self.tree.topLevelItemCount())
        ]

    def selected_entry(self) -> HistoryEntry | None:
        item = self.tree.currentItem()
        if item is None or not item.isSelected():
            return None
        return item.data(0, ENTRY_ROLE)

    def select_row(self, row: int) -> None:
        """Select the ``row``-th listed run (0 = newest)."""
        item = self.tree.topLevelItem(row)
        if item is not None:
            self.tree.setCurrentItem(item)

    # -- actions -------------------------------------------------------------------------
    def _update_actions(self) -> None:
        has = self.selected_entry() is not None
        for action in (self.rerun_action, self.open_action, self.copy_action):
            action.setEnabled(has)
        self.clear_action.setEnabled(self.tree.topLevelItemCount() > 0)

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        self.rerun_requested.emit(item.data(0, ENTRY_ROLE).text)

    def _rerun_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.rerun_requested.emit(entry.text)

    def _open_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.open_requested.emit(entry.text)

    def copy_selected(self) -> None:
        """Put the selected run's full text on the clipboard."""
        entry = self.selected_entry()
        if entry is not None:
            QGuiApplication.clipboard().setText(entry.text)

    def clear_history(self) -> None:
        """Forget all runs after asking."""
        if confirm_destructive(
            self, "Clear history", "Forget every query in the history?", "Clear history",
            "This cannot be undone.",
        ):
            self.history.clear()
            self.refresh()

    def _show_menu(self, position: QPoint) -> None:
        if self.tree.itemAt(position) is None:
            return
        menu = QMenu(self)
        menu.addAction(self.rerun_action)
        menu.addAction(self.open_action)
        menu.addAction(self.copy_action)
        menu.addSeparator()
        menu.addAction(self.clear_action)
        menu.exec(self.tree.viewport().mapToGlobal(position))
