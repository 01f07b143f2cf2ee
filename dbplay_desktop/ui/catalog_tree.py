"""The catalog dock: the active playground's schemas, tables, columns, indexes, functions.

The tree shows whatever :meth:`Session.catalog` returned for the playground in front; the
main window feeds it after a playground is ready, after statements that may have changed
the schema, and when the user presses Refresh. Double-clicking an item inserts its name
into the editor, which is quicker than typing a long quoted identifier.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.engines.base import CatalogItem
from dbplay_desktop.ui import icons

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
EMPTY_TEXT = "The database is empty.\nCreate a table to see it here."

# Kinds that open by default: the user wants to see tables right away, not their columns.
_EXPANDED_KINDS = frozenset({"database", "schema"})
# Kinds shown with the database icon; the rest go without an icon to keep the tree calm.
_CONTAINER_KINDS = frozenset({"database", "schema"})
_KIND_LABELS = {
    "table": "table",
    "view": "view",
    "materialized view": "mat. view",
    "partitioned table": "partitioned",
    "foreign table": "foreign",
    "function": "function",
    "procedure": "procedure",
    "sequence": "sequence",
    "type": "type",
    "index": "index",
    "collection": "collection",
}


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
    def set_items(self, items: list[CatalogItem]) -> None:
        """Show ``items``, keeping which nodes were open where the names still exist."""
        expanded = self._expanded_paths()
        first = not self._items
        self._items = list(items)
        self.tree.clear()
        for item in self._items:
            self.tree.addTopLevelItem(self._make_item(item))
        if first or not expanded:
            self._expand_defaults(self.tree.invisibleRootItem())
        else:
            self._restore_expanded(self.tree.invisibleRootItem(), expanded, ())
        self.tree.resizeColumnToContents(0)
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
        """Every node's name (for tests and completion)."""
        return [node.name for item in self._items for node in item.walk()]

    # -- building ----------------------------------------------------------------------
    def _make_item(self, item: CatalogItem) -> QTreeWidgetItem:
        node = QTreeWidgetItem([item.name, item.detail or _KIND_LABELS.get(item.kind, "")])
        node.setData(0, ITEM_ROLE, item)
        tooltip = f"{item.kind}: {item.name}" + (f" ({item.detail})" if item.detail else "")
        node.setToolTip(0, tooltip)
        node.setForeground(1, QBrush(self.palette().color(QPalette.ColorRole.PlaceholderText)))
        if item.kind in _CONTAINER_KINDS:
            node.setIcon(0, icons.icon("database"))
        for child in item.children:
            node.addChild(self._make_item(child))
        return node

    def _expand_defaults(self, parent: QTreeWidgetItem) -> None:
        for i in range(parent.childCount()):
            child = parent.child(i)
            item: CatalogItem = child.data(0, ITEM_ROLE)
            if item.kind in _EXPANDED_KINDS:
                child.setExpanded(True)
                self._expand_defaults(child)

    def _expanded_paths(self) -> set[tuple[str, ...]]:
        paths: set[tuple[str, ...]] = set()

        def visit(parent: QTreeWidgetItem, prefix: tuple[str, ...]) -> None:
            for i in range(parent.childCount()):
                child = parent.child(i)
                path = (*prefix, child.text(0))
                if child.isExpanded():
                    paths.add(path)
                visit(child, path)

        visit(self.tree.invisibleRootItem(), ())
        return paths

    def _restore_expanded(
        self, parent: QTreeWidgetItem, expanded: set[tuple[str, ...]], prefix: tuple[str, ...]
    ) -> None:
        for i in range(parent.childCount()):
            child = parent.child(i)
            path = (*prefix, child.text(0))
            item: CatalogItem = child.data(0, ITEM_ROLE)
            if path in expanded or (item.kind in _EXPANDED_KINDS and not prefix):
                child.setExpanded(True)
            self._restore_expanded(child, expanded, path)

    # -- interaction -------------------------------------------------------------------
    def _apply_filter(self, text: str) -> None:
        words = text.casefold().split()

        def visit(node: QTreeWidgetItem) -> bool:
            own = all(word in node.text(0).casefold() for word in words)
            any_child = False
            for i in range(node.childCount()):
                any_child = visit(node.child(i)) or any_child
            visible = not words or own or any_child
            node.setHidden(not visible)
            if words and any_child:
                node.setExpanded(True)
            return visible

        root = self.tree.invisibleRootItem()
        for i in range(root.childCount()):
            visit(root.child(i))

    def _on_double_click(self, node: QTreeWidgetItem, _column: int) -> None:
        item: CatalogItem | None = node.data(0, ITEM_ROLE)
        if item is not None and item.kind not in _CONTAINER_KINDS:
            self.insert_requested.emit(item.insert_text or item.name)
