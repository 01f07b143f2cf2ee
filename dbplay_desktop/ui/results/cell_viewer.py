"""A dialog that shows one cell in full: long text, pretty JSON, a document tree, a hex dump.

The grid only previews values (one line, cut at a few hundred characters); this is where a
user reads a whole document, a JSON column or a binary value, and copies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.ui.menu_text import use_sentence_case_menu
from dbplay_desktop.ui.results.values import (
    MISSING,
    MISSING_TOOLTIP,
    Vector,
    display_text,
    json_text,
    normalize,
    parse_json_text,
    plain_text,
    type_label,
)

#: Bytes shown in the hex view; beyond that the view says how many more there are.
HEX_LIMIT = 256 * 1024
#: Nodes put into the document tree; a huge document is cut with a note.
TREE_NODE_LIMIT = 20_000


def hex_dump(data: bytes, limit: int = HEX_LIMIT) -> str:
    """Offset, 16 hex bytes and their printable ASCII per line, like ``hexdump -C``."""
    lines = []
    shown = data[:limit]
    for offset in range(0, len(shown), 16):
        chunk = shown[offset : offset + 16]
        hex_part = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part:<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes")
    return "\n".join(lines)


def _type_label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return f"object ({len(value)})"
    if isinstance(value, (list, tuple)):
        return f"array ({len(value)})"
    if isinstance(value, Vector):
        return f"vector ({len(value):,} float{'32' if value.typecode == 'f' else '64'})"
    return type_label(value)  # names an engine's own types too (Tagged values)


class DocumentTreeModel(QStandardItemModel):
    """Key / value / type rows for a dict/list document, nested as in the document."""

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(["Key", "Value", "Type"])
        self.truncated = False
        self._budget = TREE_NODE_LIMIT
        self._add_children(self.invisibleRootItem(), document)

    def _add_children(self, parent: QStandardItem, value: Any) -> None:
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, child in items:
            if self._budget <= 0:
                self.truncated = True
                parent.appendRow([QStandardItem("…"), QStandardItem("(more not shown)")])
                return
            self._budget -= 1
            container = isinstance(child, (Mapping, list, tuple))
            row = [
                QStandardItem(str(key)),
                QStandardItem("" if container else display_text(child)),
                QStandardItem(_type_label(child)),
            ]
            for item in row:
                item.setEditable(False)
            parent.appendRow(row)
            if container:
                self._add_children(row[0], child)


class CellViewer(QDialog):
    """Shows ``value`` in full; ``title`` is usually the column name and type.

    Non-modal by default: ``CellViewer(value, "payload: jsonb", parent).show()``.
    """

    def __init__(self, value: Any, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Value — {title}" if title else "Value")
        self.value = value
        self.resize(720, 520)
        value = normalize(value)  # driver arrays and scalars as the formatter's own types
        document = value if isinstance(value, (Mapping, list, tuple)) else parse_json_text(value)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.tabs = QTabWidget(self)
        self.text_view = QPlainTextEdit(self)
        self.text_view.setReadOnly(True)
        use_sentence_case_menu(self.text_view)
        self.text_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.tree_view: QTreeView | None = None
        self.hex_view: QPlainTextEdit | None = None

        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            self.copy_text = plain_text(data)
            self.hex_view = QPlainTextEdit(hex_dump(data), self)
            self.hex_view.setReadOnly(True)
            use_sentence_case_menu(self.hex_view)
            self.hex_view.setFont(mono)
            self.hex_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            self.tabs.addTab(self.hex_view, "Hex")
            self.text_view.setPlainText(self.copy_text)
            self.text_view.setFont(mono)
            self.tabs.addTab(self.text_view, "\\x text")
            summary = f"{len(data):,} bytes"
        elif document is not None:
            self.copy_text = json_text(document, indent=2)
            self.text_view.setPlainText(self.copy_text)
            self.text_view.setFont(mono)
            self.tabs.addTab(self.text_view, "JSON")
            tree_model = DocumentTreeModel(document, self)
            self.tree_view = QTreeView(self)
            self.tree_view.setModel(tree_model)
            self.tree_view.setUniformRowHeights(True)
            self.tree_view.expandToDepth(0)
            self.tree_view.setColumnWidth(0, 200)
            self.tabs.addTab(self.tree_view, "Tree")
            summary = _type_label(document)
        elif isinstance(value, Vector):
            self.copy_text = plain_text(value)  # every float, exactly
            self.text_view.setPlainText(self.copy_text)
            self.text_view.setFont(mono)
            self.tabs.addTab(self.text_view, "Vector")
            summary = _type_label(value)
        elif value is MISSING:
            self.copy_text = ""
            self.text_view.setPlainText(MISSING_TOOLTIP)
            self.tabs.addTab(self.text_view, "Text")
            summary = "absent"
        else:
            self.copy_text = plain_text(value) if value is not None else ""
            self.text_view.setPlainText(self.copy_text if value is not None else "NULL")
            self.tabs.addTab(self.text_view, "Text")
            summary = f"{len(self.copy_text):,} characters"

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy", self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        # The window title may be hidden (tiling window managers, tabs): name the column
        # above the value too.
        self.summary_label = QLabel(f"{title} — {summary}" if title else summary, self)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def copy_to_clipboard(self) -> None:
        """Copy the full value (pretty JSON for documents, ``\\x`` hex for bytes)."""
        QGuiApplication.clipboard().setText(self.copy_text)
