"""The results grid's footer: the row count, *Fetch more* / *Fetch all* / *Stop*, the time.

A result stops at the row cap ("100,000 of >100,000 rows"), or at its memory budget,
which reads the same and says why in its tooltip. As in DBeaver, the footer
offers to go on from there: *Fetch more* raises the cap by one more cap and continues
the same stream, *Fetch all* streams the rest (after a question, since nobody knows how
many rows that is), and *Stop* ends either one, keeping the rows so far. The buttons
are plain focusable buttons (Tab reaches them) and are disabled when there is nothing
more to fetch; their tooltips say why.

On the right, before the time: *Copy* (a menu of every copy format, the engine's own
included, filled by the view when it opens) and, for a result of documents, the
*Document tree* toggle.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from dbplay_desktop.ui.results.model import ResultsModel
from dbplay_desktop.ui.results.run_clock import format_elapsed, format_live
from dbplay_desktop.ui.results.stream import MEMORY_LIMIT_ENV, format_bytes

#: Longest footer text; a longer one (a failure's message) ends in "…", in full as tooltip.
MAX_FOOTER_CHARS = 160
#: The colour a failure reads in, as it does in the Messages pane.
FAILURE_STYLE = "color: #d1242f;"


class ResultFooter(QWidget):
    """The line under the grid; the view calls :meth:`refresh` when the model changes."""

    fetch_more_requested = Signal()
    fetch_all_requested = Signal()
    stop_requested = Signal()
    #: The *Copy* menu is about to open: the view fills it (the menu is the argument).
    copy_menu_requested = Signal(QMenu)
    #: The *Document tree* toggle was switched by the user.
    tree_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary_label = QLabel(self)
        self.fetch_more_button = self._button("Fetch more", self.fetch_more_requested)
        self.fetch_all_button = self._button("Fetch all", self.fetch_all_requested)
        self.stop_button = self._button("Stop", self.stop_requested)
        self.stop_button.setToolTip("Stop fetching; the rows so far stay")
        self.stop_button.hide()
        self.copy_menu = QMenu(self)
        self.copy_menu.aboutToShow.connect(
            lambda: self.copy_menu_requested.emit(self.copy_menu))
        self.copy_button = QToolButton(self)
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the selection in a format of your choice")
        self.copy_button.setMenu(self.copy_menu)
        self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tree_button = QToolButton(self)
        self.tree_button.setText("Document tree")
        self.tree_button.setCheckable(True)
        self.tree_button.setToolTip("Show the selected document in full beside the grid")
        self.tree_button.toggled.connect(self.tree_toggled.emit)
        self.tree_button.hide()
        self.elapsed_label = QLabel(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(6)
        layout.addWidget(self.summary_label)
        layout.addSpacing(6)
        layout.addWidget(self.fetch_more_button)
        layout.addWidget(self.fetch_all_button)
        layout.addWidget(self.stop_button)
        layout.addStretch(1)
        layout.addWidget(self.copy_button)
        layout.addWidget(self.tree_button)
        layout.addSpacing(6)
        layout.addWidget(self.elapsed_label)

    def _button(self, text: str, signal: Signal) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setAutoRaise(False)
        button.clicked.connect(signal.emit)
        return button

    def show_tree_toggle(self, offered: bool, checked: bool) -> None:
        """The *Document tree* toggle: shown for document results, checked when the tree
        is (set by the view, so the user's own clicks are the only ``tree_toggled``)."""
        self.tree_button.setVisible(offered)
        blocked = self.tree_button.blockSignals(True)
        self.tree_button.setChecked(checked)
        self.tree_button.blockSignals(blocked)

    def refresh(self, model: ResultsModel, live_seconds: float | None) -> None:
        """Show ``model``'s summary, what can still be fetched, and its time."""
        summary = model.summary()
        short = summary if len(summary) <= MAX_FOOTER_CHARS else (
            summary[: MAX_FOOTER_CHARS - 1] + "…")
        self.summary_label.setText(short)
        if model.more_available and model.memory_full:
            tip = memory_tip(model)
        elif model.more_available:
            tip = (f"Only the first {model.received_count:,} rows were fetched: the row cap "
                   "is set in File › Preferences.")
        else:
            tip = summary if short != summary else ""
        self.summary_label.setToolTip(tip)
        self.summary_label.setStyleSheet(FAILURE_STYLE if model.failure else "")
        self._refresh_buttons(model)
        if model.is_streaming and live_seconds is not None:
            self.elapsed_label.setText(format_live(live_seconds))
        else:
            self.elapsed_label.setText(format_elapsed(model.elapsed))

    def _refresh_buttons(self, model: ResultsModel) -> None:
        fetching = model.is_fetching_beyond
        can = model.can_fetch_beyond
        step = model.cap_step
        self.stop_button.setVisible(fetching)
        self.stop_button.setEnabled(fetching)
        for button in (self.fetch_more_button, self.fetch_all_button):
            button.setVisible(not fetching)
            button.setEnabled(can)
        if can:
            more_tip = f"Fetch the next {step:,} rows"
            all_tip = "Fetch every remaining row"
        elif model.more_available and model.memory_full:
            more_tip = all_tip = memory_tip(model)
        elif model.more_available:
            more_tip = all_tip = ("This result cannot be continued: run the statement again "
                                  "with a higher row limit (File › Preferences)")
        elif model.is_streaming:
            more_tip = all_tip = "Rows are still coming"
        else:
            more_tip = all_tip = "Every row is loaded" if model.is_finished else ""
        self.fetch_more_button.setToolTip(more_tip)
        self.fetch_all_button.setToolTip(all_tip)


def memory_tip(model: ResultsModel) -> str:
    """Why a result stopped at its memory budget, and where the budget is set."""
    budget = format_bytes(model.memory_limit or 0)
    return (f"Only the first {model.received_count:,} rows were kept: they fill this "
            f"result's memory budget of {budget} (set with the environment variable "
            f"{MEMORY_LIMIT_ENV}); narrow the query to see other rows.")
