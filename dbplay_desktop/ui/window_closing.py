"""Saving a playground's state as a template, and closing tabs and the window.

The two are one flow: closing a changed playground offers to save it first, and the
window only goes away once every playground's database has been dropped (or a timeout
passed), so quitting never leaves sandboxes behind on the server.
:class:`SaveAndCloseMixin` is mixed into :class:`~.main_window.MainWindow`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMessageBox, QProgressDialog

from dbplay_desktop.ui.playground import READY, Playground
from dbplay_desktop.ui.sandbox_jobs import ProgressRelay, one_line
from dbplay_desktop.ui.save_template_dialog import SaveChoice, SaveTemplateDialog
from dbplay_desktop.ui.window_support import save_template_job
from dbplay_desktop.ui.workers import Worker, start_worker

#: How long closing the window waits for the playgrounds' databases to be dropped.
SHUTDOWN_TIMEOUT_MS = 15_000


class SaveAndCloseMixin:
    """Save state as template; close a tab; close the window after every drop finished.

    Mixed into :class:`~.main_window.MainWindow`, whose ``tabs``, ``engine``, ``library``
    and status bar it uses.
    """

    # ================================================================== saving
    def save_current(self) -> Path | None:
        playground = self.current_playground()
        return self.save_playground(playground) if playground is not None else None

    def save_playground(
        self, playground: Playground, choice: SaveChoice | None = None
    ) -> Path | None:
        """Save the playground's state as a template; returns the file, or None.

        Asks with :class:`SaveTemplateDialog` unless ``choice`` is given. The dump runs on
        a worker behind a window-modal progress dialog with Cancel; events keep flowing.
        """
        if playground.state != READY or playground.database is None or self.engine is None:
            self.show_error("Cannot save", f"{playground.title} is not ready: {playground.status}")
            return None
        if choice is None:
            dialog = SaveTemplateDialog(
                playground.template_name or "", playground.template_description,
                library=self.library, parent=self,
            )
            if not dialog.exec():
                return None
            choice = dialog.choice()
        relay = ProgressRelay(self)
        progress = QProgressDialog(f"Saving “{choice.name}”…", "Cancel", 0, 0, self)
        progress.setWindowTitle("Save state as template")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)
        progress.canceled.connect(relay.cancelled.set)
        relay.progress.connect(
            lambda done, _total: progress.setLabelText(
                f"Saving “{choice.name}”… {done / 1_048_576:.1f} MB"
            )
        )
        outcome: dict[str, object] = {}
        worker = Worker(save_template_job, self.engine, playground.database, choice, relay)
        loop = QEventLoop(self)
        worker.signals.returned.connect(lambda path: outcome.setdefault("path", path))
        worker.signals.errored.connect(lambda exc: outcome.setdefault("error", exc))
        worker.signals.finished.connect(loop.quit)
        start_worker(worker)
        if not worker.is_done:
            loop.exec()
        progress.reset()
        progress.deleteLater()
        relay.deleteLater()
        if "error" in outcome:
            error = outcome["error"]
            if relay.cancelled.is_set():
                self.statusBar().showMessage("Save cancelled; no file was written.", 8000)
            else:
                self.show_error("Save failed", one_line(error))  # type: ignore[arg-type]
            return None
        path = Path(outcome["path"])  # type: ignore[arg-type]
        playground.mark_saved(path, choice.name, choice.description)
        self.add_recent_file(path)
        self.template_browser.refresh()
        self.template_browser.select_path(path)
        self.statusBar().showMessage(f"Saved “{choice.name}” to {path}", 8000)
        return path

    # ================================================================== closing
    def ask_save(self, playground: Playground) -> str:
        """Ask whether to save a changed playground: "save", "discard" or "cancel"."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Save changes?")
        box.setText(f"“{playground.title}” has changed since it was opened.")
        box.setInformativeText(
            "Closing it deletes its database. Save its state as a template first?"
        )
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        answer = box.exec()
        if answer == buttons.Save:
            return "save"
        if answer == buttons.Discard:
            return "discard"
        return "cancel"

    def _confirm_close(self, playground: Playground) -> bool:
        """Offer to save a changed playground; False when the user cancelled."""
        if not playground.modified or playground.state != READY:
            return True
        self.tabs.setCurrentWidget(playground)
        answer = self.ask_save(playground)
        if answer == "cancel":
            return False
        if answer == "save":
            return self.save_playground(playground) is not None
        return True

    def close_current(self) -> None:
        if (playground := self.current_playground()) is not None:
            self.close_playground(playground)

    def close_playground(self, playground: Playground, *, ask: bool = True) -> bool:
        """Close a tab: offer to save, then cancel its work and drop its database."""
        if not isinstance(playground, Playground):
            return False
        if ask and not self._confirm_close(playground):
            return False
        self._retire(playground)
        return True

    def _retire(self, playground: Playground) -> None:
        index = self.tabs.indexOf(playground)
        if index >= 0:
            self.tabs.removeTab(index)
        playground.hide()
        playground.setParent(None)  # type: ignore[call-overload]
        self._closing.append(playground)
        playground.closed.connect(self._on_playground_closed)
        playground.shutdown()
        self._update_chrome()

    def _on_playground_closed(self) -> None:
        playground = self.sender()
        if playground in self._closing:
            self._closing.remove(playground)  # type: ignore[arg-type]
            playground.deleteLater()
        if self._shutting_down and not self._closing:
            self._finish_shutdown()

    @property
    def closing_playgrounds(self) -> int:
        """Playgrounds whose databases are still being dropped."""
        return len(self._closing)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._shutdown_done:
            self._save_geometry()
            event.accept()
            return
        event.ignore()
        if self._shutting_down:
            return
        for playground in self.playgrounds():
            if not self._confirm_close(playground):
                return
        self._shutting_down = True
        self._save_geometry()
        self.statusBar().showMessage("Closing playgrounds…")
        for playground in self.playgrounds():
            self._retire(playground)
        if not self._closing:
            self._finish_shutdown()
        else:
            QTimer.singleShot(SHUTDOWN_TIMEOUT_MS, self._finish_shutdown)

    def _finish_shutdown(self) -> None:
        if self._shutdown_done:
            return
        self._shutdown_done = True
        self.shutdown_finished.emit()
        # Not close() here: this may run inside closeEvent (nothing to drop), and Qt
        # ignores a close requested while a close is being handled.
        QTimer.singleShot(0, self.close)
