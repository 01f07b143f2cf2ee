"""The catalog dock: the active playground's schemas, tables, columns, indexes, functions.

The tree shows whatever :meth:`Session.catalog` returned for the playground in front,
grouped into folders by kind ("Tables (4)", "Views (1)", a table's "Indexes"; see
:mod:`.catalog_groups`); the main window feeds it after a playground is ready, after
statements that may have changed the schema, and when the user presses Refresh.
Double-clicking an item inserts its name into the editor, which is quicker than typing a
long quoted identifier. The filter matches object names, never folder names, and shows
the folders that hold a match.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QStyle,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.engines.base import CatalogItem
from dbplay_desktop.engines.descriptor import CatalogKind
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.playground.catalog_groups import (
    CONTAINER_KINDS,
    MEMBER_KINDS,
    DisplayNode,
    display_tree,
    kind_icon,
    opens_by_default,
)

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
#: A row's stable identity among its siblings (see :attr:`DisplayNode.key`).
KEY_ROLE = Qt.ItemDataRole.UserRole + 2
#: The most of the tree's width the name column takes when names are long.
NAME_COLUMN_SHARE = 0.6
EMPTY_TEXT = "The database is empty.\nCreate a table to see it here."

#: Icons (files in resources/icons) a kind the engine gives no icon may still have.
_CATALOG_ICONS = frozenset({"database", "table", "view", "function", "index", "column"})

RowPath = tuple[str, ...]


class CatalogTree(QWidget):
    """A searchable tree of :class:`CatalogItem` nodes with a Refresh action."""

    #: The user asked for a fresh catalog of the active playground.
    refresh_requested = Signal()
    #: Text to insert into the active editor (an item's ``insert_text`` or name).
    insert_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("catalogTree")
        self._items: list[CatalogItem] = []
        self._kinds: tuple[CatalogKind, ...] = ()

        self.filter_field = QLineEdit(self)
        self.filter_field.setPlaceholderText("Filter objects")
        self.filter_field.setClearButtonEnabled(True)
        self.filter_field.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.filter_field.textChanged.connect(self._apply_filter)

        self.refresh_action = QAction(icons.icon("refresh"), "Refresh catalog", self)
        self.refresh_action.triggered.connect(self.refresh_requested)
        toolbar = QToolBar(self)
        toolbar.setIconSize(QSize(16, 16))
        toolbar.addAction(self.refresh_action)

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Name", "Type"])
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(14)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        # Names sit deeper inside folders: fit the name column to what is open now.
        self.tree.itemExpanded.connect(self._fit_names)
        self.tree.itemCollapsed.connect(self._fit_names)

        self.placeholder = QLabel("No playground open.", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter_field)
        layout.addWidget(toolbar)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.placeholder, 1)
        self.set_message("No playground open.")

    # -- feeding -----------------------------------------------------------------------
    def set_items(
        self, items: list[CatalogItem], kinds: Sequence[CatalogKind] | None = None
    ) -> None:
        """Show ``items``, keeping rows open or closed where they still exist.

        ``kinds`` are the engine's catalog kinds (folders, icons, labels; see
        ``EngineDescriptor.catalog_kinds``); ``None`` keeps the ones shown last.
        """
        states = self._open_states()
        self._items = list(items)
        if kinds is not None:
            self._kinds = tuple(kinds)
        self.tree.clear()
        for node in display_tree(self._items, self._kinds):
            self.tree.addTopLevelItem(self._make_row(node))
        self._set_open_states(self.tree.invisibleRootItem(), None, states, ())
        if self._items:
            self.tree.show()
            self.placeholder.hide()
        else:
            self.set_message(EMPTY_TEXT, clear=False)
        self._apply_filter(self.filter_field.text())

    def set_message(self, text: str, *, clear: bool = True) -> None:
        """Show a short message instead of the tree (no playground, loading, failure)."""
        if clear:
            self._items = []
            self.tree.clear()
        self.placeholder.setText(text)
        self.tree.hide()
        self.placeholder.show()

    def items(self) -> list[CatalogItem]:
        return list(self._items)

    def names(self) -> list[str]:
        """Every object's name, folders not included (for tests and completion)."""
        return [node.name for item in self._items for node in item.walk()]

    # -- building ----------------------------------------------------------------------
    def _make_row(self, node: DisplayNode) -> QTreeWidgetItem:
        row = QTreeWidgetItem([node.label, node.detail])
        row.setData(0, ITEM_ROLE, node)
        row.setData(0, KEY_ROLE, node.key)
        row.setForeground(1, QBrush(self.palette().color(QPalette.ColorRole.PlaceholderText)))
        item = node.item
        if item is None:
            row.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon))
            row.setToolTip(0, node.label)
        else:
            tooltip = f"{item.kind}: {item.name}" + (f" ({item.detail})" if item.detail else "")
            row.setToolTip(0, tooltip)
            if node.detail:
                row.setToolTip(1, node.detail)
            icon_name = self._icon_name(item.kind)
            if icon_name:
                row.setIcon(0, icons.icon(icon_name))
        for child in node.children:
            row.addChild(self._make_row(child))
        return row

    def _icon_name(self, kind: str) -> str:
        """The engine's icon for ``kind``; else an icon named like it, else a generic one
        for containers and members, else none."""
        named = kind_icon(kind, self._kinds)
        if named:
            return named
        if kind in _CATALOG_ICONS:
            return kind
        if kind in CONTAINER_KINDS:
            return "database"
        return "column" if kind in MEMBER_KINDS else ""

    def _open_states(self) -> dict[RowPath, bool]:
        """Which rows are open now, by their key path (folders by name, not by count)."""
        states: dict[RowPath, bool] = {}

        def visit(parent: QTreeWidgetItem, prefix: RowPath) -> None:
            for i in range(parent.childCount()):
                child = parent.child(i)
                path = (*prefix, child.data(0, KEY_ROLE))
                states[path] = child.isExpanded()
                visit(child, path)

        visit(self.tree.invisibleRootItem(), ())
        return states

    def _set_open_states(
        self,
        parent: QTreeWidgetItem,
        parent_node: DisplayNode | None,
        states: dict[RowPath, bool],
        prefix: RowPath,
    ) -> None:
        """Open rows as they were; rows new to the tree open by the defaults."""
        for i in range(parent.childCount()):
            child = parent.child(i)
            node: DisplayNode = child.data(0, ITEM_ROLE)
            path = (*prefix, node.key)
            is_open = states.get(path)
            if is_open is None:
                is_open = opens_by_default(node, parent_node)
            child.setExpanded(is_open)
            self._set_open_states(child, node, states, path)

    # -- interaction -------------------------------------------------------------------
    def _apply_filter(self, text: str) -> None:
        words = text.casefold().split()

        def visit(row: QTreeWidgetItem) -> bool:
            node: DisplayNode = row.data(0, ITEM_ROLE)
            own = not node.is_folder and all(word in node.label.casefold() for word in words)
            any_child = False
            for i in range(row.childCount()):
                any_child = visit(row.child(i)) or any_child
            visible = not words or own or any_child
            row.setHidden(not visible)
            if words and any_child:
                row.setExpanded(True)
            return visible

        root = self.tree.invisibleRootItem()
        for i in range(root.childCount()):
            visit(root.child(i))
        self._fit_names()

    def _fit_names(self, *_args: object) -> None:
        """Fit the name column to the open rows, leaving room to see the types beside it
        (a long name is elided; its tooltip has it in full)."""
        self.tree.resizeColumnToContents(0)
        room = self.tree.viewport().width()
        if self.tree.isVisible() and room > 160:
            limit = int(room * NAME_COLUMN_SHARE)
            if self.tree.columnWidth(0) > limit:
                self.tree.setColumnWidth(0, limit)

    def _on_double_click(self, row: QTreeWidgetItem, _column: int) -> None:
        node: DisplayNode | None = row.data(0, ITEM_ROLE)
        item = node.item if node is not None else None
        if item is not None and item.kind not in CONTAINER_KINDS:
            self.insert_requested.emit(item.insert_text or item.name)

    # -- for tests and screenshots -------------------------------------------------------
    def row_labels(self, *, visible_only: bool = False) -> list[tuple[str, ...]]:
        """Every row as its path of labels ("public", "Tables (2)", "orders"), in order."""
        rows: list[tuple[str, ...]] = []

        def visit(parent: QTreeWidgetItem, prefix: tuple[str, ...]) -> None:
            for i in range(parent.childCount()):
                child = parent.child(i)
                if visible_only and child.isHidden():
                    continue
                path = (*prefix, child.text(0))
                rows.append(path)
                visit(child, path)

        visit(self.tree.invisibleRootItem(), ())
        return rows

    def find_row(self, *labels: str) -> QTreeWidgetItem | None:
        """The row at a path of labels, e.g. ``find_row("public", "Tables (2)", "orders")``."""
        parent = self.tree.invisibleRootItem()
        for label in labels:
            match = next(
                (parent.child(i) for i in range(parent.childCount())
                 if parent.child(i).text(0) == label),
                None,
            )
            if match is None:
                return None
            parent = match
        return parent if labels else None
