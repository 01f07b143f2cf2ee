"""The Messages pane of a playground: one line per statement, notice or error of a run.

Every line remembers where its statement (or error) sits in the editor, so activating a
line puts the cursor there -- the quickest way from "line 4: column does not exist" back
to the text that caused it. An error's code, detail and hint are lines of their own under
it (one line each stays readable; one long line would not), and statements a failure or a
cancel kept from running are listed greyed as "Not run".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.results.run_clock import format_elapsed

POSITION_ROLE = Qt.ItemDataRole.UserRole + 1

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class MessagesPane(QTreeWidget):
    """Columns: statement number, line, message, time. Errors in red, notices greyed."""

    #: A line with a known position was activated: the offset in the editor's text.
    position_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messages")
        self.setColumnCount(4)
        self.setHeaderLabels(["#", "Line", "Message", "Time"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setWordWrap(False)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.itemActivated.connect(self._on_item_activated)

    def add_message(
        self,
        index: int,
        line: int,
        text: str,
        elapsed: float | None,
        position: int | None,
        *,
        kind: str = "ok",
        details: Sequence[str] = (),
    ) -> None:
        """Append a line: ``index`` is the 0-based statement (-1: the run as a whole),
        ``line`` its 1-based line (0: unknown), ``kind`` one of ok, notice, error, skipped;
        ``details`` are shown as lines under it (an error's code, detail and hint).
        ``text`` is often the server's (or a template's) words: it is shown escaped."""
        text = safe_text(text)
        item = QTreeWidgetItem(
            [str(index + 1) if index >= 0 else "", str(line) if line else "", text,
             format_elapsed(elapsed)]
        )
        item.setTextAlignment(0, _RIGHT)
        item.setTextAlignment(1, _RIGHT)
        item.setTextAlignment(3, _RIGHT)
        item.setToolTip(2, qt_text(text))
        item.setData(0, POSITION_ROLE, position)
        item.setData(1, POSITION_ROLE, kind)
        if kind == "error":
            item.setIcon(2, icons.icon("warning"))
            item.setForeground(2, QBrush(Qt.GlobalColor.red))
        elif kind in ("notice", "skipped"):
            color = self.palette().color(QPalette.ColorRole.PlaceholderText)
            item.setForeground(2, QBrush(color))
            for column in (0, 1):
                item.setForeground(column, QBrush(color))
        self.addTopLevelItem(item)
        last = item
        for detail in details:
            child = QTreeWidgetItem(["", "", safe_text(detail), ""])
            child.setToolTip(2, qt_text(detail))
            child.setData(0, POSITION_ROLE, position)
            child.setData(1, POSITION_ROLE, "detail")
            item.addChild(child)
            last = child
        item.setExpanded(True)
        self.scrollToItem(last)

    def texts(self) -> list[str]:
        """The message column of every line (not the details under it), in order."""
        return [self.topLevelItem(i).text(2) for i in range(self.topLevelItemCount())]

    def details(self, row: int) -> list[str]:
        """The lines under line ``row`` (an error's code, detail and hint)."""
        item = self.topLevelItem(row)
        return [item.child(i).text(2) for i in range(item.childCount())]

    def kinds(self) -> list[str]:
        """The kind of every line (ok, notice, error, skipped), in order."""
        return [str(self.topLevelItem(i).data(1, POSITION_ROLE))
                for i in range(self.topLevelItemCount())]

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        position = item.data(0, POSITION_ROLE)
        if isinstance(position, int):
            self.position_activated.emit(position)
