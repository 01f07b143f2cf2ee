"""The band at the top of a playground tab: what is being prepared, or why it failed.

A tab whose template could not be opened must say so where the user looks, and offer
the two ways on: *Retry* when trying again can help (a restore error, an unreachable
server) and *Close*. A file that is not a template, or one the safety scan refused, will
fail the same way every time, so it gets no *Retry*. The text is a template's or a
server's words: it is shown as plain text, selectable so it can be copied into a report.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from dbplay_desktop.display_text import safe_text
from dbplay_desktop.ui import icons

#: The failure look: a faint red band with a red edge, readable in light and dark themes.
ERROR_STYLE = (
    "#playgroundBanner[error=\"true\"] {"
    " background: rgba(209, 36, 47, 0.10); border: 1px solid rgba(209, 36, 47, 0.55);"
    " border-radius: 4px; }"
    "#playgroundBanner[error=\"true\"] QLabel#bannerText { color: #d1242f; }"
)


class PlaygroundBanner(QFrame):
    """Progress while a sandbox is prepared; a failure with *Retry*/*Close* when it fails."""

    #: *Retry* was clicked.
    retry_requested = Signal()
    #: *Close* (or *Dismiss*) was clicked.
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playgroundBanner")
        self.setStyleSheet(ERROR_STYLE)
        self.icon_label = QLabel(self)
        self.icon_label.setPixmap(icons.icon("warning").pixmap(20, 20))
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text_label = QLabel(self)
        self.text_label.setObjectName("bannerText")
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setSizePolicy(QSizePolicy.Policy.Expanding,
                                      QSizePolicy.Policy.Preferred)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, 0)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setIcon(icons.icon("reset"))
        self.retry_button.clicked.connect(self.retry_requested.emit)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close_requested.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(8)
        layout.addWidget(self.icon_label)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.retry_button)
        layout.addWidget(self.close_button)
        self.show_progress("")

    # -- what it shows -------------------------------------------------------------------
    def text(self) -> str:
        """The line shown (for tests and the status bar)."""
        return self.text_label.text()

    @property
    def is_error(self) -> bool:
        return bool(self.property("error"))

    def show_progress(self, text: str) -> None:
        """A busy line: what is being prepared, with a running progress bar."""
        self._set(text, error=False)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.retry_button.hide()
        self.close_button.hide()

    def set_progress(self, text: str, fraction: float | None) -> None:
        """Update a busy line; ``fraction`` in 0..1, or ``None`` when the total is unknown."""
        self.text_label.setText(safe_text(text))
        if fraction is None:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(max(0, min(1000, int(fraction * 1000))))

    def show_message(self, text: str, *, busy: bool, error: bool) -> None:
        """A line without buttons (e.g. waiting for the server)."""
        self._set(text, error=error)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(busy)
        self.retry_button.hide()
        self.close_button.hide()

    def show_failure(
        self, text: str, *, retry: str | None = "Retry", close: str | None = "Close"
    ) -> None:
        """A failure, with a *Retry* button labelled ``retry`` (None: no retry) and a
        *Close* button labelled ``close`` (None: none)."""
        self._set(text, error=True)
        self.progress_bar.hide()
        self.retry_button.setVisible(retry is not None)
        self.retry_button.setText(retry or "Retry")
        self.close_button.setVisible(close is not None)
        self.close_button.setText(close or "Close")

    def _set(self, text: str, *, error: bool) -> None:
        self.text_label.setText(safe_text(text))
        self.icon_label.setVisible(error)
        self.setProperty("error", error)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()


class PlaygroundBannerMixin:
    """The banner's part of :class:`~.playground.Playground`: what a tab shows and allows
    while it is prepared and after preparing it failed.

    A tab without a database hides its results and its editor (unless the user typed
    something there, which then stays readable but read-only) and says why in the
    banner; the window disables every action that needs a database (see
    :attr:`editor_usable` and the playground's state).
    """

    banner: PlaygroundBanner

    def show_banner(
        self, text: str, *, busy: bool, error: bool = False,
        retry: str | None = None, close: str | None = None,
    ) -> None:
        """The band above the editor: what is being prepared, or why it failed, with the
        buttons ``retry`` and ``close`` name (none when both are None)."""
        if error and (retry or close):
            self.banner.show_failure(text, retry=retry, close=close)
        else:
            self.banner.show_message(text, busy=busy, error=error)

    @property
    def editor_usable(self) -> bool:
        """Whether the editor may be edited (Format, Find): not on a tab that failed."""
        from dbplay_desktop.ui.playground.playground import CLOSED, CLOSING, FAILED

        return self.state not in (FAILED, CLOSING, CLOSED)

    def _show_usable(self, usable: bool) -> None:
        """A tab without a database shows only why (and text the user typed, read-only),
        never an editor and results that look as if they worked."""
        typed = self.script_changed
        self.editor.setReadOnly(not usable)
        self.results_tabs.setVisible(usable)
        self.editor_pane.setVisible(usable or typed)
        self.splitter.setVisible(usable or typed)

    def _on_banner_retry(self) -> None:
        from dbplay_desktop.ui.playground.playground import FAILED, READY

        state = self.state
        if self.engine is None:
            self.server_retry_requested.emit()
        elif state == FAILED:
            self._prepare(resetting=False)
        elif state == READY and self.link_is_lost:
            self.reconnect()
        elif state == READY:
            self.reset()  # a reset that failed, once more

    def _on_banner_close(self) -> None:
        from dbplay_desktop.ui.playground.playground import READY

        if self.state == READY:
            self.banner.hide()  # a failed reset's line: the playground itself works
        else:
            self.close_requested.emit()

    def _on_prepare_failed(self, exc: object) -> None:
        from dbplay_desktop.ui.playground.playground import FAILED, PREPARING, READY
        from dbplay_desktop.ui.playground.sandbox_jobs import can_retry, one_line

        if self._stale_prepare():
            return  # a preparation the server's death abandoned
        self._prepare_worker = None
        if self.state != PREPARING:
            self._maybe_closed()
            return
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        retry = can_retry(exc)
        if self.database is not None and self.runner is not None:
            # A reset failed: the old database is still there and still usable.
            self.state, self.status = READY, "Ready"
            self.show_banner(f"Reset failed: {message}", busy=False, error=True,
                             retry="Retry reset" if retry else None, close="Dismiss")
        else:
            self.state, self.status = FAILED, "Failed"
            self.error = message
            template = self.template_path
            what = f"open “{self.title}”" if template else "prepare the playground"
            self._show_usable(False)
            self.show_banner(f"Could not {what}: {message}", busy=False, error=True,
                             retry="Retry" if retry else None, close="Close playground")
        self.status_message.emit(message)
        self.state_changed.emit()
