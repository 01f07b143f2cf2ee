"""The results grid widget: a table over a :class:`ResultsModel` plus a footer.

Self-contained so the main window can put one in every result tab::

    model = ResultsModel(tab)              # fed by stream_result() or a QueryRunner
    view = ResultsView(model, tab)
    view.export_finished.connect(status_bar.showMessage)

What it offers: Ctrl+C copies the selection as TSV (a single cell as its plain value);
the context menu copies as TSV with header, CSV, JSON or Markdown, opens the cell
viewer, and exports every received row to CSV/JSON on a worker with a progress dialog
(atomic write, cancellable). Double-click or Enter on a long text, JSON, document or
bytes cell opens :class:`~.cell_viewer.CellViewer`. Colours come from the palette.

For a result of documents (``ResultKind.DOCUMENTS``) the grid shares its space with a
:class:`~.document_tree.DocumentTree` (a splitter pane on the right) that shows the
current row's document in full; *Document tree* in the footer or the context menu hides
or shows it, and the choice (and the pane's width) is remembered for the next results.

Copy formats of the playground's engine (:attr:`EngineDescriptor.copy_formats`, given
with :meth:`ResultsView.set_descriptor`) are offered after the built-in ones, in the
context menu and the footer's *Copy* menu: they get the selected rows whole, raw values
as the model holds them (``descriptor.copy_as(label, column_names, rows)``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.ui.confirm import destructive_box
from dbplay_desktop.ui.results.cell_viewer import CellViewer
from dbplay_desktop.ui.results.column_widths import MAX_TEXT_WIDTH, ColumnWidths, NumberFitDelegate
from dbplay_desktop.ui.results.document_tree import DocumentTree
from dbplay_desktop.ui.results.export import ExportCancelled, copy_text, export_file
from dbplay_desktop.ui.results.footer import ResultFooter
from dbplay_desktop.ui.results.model import ResultsModel
from dbplay_desktop.ui.results.run_clock import format_elapsed, format_live
from dbplay_desktop.ui.results.values import needs_viewer, plain_text
from dbplay_desktop.ui.workers import Worker, start_worker

if TYPE_CHECKING:
    from dbplay_desktop.engines.descriptor import EngineDescriptor

__all__ = ["MAX_AUTO_COLUMN_WIDTH", "ResultsView", "format_elapsed"]

#: How often the footer's row count is refreshed while rows stream in (ms).
FOOTER_REFRESH_MS = 150
#: Kept for callers that size columns themselves: the widest a text column grows alone.
MAX_AUTO_COLUMN_WIDTH = MAX_TEXT_WIDTH
#: Where the document tree's visibility and the splitter's sizes are remembered.
TREE_SHOWN_KEY = "results/document_tree_shown"
TREE_SIZES_KEY = "results/document_tree_sizes"
#: The tree pane's share of the width the first time (grid, tree).
DEFAULT_TREE_SIZES = (600, 360)


def _remembered(key: str, default: Any) -> Any:
    from dbplay_desktop.ui.settings import AppSettings

    try:
        return AppSettings().value(key, default)
    except Exception:  # a broken settings store must not break results
        return default


def _remember(key: str, value: Any) -> None:
    from dbplay_desktop.ui.settings import AppSettings

    try:
        AppSettings().set_value(key, value)
    except Exception:
        pass


def tree_shown_by_default() -> bool:
    """Whether document results open with their tree (the user's last choice; yes)."""
    value = _remembered(TREE_SHOWN_KEY, True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


class _Table(QTableView):
    """The grid; Enter opens the cell viewer (the model is read-only, so Enter is free),
    Ctrl+End goes to the last row received, and fitting a column measures a sample."""

    open_requested = Signal(QModelIndex)
    copy_requested = Signal()
    #: Ctrl+End or the scrollbar dragged to the bottom: show every row received so far.
    end_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widths = ColumnWidths(self)
        self.setItemDelegate(NumberFitDelegate(self.widths, self))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            # QTableView's own Ctrl+C copies only the current cell's display text.
            self.copy_requested.emit()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)

    def moveCursor(
        self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        # Qt's Ctrl+End stops at the last row the view was given (one fetchMore page).
        if (cursorAction == QAbstractItemView.CursorAction.MoveEnd
                and modifiers & Qt.KeyboardModifier.ControlModifier):  # fmt: skip
            self.end_requested.emit()
        return super().moveCursor(cursorAction, modifiers)

    def sizeHintForColumn(self, column: int) -> int:
        # Qt's fit measures up to 1,000 rows per column; a sample and the rows on screen
        # are enough and stay fast however many rows are loaded.
        return self.widths.fit_width(column)


class _ExportJob(QObject):
    """Carries progress from the export worker to the dialog (queued to the UI thread)."""

    progress = Signal(int)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.cancel_requested = threading.Event()

    def report(self, done: int, total: int | None) -> bool:
        self.progress.emit(done)  # called on the worker thread
        return self.cancel_requested.is_set()


class ResultsView(QWidget):
    """A results grid with a footer showing the row summary and the statement's time."""

    #: The export wrote this file.
    export_finished = Signal(str)
    #: The export failed: a one-line message (not emitted when the user cancelled).
    export_failed = Signal(str)
    #: The user cancelled the export.
    export_cancelled = Signal()
    #: A one-line message for the status bar (an engine copy format failed, ...).
    status_message = Signal(str)

    def __init__(
        self,
        model: ResultsModel | None = None,
        parent: QWidget | None = None,
        *,
        descriptor: EngineDescriptor | None = None,
    ) -> None:
        """``descriptor``: the engine whose copy formats the Copy menus offer (none: the
        built-in formats only); see :meth:`set_descriptor`."""
        super().__init__(parent)
        self.descriptor = descriptor
        #: What the last engine copy format did ("Copied 3 rows as ...", or why not).
        self.copy_message = ""
        self.table = _Table(self)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.doubleClicked.connect(self._open_if_rich)
        self.table.open_requested.connect(self.open_cell)
        self.table.copy_requested.connect(self._copy_default)
        self.table.end_requested.connect(self.go_to_end)
        scrollbar = self.table.verticalScrollBar()
        scrollbar.valueChanged.connect(self._on_scrolled)
        scrollbar.sliderReleased.connect(self._on_slider_released)

        self.footer = ResultFooter(self)
        self.summary_label = self.footer.summary_label
        self.elapsed_label = self.footer.elapsed_label
        self.footer.fetch_more_requested.connect(self.fetch_more)
        self.footer.fetch_all_requested.connect(self.confirm_fetch_all)
        self.footer.stop_requested.connect(self.stop_fetching)
        self.footer.copy_menu_requested.connect(self._fill_copy_menu)
        self.footer.tree_toggled.connect(self.set_tree_visible)

        self.tree = DocumentTree(self)
        self.tree.hide()
        self.tree.copied.connect(self._on_tree_copied)
        #: Whether the tree pane shows for document results (the user's choice).
        self._tree_wanted: bool | None = None
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("resultsSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.tree)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self._sizes_restored = False
        self._sizes_timer = QTimer(self)  # a drag moves the splitter many times: save once
        self._sizes_timer.setSingleShot(True)
        self._sizes_timer.setInterval(400)
        self._sizes_timer.timeout.connect(self._save_sizes)
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        #: The row the tree shows (-1: none), so a move within the row changes nothing.
        self._tree_row = -1
        self.tree_action = QAction("Document tree", self)
        self.tree_action.setCheckable(True)
        self.tree_action.toggled.connect(self.set_tree_visible)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.footer)

        self._footer_timer = QTimer(self)
        self._footer_timer.setSingleShot(True)
        self._footer_timer.setInterval(FOOTER_REFRESH_MS)
        self._footer_timer.timeout.connect(self._refresh_footer)
        #: The question *Fetch all* asks, while it is open.
        self.fetch_all_box: QMessageBox | None = None
        #: Seconds the statement has been running, while it runs (see show_live_elapsed).
        self._live_seconds: float | None = None
        self._viewers: list[CellViewer] = []
        self._progress: QProgressDialog | None = None
        self._export_worker: Worker | None = None
        self._export_path = ""
        self._export_job: _ExportJob | None = None
        #: What the last finished export told the user ("Exported 1,000 rows to ...").
        self.export_message = ""

        self.copy_action = QAction("Copy", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self._copy_default)
        self.table.addAction(self.copy_action)

        self._model: ResultsModel | None = None
        self.set_model(model if model is not None else ResultsModel(self))

    # -------------------------------------------------------------- model
    def model(self) -> ResultsModel:
        assert self._model is not None
        return self._model

    def set_model(self, model: ResultsModel) -> None:
        if self._model is not None:
            for signal, slot in self._model_connections():
                signal.disconnect(slot)
        self._model = model
        self.table.setModel(model)
        for signal, slot in self._model_connections():
            signal.connect(slot)
        self.table.selectionModel().currentChanged.connect(self._on_current_changed)
        self.table.widths.reset(model)
        self._refresh_footer()
        self._update_tree_pane()

    def set_descriptor(self, descriptor: EngineDescriptor | None) -> None:
        """The engine whose copy formats the Copy menus offer (``None``: none)."""
        self.descriptor = descriptor

    def _model_connections(self) -> list[tuple[Any, Any]]:
        model = self.model()
        return [
            (model.summary_changed, self._schedule_footer),
            (model.finished, self._refresh_footer),
            (model.rows_buffered, self._on_rows_buffered),
            (model.modelReset, self._on_model_reset),
            (model.columnsInserted, self._on_columns_inserted),
            (model.rowsInserted, self._on_rows_inserted),
        ]

    def _schedule_footer(self, _summary: str = "") -> None:
        if not self._footer_timer.isActive():
            self._footer_timer.start()

    def _refresh_footer(self) -> None:
        self.footer.refresh(self.model(), self._live_seconds)
        self.footer.show_tree_toggle(self.model().is_documents, self.tree_visible())

    def show_live_elapsed(self, seconds: float) -> None:
        """While the statement runs: the time so far in the footer (one label update; the
        final time replaces it when the model is finished)."""
        if self.model().is_finished:
            return
        self._live_seconds = seconds
        self.elapsed_label.setText(format_live(seconds))

    def _on_model_reset(self) -> None:
        self._live_seconds = None
        self.table.widths.reset(self.model())
        self._refresh_footer()
        self._update_tree_pane()

    def _on_columns_inserted(self, *_args: object) -> None:
        # Columns found while documents stream: the new ones fit their headers now, the
        # old ones keep their widths (whether sized by the data or by the user).
        self.table.widths.sample()
        # The tree needs nothing: a row that came before the new columns has none of them.

    # -------------------------------------------------------------- document tree
    def tree_visible(self) -> bool:
        """Whether the document tree pane is shown (only ever for document results)."""
        return not self.tree.isHidden()

    def set_tree_visible(self, visible: bool) -> None:
        """Show or hide the document tree (a document result's); the choice is remembered
        for the results that come after."""
        visible = bool(visible)
        if self._tree_wanted != visible:
            self._tree_wanted = visible
            _remember(TREE_SHOWN_KEY, visible)
        self._update_tree_pane()

    def _update_tree_pane(self) -> None:
        model = self.model()
        if model.is_documents and self._tree_wanted is None:
            self._tree_wanted = tree_shown_by_default()
        show = model.is_documents and bool(self._tree_wanted)
        if show and not self._sizes_restored:
            self._sizes_restored = True
            self._restore_sizes()
        self.tree.setVisible(show)
        blocked = self.tree_action.blockSignals(True)
        self.tree_action.setChecked(show)
        self.tree_action.blockSignals(blocked)
        self.footer.show_tree_toggle(model.is_documents, show)
        if show:
            current = self.table.currentIndex()
            self._show_tree_row(current.row() if current.isValid() else -1, force=True)
        elif self._tree_row != -1:
            self._tree_row = -1
            self.tree.clear()

    def _restore_sizes(self) -> None:
        sizes = _remembered(TREE_SIZES_KEY, None)
        try:
            grid, tree = (int(v) for v in sizes)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            grid, tree = DEFAULT_TREE_SIZES
        if grid > 0 and tree > 0:
            self.splitter.setSizes([grid, tree])

    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        self._sizes_timer.start()

    def _save_sizes(self) -> None:
        sizes = self.splitter.sizes()
        if len(sizes) == 2 and all(sizes):
            _remember(TREE_SIZES_KEY, [str(size) for size in sizes])

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.tree_visible():
            self._show_tree_row(current.row() if current.isValid() else -1)

    def _on_rows_inserted(self, *_args: object) -> None:
        """The first document shows in the tree as soon as it arrives (nothing chosen yet)."""
        if self.tree_visible() and self._tree_row == -1:
            self._show_tree_row(-1, force=True)

    def _show_tree_row(self, row: int, *, force: bool = False) -> None:
        model = self.model()
        if row < 0 and model.received_count:  # no row chosen: the first document
            row = 0
        if row == self._tree_row and not force:
            return
        self._tree_row = row if 0 <= row < model.received_count else -1
        if 0 <= row < model.received_count:
            self.tree.show_row(model.column_names(), model.row(row))
        else:
            self.tree.clear()

    def _on_tree_copied(self, text: str) -> None:
        lines = text.count("\n") + 1 if text else 0
        self._tell(f"Copied the value ({len(text):,} characters"
                   + (f", {lines:,} lines)" if lines > 1 else ")"))

    def _on_rows_buffered(self, _count: int) -> None:
        self.table.widths.sample()
        # The view asks for more rows only when scrolled; if the user sits at the bottom
        # while rows arrive, give the view all of them and stay at the bottom.
        model = self.model()
        if not model.canFetchMore(QModelIndex()):
            return
        if not self.table.isVisible():  # a tab behind another: one page, as Qt would
            if self._at_bottom():
                model.fetchMore(QModelIndex())
        elif self._at_bottom():
            self._follow_to_end()

    def _at_bottom(self) -> bool:
        model = self.model()
        bottom = self.table.rowAt(self.table.viewport().height() - 1)
        return bottom == -1 or bottom >= model.rowCount() - 1

    # -------------------------------------------------------------- the end of the rows
    def go_to_end(self) -> None:
        """Ctrl+End: give the view every row received so far and follow new ones as they
        arrive (up to the cap), so the last row is always a keystroke away."""
        self._follow_to_end()

    def _follow_to_end(self) -> None:
        model = self.model()
        current = self.table.currentIndex()
        on_last = current.isValid() and current.row() == model.rowCount() - 1
        model.expose_all()
        if on_last and current.row() != model.rowCount() - 1:
            self.table.setCurrentIndex(model.index(model.rowCount() - 1, current.column()))
        self.table.scrollToBottom()

    def _on_scrolled(self, value: int | None = None) -> None:
        # Dragging the scrollbar to the bottom means "the end", not "one more page";
        # the wheel and the arrow keys keep paging as Qt does.
        scrollbar = self.table.verticalScrollBar()
        dragging = scrollbar.isSliderDown() or value is None  # None: just released
        at_bottom = scrollbar.value() >= scrollbar.maximum()
        if dragging and at_bottom and self.model().canFetchMore(QModelIndex()):
            self._follow_to_end()

    def _on_slider_released(self) -> None:
        self._on_scrolled(None)

    # -------------------------------------------------------------- past the cap
    def fetch_more(self) -> bool:
        """*Fetch more*: the next cap's worth of rows; False when nothing can be fetched."""
        started = self.model().fetch_next()
        self._refresh_footer()
        return started

    def confirm_fetch_all(self) -> QMessageBox | None:
        """*Fetch all*, after asking: nobody knows how many rows are left (the box is
        returned, and answered asynchronously)."""
        model = self.model()
        if not model.can_fetch_beyond or self.fetch_all_box is not None:
            return self.fetch_all_box
        box, confirm = destructive_box(
            self, "Fetch all rows", "Fetch all rows? This may be many rows.", "Fetch all",
            f"{model.received_count:,} rows are loaded and the server has more. They are all "
            "kept in memory; you can stop at any time.",
        )
        box.setIcon(QMessageBox.Icon.Question)
        box.finished.connect(lambda _result: self._on_fetch_all_answered(box, confirm))
        self.fetch_all_box = box
        box.open()
        return box

    def _on_fetch_all_answered(self, box: QMessageBox, confirm: object) -> None:
        self.fetch_all_box = None
        if box.clickedButton() is confirm:
            self.fetch_all()
        box.deleteLater()

    def fetch_all(self) -> bool:
        """*Fetch all* without asking: stream every remaining row (Stop ends it)."""
        started = self.model().fetch_all()
        self._refresh_footer()
        return started

    def stop_fetching(self) -> None:
        """*Stop*: end a running *Fetch more* / *Fetch all*; the rows so far stay."""
        self.model().stop_fetching()

    # -------------------------------------------------------------- selection and copy
    def selected_block(self) -> tuple[list[str], list[list[Any]]]:
        """Column names and raw values of the selection.

        A selection that is not a rectangle is copied as its selected rows x selected
        columns, like other database tools do.
        """
        model = self.model()
        indexes = self.table.selectionModel().selectedIndexes() if model.columnCount() else []
        if not indexes:
            return [], []
        rows = sorted({index.row() for index in indexes})
        columns = sorted({index.column() for index in indexes})
        names = [model.columns[c].name for c in columns]
        return names, [[model.value(r, c) for c in columns] for r in rows]

    def selection_text(self, fmt: str = "tsv", header: bool | None = None) -> str:
        """The selection in ``fmt`` (tsv, csv, json, markdown); one cell in TSV without a
        header is its plain value, so multi-line text pastes as it is."""
        names, rows = self.selected_block()
        if header is None:
            header = fmt != "tsv"
        if fmt == "tsv" and not header and len(rows) == 1 and len(names) == 1:
            return plain_text(rows[0][0])
        return copy_text(fmt, names, rows, header=header)

    def copy_selection(self, fmt: str = "tsv", header: bool | None = None) -> str:
        """Put :meth:`selection_text` on the clipboard and return it."""
        text = self.selection_text(fmt, header)
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def _copy_default(self) -> None:
        self.copy_selection("tsv", header=False)

    # -------------------------------------------------------------- engine copy formats
    def copy_formats(self) -> list[str]:
        """The labels of the engine's own copy formats (the descriptor's), in its order."""
        descriptor = self.descriptor
        return [label for label, _ref in descriptor.copy_formats] if descriptor else []

    def selected_rows(self) -> tuple[list[str], list[Any]]:
        """Every column's name and the selected rows whole (raw cells as the model holds
        them, MISSING where a row lacks a field), in row order."""
        model = self.model()
        selection = self.table.selectionModel()
        indexes = selection.selectedIndexes() if model.columnCount() else []
        rows = sorted({index.row() for index in indexes})
        return model.column_names(), [model.row(r) for r in rows]

    def copy_engine_format(self, label: str) -> str:
        """Copy the selected rows in the engine's copy format ``label``; returns the text
        ("" when nothing was copied: no selection, or the format failed, which the status
        line then says in one line)."""
        names, rows = self.selected_rows()
        if not rows or self.descriptor is None:
            return ""
        try:
            text = self.descriptor.copy_as(label, names, rows)
        except Exception as exc:  # the engine's code: say it, do not crash
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self._tell(f"Could not copy as {label}: {reason}")
            return ""
        QGuiApplication.clipboard().setText(text)
        noun = "row" if len(rows) == 1 else "rows"
        self._tell(f"Copied {len(rows):,} {noun} as {label}")
        return text

    def _tell(self, message: str) -> None:
        self.copy_message = message
        self.status_message.emit(message)
        status_bar = getattr(self.window(), "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(message, 10000)

    def _add_engine_formats(self, menu: QMenu, enabled: bool) -> None:
        labels = self.copy_formats()
        if not labels:
            return
        menu.addSeparator()
        for label in labels:
            action = menu.addAction(f"Copy as {label}")
            action.setEnabled(enabled)
            action.setData(label)
            action.triggered.connect(lambda _=False, name=label: self.copy_engine_format(name))

    def build_copy_menu(self, menu: QMenu | None = None) -> QMenu:
        """The Copy menu (the footer's *Copy* button): the built-in formats, then the
        engine's."""
        menu = menu if menu is not None else QMenu(self)
        menu.clear()
        has_selection = bool(self.table.selectionModel().selectedIndexes())
        entries: Sequence[tuple[str, str, bool | None]] = (
            ("Copy", "tsv", False),
            ("Copy with header", "tsv", True),
            ("Copy as CSV", "csv", True),
            ("Copy as JSON", "json", None),
            ("Copy as Markdown", "markdown", None),
        )
        for label, fmt, header in entries:
            action = menu.addAction(label)
            action.setEnabled(has_selection)
            action.triggered.connect(
                lambda _=False, f=fmt, h=header: self.copy_selection(f, header=h))
        self._add_engine_formats(menu, has_selection)
        return menu

    def _fill_copy_menu(self, menu: QMenu) -> None:
        self.build_copy_menu(menu)

    # -------------------------------------------------------------- cell viewer
    def _open_if_rich(self, index: QModelIndex) -> None:
        if index.isValid() and needs_viewer(self.model().value(index.row(), index.column())):
            self.open_cell(index)

    def open_cell(self, index: QModelIndex | None = None) -> CellViewer | None:
        """Open the cell viewer on ``index`` (default: the current cell)."""
        index = index if index is not None else self.table.currentIndex()
        if not index.isValid():
            return None
        model = self.model()
        column = model.columns[index.column()]
        title = f"{column.name}: {column.type_name}" if column.type_name else column.name
        viewer = CellViewer(model.value(index.row(), index.column()), title, self)
        self._viewers = [v for v in self._viewers if v.isVisible()] + [viewer]
        viewer.show()
        return viewer

    # -------------------------------------------------------------- context menu
    def _show_menu(self, position: Any) -> None:
        menu = self.build_menu()
        menu.popup(self.table.viewport().mapToGlobal(position))

    def build_menu(self) -> QMenu:
        """The grid's context menu (also for tests and the main window's Edit menu)."""
        menu = QMenu(self)
        has_selection = bool(self.table.selectionModel().selectedIndexes())
        has_columns = self.model().columnCount() > 0
        menu.addAction(self.copy_action)
        entries: Sequence[tuple[str, str, bool | None]] = (
            ("Copy with header", "tsv", True),
            ("Copy as CSV", "csv", True),
            ("Copy as JSON", "json", None),
            ("Copy as Markdown", "markdown", None),
        )
        for label, fmt, header in entries:
            action = menu.addAction(label)
            action.setEnabled(has_selection)
            action.triggered.connect(
                lambda _=False, f=fmt, h=header: self.copy_selection(f, header=h)
            )
        self._add_engine_formats(menu, has_selection)
        menu.addSeparator()
        view_action = menu.addAction("Open value…")
        view_action.setShortcut(QKeySequence("Return"))
        view_action.setEnabled(self.table.currentIndex().isValid())
        view_action.triggered.connect(lambda: self.open_cell())
        model = self.model()
        if model.is_documents:
            menu.addAction(self.tree_action)
        menu.addSeparator()
        # A capped result holds only the rows fetched so far: say so rather than "All".
        which = f"{model.received_count:,} fetched" if model.more_available else "all"
        for fmt in ("csv", "json"):
            action = menu.addAction(f"Export {which} rows as {fmt.upper()}…")
            action.setEnabled(has_columns and self._export_worker is None)
            action.triggered.connect(lambda _=False, f=fmt: self.export_dialog(f))
        if model.more_available or model.is_fetching_beyond:
            # The footer's buttons, for the keyboard (the menu key) as much as the mouse.
            menu.addSeparator()
            if model.is_fetching_beyond:
                menu.addAction("Stop fetching").triggered.connect(self.stop_fetching)
            else:
                more = menu.addAction(f"Fetch {model.cap_step:,} more rows")
                more.setEnabled(model.can_fetch_beyond)
                more.triggered.connect(self.fetch_more)
                rest = menu.addAction("Fetch all rows…")
                rest.setEnabled(model.can_fetch_beyond)
                rest.triggered.connect(self.confirm_fetch_all)
        return menu

    # -------------------------------------------------------------- export
    def export_dialog(self, fmt: str) -> Worker | None:
        """Ask for a file name, then :meth:`export` to it."""
        filters = {"csv": "CSV files (*.csv)", "json": "JSON files (*.json)"}
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export as {fmt.upper()}", f"result.{fmt}", filters[fmt]
        )
        return self.export(path, fmt) if path else None

    def export(self, path: str | Path, fmt: str, *, pool: QThreadPool | None = None) -> Worker:
        """Write every received row to ``path`` on a worker, with a progress dialog.

        Emits ``export_finished(path)``, ``export_failed(message)`` or
        ``export_cancelled()``. The file appears only when complete.
        """
        model = self.model()
        names, rows = model.column_names(), model.rows()
        job = _ExportJob(self)
        progress = QProgressDialog(f"Exporting {len(rows):,} rows…", "Cancel", 0, len(rows), self)
        progress.setWindowTitle("Export")
        progress.setMinimumDuration(400)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(job.cancel_requested.set)
        job.progress.connect(progress.setValue)
        self._progress = progress

        worker = Worker(
            export_file, Path(path), fmt, names, rows, total=len(rows), progress=job.report
        )
        worker.signals.returned.connect(self._on_export_returned)
        worker.signals.errored.connect(self._on_export_errored)
        worker.signals.finished.connect(self._on_export_done)
        self._export_worker = worker
        self._export_job = job
        self._export_path = str(path)
        return start_worker(worker, _pool=pool)

    def _on_export_returned(self, count: int) -> None:
        # Without a word the user cannot tell a finished export from one that never ran
        # (the progress dialog only shows for long exports).
        self.export_message = f"Exported {count:,} rows to {self._export_path}"
        status_bar = getattr(self.window(), "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(self.export_message, 10000)
        self.export_finished.emit(self._export_path)

    def _on_export_errored(self, error: object) -> None:
        if isinstance(error, ExportCancelled):
            self.export_cancelled.emit()
            return
        path = self._export_path
        reason = getattr(error, "strerror", None) or str(error)
        message = " ".join(f"Could not export to {path}: {reason}".split())
        self.export_failed.emit(message)
        if self.isVisible():
            box = QMessageBox(QMessageBox.Icon.Warning, "Export failed", message, parent=self)
            box.open()

    def _on_export_done(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None
        if self._export_job is not None:
            self._export_job.deleteLater()
            self._export_job = None
        self._export_worker = None

    def cancel_export(self) -> None:
        """Stop a running export (as the progress dialog's Cancel button does)."""
        if self._export_job is not None:
            self._export_job.cancel_requested.set()
