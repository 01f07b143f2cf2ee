"""Column widths that follow a result as it streams in, without measuring every cell.

The first batch of a result rarely holds its widest values (``generate_series`` counts
up: 1,000 rows of four digits, then six), so sizing once leaves "1…" and "9…" in the
grid. Measuring every cell of 100,000 rows on the UI thread would freeze it instead.
:class:`ColumnWidths` does what DBeaver and other database browsers do in spirit:

* each new batch is *sampled* -- a bounded number of rows spread over the batch, its
  first and last row included (counting columns grow towards the end);
* widths only ever *widen*, rounded up to a step so a column does not twitch on every
  batch; text stops at :data:`MAX_TEXT_WIDTH`, numbers at the far larger
  :data:`MAX_NUMBER_WIDTH` (a number cut short reads as another number);
* the header's own text always fits;
* a column the user resized is left alone; a double-click on its header edge fits it
  to the widest sampled value and the rows on screen, and lets it follow the data again.

:class:`NumberFitDelegate` is the safety net for the rows the sample missed: a number
painted into a column too narrow for it widens that column (when it follows the data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from dbplay_desktop.ui.results.values import display_text, is_number

if TYPE_CHECKING:
    from dbplay_desktop.ui.results.model import ResultsModel

#: Widest a text column grows by itself (pixels); users can drag or fit it wider.
MAX_TEXT_WIDTH = 320
#: Widest a numeric column grows by itself: numbers are never cut, within reason.
MAX_NUMBER_WIDTH = 900
#: Cells measured per batch at most (spread over the columns), and rows per batch.
SAMPLE_CELLS = 2_000
MAX_SAMPLE_ROWS = 64
MIN_SAMPLE_ROWS = 4


def sample_rows(start: int, end: int, count: int) -> list[int]:
    """Up to ``count`` row numbers spread evenly over ``[start, end)``, both ends included."""
    size = end - start
    if size <= 0:
        return []
    if size <= count:
        return list(range(start, end))
    if count <= 1:
        return [end - 1]
    step = (size - 1) / (count - 1)
    return sorted({start + round(i * step) for i in range(count)})


class ColumnWidths(QObject):
    """Keeps a table's column widths in step with the rows sampled from its model."""

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self.table = table
        self._model: ResultsModel | None = None
        #: Widest sampled content per column: capped (auto widths) and uncapped (fits).
        self._auto_needed: list[int] = []
        self._full_needed: list[int] = []
        #: Columns that follow the data (False once the user resized them).
        self._follows: list[bool] = []
        self._sampled_upto = 0
        self._applying = False
        self._italic: QFont | None = None
        header = table.horizontalHeader()
        header.sectionResized.connect(self._on_section_resized)
        # Connected after QTableView's own fit (resizeColumnToContents), so this runs last.
        header.sectionHandleDoubleClicked.connect(self._on_fitted)

    # -------------------------------------------------------------- feeding
    def reset(self, model: ResultsModel) -> None:
        """A new result (or new columns): forget the widths and follow every column."""
        self._model = model
        count = model.columnCount()
        self._auto_needed = [0] * count
        self._full_needed = [0] * count
        self._follows = [True] * count
        self._sampled_upto = 0
        header = self.table.horizontalHeader()
        for column in range(count):  # from the header's own width, not Qt's default 100 px
            self._resize(column, header.sectionSizeHint(column))
        if count:
            self.sample()

    def _add_columns(self, count: int) -> None:
        """Columns appended to the model: they follow the data, the others keep theirs
        (the rows before them are empty there, nothing to measure)."""
        first = len(self._follows)
        added = count - first
        self._auto_needed.extend([0] * added)
        self._full_needed.extend([0] * added)
        self._follows.extend([True] * added)
        header = self.table.horizontalHeader()
        for column in range(first, count):
            self._resize(column, header.sectionSizeHint(column))

    def sample(self) -> None:
        """Measure a sample of the rows received since the last call and widen to fit."""
        model = self._model
        if model is not None and model.columnCount() > len(self._follows) > 0:
            self._add_columns(model.columnCount())  # found while streaming: keep the rest
        if model is None or model.columnCount() != len(self._follows):
            if model is not None:
                self.reset(model)
            return
        columns = model.columnCount()
        end = model.received_count
        if columns == 0:
            return
        per_batch = max(MIN_SAMPLE_ROWS, min(MAX_SAMPLE_ROWS, SAMPLE_CELLS // columns))
        rows = sample_rows(self._sampled_upto, end, per_batch)
        self._sampled_upto = end
        for row in rows:
            values = model.row(row)
            for column in range(columns):
                self._measure(column, values[column])
        self.apply()

    def _measure(self, column: int, value: Any) -> int:
        width = self.content_width(value)
        cap = MAX_NUMBER_WIDTH if self._is_numeric(column, value) else MAX_TEXT_WIDTH
        if width > self._full_needed[column]:
            self._full_needed[column] = width
        if min(width, cap) > self._auto_needed[column]:
            self._auto_needed[column] = min(width, cap)
        return width

    def _is_numeric(self, column: int, value: Any) -> bool:
        model = self._model
        return is_number(value) or (model is not None and model.is_numeric_column(column))

    def content_width(self, value: Any) -> int:
        """Pixels a cell needs to show ``value`` without an ellipsis."""
        model = self._model
        text = model.display_value(value) if model is not None else display_text(value)
        # NULL is drawn in italics.
        italic = value is None
        metrics = QFontMetrics(self._italic_font()) if italic else self.table.fontMetrics()
        return metrics.horizontalAdvance(text) + self.padding()

    def padding(self) -> int:
        """The item delegate's text margins, the grid line, and a pixel of slack."""
        margin = self.table.style().pixelMetric(
            QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table
        )
        return 2 * (margin + 1) + (1 if self.table.showGrid() else 0) + 2

    def _italic_font(self) -> QFont:
        if self._italic is None:
            self._italic = QFont(self.table.font())
            self._italic.setItalic(True)
        return self._italic

    def step(self) -> int:
        """Widths grow in steps of this many pixels, so a column does not twitch."""
        return max(8, 2 * self.table.fontMetrics().averageCharWidth())

    # -------------------------------------------------------------- widening
    def apply(self) -> None:
        """Widen every column that follows the data to its sampled content and header."""
        header = self.table.horizontalHeader()
        step = self.step()
        for column, follows in enumerate(self._follows):
            if not follows:
                continue
            wanted = max(self._auto_needed[column], header.sectionSizeHint(column))
            if wanted > header.sectionSize(column):
                self._resize(column, min(_round_up(wanted, step), self._cap(column, wanted)))

    def _cap(self, column: int, wanted: int) -> int:
        # Never round past what the content may have, but never below what it needs.
        model = self._model
        numeric = model is not None and model.is_numeric_column(column)
        return max(wanted, MAX_NUMBER_WIDTH if numeric else MAX_TEXT_WIDTH)

    def widen_for(self, column: int, width: int) -> None:
        """A painted number needed ``width``: widen its column if it follows the data."""
        if not 0 <= column < len(self._follows) or not self._follows[column]:
            return
        width = min(width, MAX_NUMBER_WIDTH)
        self._auto_needed[column] = max(self._auto_needed[column], width)
        self._full_needed[column] = max(self._full_needed[column], width)
        if width > self.table.horizontalHeader().sectionSize(column):
            self._resize(column, _round_up(width, self.step()))

    def _resize(self, column: int, width: int) -> None:
        self._applying = True
        try:
            self.table.horizontalHeader().resizeSection(column, width)
        finally:
            self._applying = False

    # -------------------------------------------------------------- the user
    def follows(self, column: int) -> bool:
        """Whether ``column`` still widens by itself (the user has not resized it)."""
        return 0 <= column < len(self._follows) and self._follows[column]

    def fit_width(self, column: int) -> int:
        """What a double-click on the header edge sizes ``column`` to: the widest sampled
        value and the rows on screen -- never a walk over every row."""
        model = self._model
        if model is None or not 0 <= column < len(self._full_needed):
            return 0
        widest = self._full_needed[column]
        viewport = self.table.viewport()
        top = max(0, self.table.rowAt(0))
        bottom = self.table.rowAt(viewport.height() - 1)
        if bottom < 0:
            bottom = model.rowCount() - 1
        for row in range(top, bottom + 1):
            widest = max(widest, self.content_width(model.value(row, column)))
        return widest

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._applying and 0 <= column < len(self._follows):
            self._follows[column] = False

    def _on_fitted(self, column: int) -> None:
        if 0 <= column < len(self._follows):
            self._follows[column] = True  # fitted to the data: keep following it


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


class NumberFitDelegate(QStyledItemDelegate):
    """Paints cells as usual and reports a number that did not fit its column, so the
    column can widen (the sample of each batch may have missed the widest number)."""

    #: (column, pixels the number needs)
    too_narrow = Signal(int, int)

    def __init__(self, widths: ColumnWidths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.widths = widths
        self._wanted: dict[int, int] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # after the paint, never inside it
        self._timer.timeout.connect(self._flush)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        column = index.column()
        if not self.widths.follows(column):
            return
        alignment = index.data(Qt.ItemDataRole.TextAlignmentRole)
        if alignment is None or not int(alignment) & int(Qt.AlignmentFlag.AlignRight):
            return
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        needed = option.fontMetrics.horizontalAdvance(text) + self.widths.padding()
        if needed > option.rect.width() and needed > self._wanted.get(column, 0):
            self._wanted[column] = needed
            self._timer.start()

    def _flush(self) -> None:
        wanted, self._wanted = self._wanted, {}
        for column, width in wanted.items():
            self.widths.widen_for(column, width)
            self.too_narrow.emit(column, width)
