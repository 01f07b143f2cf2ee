"""The document tree beside the grid: the selected row of a document result, in full.

The grid shows one line per document, nested values as their size (``{3 fields}``,
``[12 items]``); this pane shows the current row's document as a tree of *Field | Value |
Type*, types named by :func:`dbplay_desktop.values.type_label` (``ObjectId``, ``Date``,
``Int64`` ... come from the engine as :class:`~dbplay_desktop.values.Tagged` values),
array elements by their index (``[0]``, ``[1]``, ...).

It stays cheap however big the document is: nothing is built until it is shown. A node's
children are made :data:`CHUNK` at a time, when the node is expanded and then as the view
scrolls to its last child (Qt's ``canFetchMore`` / ``fetchMore`` per parent), so a field
holding 100,000 elements costs one chunk until someone scrolls through it, and a document
with thousands of fields opens with its first chunk only.

A node's context menu copies its value: as exact text (what a grid copy writes), as JSON,
or its path (``address.lines.0``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeView, QWidget

from dbplay_desktop.ui.results.values import (
    MISSING,
    MISSING_TOOLTIP,
    json_text,
    plain_text,
    summary_text,
    tooltip_text,
    type_label,
)

__all__ = ["CHUNK", "DocumentTree", "DocumentTreeModel"]

#: Children a node is given at a time (on expanding it, then as the view scrolls).
CHUNK = 200
#: Role that returns a node's raw Python value.
NodeValueRole = int(Qt.ItemDataRole.UserRole) + 1

FIELD, VALUE, TYPE = range(3)
_HEADERS = ("Field", "Value", "Type")
_ROOT = QModelIndex()


def _container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _children_of(value: Any) -> Iterator[tuple[str, Any]]:
    """A container's children as (key text, value); absent fields are left out, as JSON
    leaves them out."""
    if isinstance(value, Mapping):
        return ((str(k), v) for k, v in value.items() if v is not MISSING)
    return ((f"[{i}]", v) for i, v in enumerate(value))


class _Node:
    """One field or element; its children are made on demand, a chunk at a time."""

    __slots__ = ("_source", "children", "key", "parent", "path", "row", "total", "value")

    def __init__(self, parent: _Node | None, row: int, key: str, value: Any,
                 path: tuple[str, ...]) -> None:  # fmt: skip
        self.parent = parent
        self.row = row
        self.key = key
        self.value = value
        self.path = path
        self.children: list[_Node] = []
        self.total = len(value) if _container(value) else 0
        self._source: Iterator[tuple[str, Any]] | None = None

    @property
    def pending(self) -> int:
        return self.total - len(self.children)

    def take(self, count: int) -> list[_Node]:
        """The next ``count`` children (fewer at the end)."""
        if self._source is None:
            self._source = _children_of(self.value)
        made = []
        first = len(self.children)
        for offset, (key, value) in enumerate(islice(self._source, count)):
            step = key[1:-1] if key.startswith("[") and key.endswith("]") else key
            made.append(_Node(self, first + offset, key, value, (*self.path, step)))
        if len(made) < count:  # the source ran out (absent fields were skipped)
            self.total = first + len(made)
        return made


class DocumentTreeModel(QAbstractItemModel):
    """*Field | Value | Type* rows of one document, built lazily (see the module)."""

    def __init__(self, parent: QWidget | None = None, *, chunk: int = CHUNK) -> None:
        super().__init__(parent)
        self.chunk = max(1, chunk)
        self._root = _Node(None, 0, "", {}, ())
        self._italic: QFont | None = None

    # -------------------------------------------------------------- content
    def set_document(self, document: Any) -> None:
        """Show ``document`` (a mapping or an array; any other value as one ``value``
        field); ``None`` shows nothing."""
        if document is None:
            document = {}
        elif not _container(document):
            document = {"value": document}
        self._set_root(_Node(None, 0, "", document, ()))

    def set_row(self, names: Sequence[str], cells: Sequence[Any]) -> None:
        """Show a grid row as its document: each column a field (absent ones left out)."""
        pairs = [(name, value) for name, value in zip(names, cells, strict=False)
                 if value is not MISSING]  # fmt: skip
        root = _Node(None, 0, "", {}, ())
        root.total, root._source = len(pairs), iter(pairs)  # names may repeat: no dict
        self._set_root(root)

    def _set_root(self, root: _Node) -> None:
        self.beginResetModel()
        self._root = root
        root.children.extend(root.take(self.chunk))
        self.endResetModel()

    def node_count(self) -> int:
        """Nodes made so far (what the laziness keeps small)."""
        count, stack = 0, [self._root]
        while stack:
            node = stack.pop()
            count += len(node.children)
            stack.extend(node.children)
        return count

    def _node(self, index: QModelIndex | QPersistentModelIndex) -> _Node:
        if not index.isValid():
            return self._root
        node = index.internalPointer()
        assert isinstance(node, _Node)
        return node

    def value(self, index: QModelIndex | QPersistentModelIndex) -> Any:
        """The raw value of the node at ``index`` (the whole document for the root)."""
        node = self._node(index)
        return node.value

    def path(self, index: QModelIndex | QPersistentModelIndex) -> str:
        """The node's dotted path (``address.lines.0``), as document queries name it."""
        return ".".join(self._node(index).path)

    # -------------------------------------------------------------- Qt model
    def index(self, row: int, column: int,
              parent: QModelIndex | QPersistentModelIndex = _ROOT) -> QModelIndex:  # fmt: skip
        node = self._node(parent)
        if not (0 <= row < len(node.children) and 0 <= column < len(_HEADERS)):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: QModelIndex | QPersistentModelIndex = _ROOT) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node = self._node(index).parent
        if node is None or node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return len(_HEADERS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        return self._node(parent).total > 0

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        return self._node(parent).pending > 0

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:
        node = self._node(parent)
        if node.pending <= 0:
            return
        made = node.take(min(self.chunk, node.pending))
        if not made:
            return
        first = len(node.children)
        self.beginInsertRows(parent if parent.isValid() else QModelIndex(),
                             first, first + len(made) - 1)  # fmt: skip
        node.children.extend(made)
        self.endInsertRows()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        node = self._node(index)
        value, column, role = node.value, index.column(), int(role)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == FIELD:
                return node.key
            if column == VALUE:
                return summary_text(value)
            return type_label(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == VALUE and not _container(value):
                return tooltip_text(value)
            if column == TYPE and value is MISSING:
                return MISSING_TOOLTIP
            if column == FIELD:
                return ".".join(node.path)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == VALUE:
            if value is None or _container(value):
                color = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
                return QBrush(color)
            return None
        if role == Qt.ItemDataRole.FontRole and column == VALUE and value is None:
            if self._italic is None:
                self._italic = QFont(QGuiApplication.font())
                self._italic.setItalic(True)
            return self._italic
        if role == NodeValueRole:
            return value
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if (orientation == Qt.Orientation.Horizontal and int(role) == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(_HEADERS)):  # fmt: skip
            return _HEADERS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class DocumentTree(QTreeView):
    """The pane: a :class:`DocumentTreeModel` view with a copy menu per node."""

    #: A copy put this text on the clipboard (for a status line).
    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentTree")
        self.tree_model = DocumentTreeModel(self)
        self.setModel(self.tree_model)
        self.setUniformRowHeights(True)  # cheap layout however many nodes are shown
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(FIELD, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(TYPE, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(FIELD, 140)
        self.setColumnWidth(TYPE, 80)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        # Qt fetches an expanded node's first children at its next layout; at once here,
        # so an expanded node is never seen empty.
        self.expanded.connect(self._on_expanded)
        self.copy_action = QAction("Copy value", self)
        self.copy_action.setShortcut("Ctrl+C")
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(lambda: self.copy_value(self.currentIndex()))
        self.addAction(self.copy_action)

    def _on_expanded(self, index: QModelIndex) -> None:
        model = self.tree_model
        if model.rowCount(index) == 0 and model.canFetchMore(index):
            model.fetchMore(index)

    def show_row(self, names: Sequence[str], cells: Sequence[Any]) -> None:
        """Show a grid row as its document."""
        self.tree_model.set_row(names, cells)

    def show_document(self, document: Any) -> None:
        self.tree_model.set_document(document)

    def clear(self) -> None:
        self.tree_model.set_document(None)

    # -------------------------------------------------------------- copies
    def value_text(self, index: QModelIndex, fmt: str = "text") -> str:
        """A node's value as exact text (``text``), JSON (``json``, documents pretty) or
        its dotted path (``path``)."""
        if fmt == "path":
            return self.tree_model.path(index)
        value = self.tree_model.value(index)
        if fmt == "json":
            return json_text(value, indent=2 if _container(value) else None)
        return plain_text(value) if value is not None else ""

    def copy_value(self, index: QModelIndex, fmt: str = "text") -> str:
        if not index.isValid():
            return ""
        text = self.value_text(index, fmt)
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)
        return text

    def build_menu(self, index: QModelIndex) -> QMenu:
        """A node's context menu (also for tests)."""
        menu = QMenu(self)
        valid = index.isValid()
        entries = (
            ("Copy value", "text"),
            ("Copy value as JSON", "json"),
            ("Copy field path", "path"),
        )
        kept = QPersistentModelIndex(index)  # the menu may outlive a reset of the model
        for label, fmt in entries:
            action = menu.addAction(label)
            action.setEnabled(valid)
            action.triggered.connect(
                lambda _=False, f=fmt: self.copy_value(QModelIndex(kept), f))
        return menu

    def _show_menu(self, position: Any) -> None:
        index = self.indexAt(position)
        if index.isValid():
            self.build_menu(index.siblingAtColumn(FIELD)).popup(
                self.viewport().mapToGlobal(position))
