"""Saving a playground's state as a template, and closing tabs and the window.

The two are one flow: closing a playground whose database or script changed offers to
save it first (a template keeps both), and the window only goes away once every
playground's database has been dropped (or a timeout passed), so quitting never leaves
sandboxes behind on the server. Scripts are autosaved meanwhile (:mod:`.autosave`); the
scratch files of a window that crashed are offered back at the next start.
:class:`SaveAndCloseMixin` is mixed into :class:`~.main_window.MainWindow`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer

if TYPE_CHECKING:  # imported where used: the window's first frame needs none of them
    from PySide6.QtGui import QCloseEvent

    from dbplay_desktop.ui.playground.playground import Playground
    from dbplay_desktop.ui.templates.autosave import ScriptAutosave, UnsavedScript
    from dbplay_desktop.ui.templates.save_dialog import SaveChoice

#: How long closing the window waits for the playgrounds' databases to be dropped.
SHUTDOWN_TIMEOUT_MS = 15_000


class SaveAndCloseMixin:
    """Save state as template; close a tab; close the window after every drop finished.

    Mixed into :class:`~.main_window.MainWindow`, whose ``tabs``, ``engines``, ``library``
    and status bar it uses.
    """

    _autosave: ScriptAutosave | None = None

    @property
    def autosave(self) -> ScriptAutosave:
        """The scratch files of this window's scripts (made on first use)."""
        if self._autosave is None:
            from dbplay_desktop.ui.templates.autosave import ScriptAutosave

            self._autosave = ScriptAutosave(parent=self)  # type: ignore[arg-type]
        return self._autosave

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
        from PySide6.QtCore import QEventLoop
        from PySide6.QtWidgets import QProgressDialog

        from dbplay_desktop.ui.playground.playground import READY
        from dbplay_desktop.ui.playground.sandbox_jobs import ProgressRelay, one_line
        from dbplay_desktop.ui.templates.save_dialog import SaveTemplateDialog
        from dbplay_desktop.ui.window.support import save_template_job
        from dbplay_desktop.ui.workers import Worker, start_worker

        engine = playground.engine
        if playground.state != READY or playground.database is None or engine is None:
            self.show_error("Cannot save", f"{playground.title} is not ready: {playground.status}")
            return None
        full_script = playground.script_for_saving()
        if choice is None:
            dialog = SaveTemplateDialog(
                playground.template_name or "", playground.template_description,
                library=self.library, script_lines=len(full_script.splitlines()),
                parent=self,
            )
            if not dialog.exec():
                return None
            choice = dialog.choice()
        editor_text = playground.editor.toPlainText()
        script = full_script if choice.include_script else ""
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
        descriptor = playground.descriptor
        suffix = descriptor.language.script_suffix if descriptor is not None else ".sql"
        worker = Worker(
            save_template_job, engine, playground.database, choice, relay, script, suffix
        )
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
        # Saved with the template, the script counts as unchanged (unless it was left out).
        saved_text = editor_text if script or not full_script else playground.script_baseline
        playground.mark_saved(path, choice.name, choice.description, script=saved_text)
        self.add_recent_file(path)
        self.template_browser.refresh()
        self.template_browser.select_path(path)
        self.statusBar().showMessage(f"Saved “{choice.name}” to {path}", 8000)
        return path

    # ================================================================== closing
    def ask_save(self, playground: Playground) -> str:
        """Ask whether to save a changed playground: "save", "discard" or "cancel".

        The question says what changed (database, script or both); a playground without a
        database (still preparing, or failed) can only discard its script or stay open.
        """
        from PySide6.QtWidgets import QMessageBox

        from dbplay_desktop.display_text import safe_text
        from dbplay_desktop.ui.playground.playground import READY

        title = safe_text(playground.title)
        database = playground.modified and playground.state == READY
        can_save = playground.state == READY
        if database and playground.script_changed:
            text = f"“{title}”: its database and its script have changed."
        elif database:
            text = f"“{title}” has changed since it was opened."
        else:
            text = f"The script in “{title}” has changed."
        if not can_save:
            details = "Closing it discards the script."
        elif database:
            details = ("Closing it deletes its database. Save its state as a template "
                       "first (with the editor's script)?")
        else:
            details = ("Closing it discards the script. Save the playground as a template, "
                       "with its script?")
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Save changes?")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(text)
        box.setInformativeText(details)
        save = None
        if can_save:
            save = box.addButton("Save as template…", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Close without saving", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save or cancel)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        if save is not None and clicked is save:
            return "save"
        if clicked is discard:
            return "discard"
        return "cancel"

    def _confirm_close(self, playground: Playground) -> bool:
        """Offer to save a changed playground; False when the user cancelled."""
        from dbplay_desktop.ui.playground.playground import READY

        database_changed = playground.modified and playground.state == READY
        if not database_changed and not playground.script_changed:
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
        from dbplay_desktop.ui.playground.playground import Playground

        if not isinstance(playground, Playground):
            return False
        if ask and not self._confirm_close(playground):
            return False
        self._retire(playground)
        return True

    def _retire(self, playground: Playground) -> None:
        self.autosave.forget(playground)
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
        if not self._ready:  # still starting: close once there is a window to close
            event.ignore()
            self.when_ready(self.close)
            return
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

    def close_without_questions(self) -> None:
        """Quit at once (a signal, a logout): no question is asked, every database is
        dropped, and changed scripts stay in their scratch files for the next start."""
        if not self._ready:
            self.when_ready(self.close_without_questions)
            return
        self.autosave.keep()
        self.ask_save = lambda _playground: "discard"  # type: ignore[method-assign]
        self.close()  # type: ignore[attr-defined]

    def _finish_shutdown(self) -> None:
        if self._shutdown_done:
            return
        self._shutdown_done = True
        self.autosave.finish()
        self.shutdown_finished.emit()
        # Not close() here: this may run inside closeEvent (nothing to drop), and Qt
        # ignores a close requested while a close is being handled.
        QTimer.singleShot(0, self.close)

    # ================================================================== unsaved scripts
    def offer_unsaved_scripts(self) -> int:
        """After a crash: offer the scripts the last session did not save; returns how
        many playgrounds were reopened. Called once at start-up, after the window shows."""
        from dbplay_desktop.ui.templates.autosave import discard_unsaved, find_unsaved

        found = find_unsaved(self.autosave.root)
        if not found:
            return 0
        answer = self.ask_restore_scripts(found)
        if answer == "later":
            return 0
        restored = 0
        if answer == "restore":
            for script in found:
                self._reopen_script(script)
                restored += 1
        discard_unsaved(found)  # the reopened ones have scratch files of their own now
        return restored

    def _reopen_script(self, script: UnsavedScript) -> Playground:
        playground = None
        if script.template is not None and script.template.is_file():
            playground = self.open_template(script.template)  # type: ignore[attr-defined]
        if playground is None:
            playground = self.new_playground()  # type: ignore[attr-defined]
        playground.editor.setPlainText(script.text)
        self.autosave.write(playground)
        return playground

    def ask_restore_scripts(self, found: list[UnsavedScript]) -> str:
        """Ask what to do with a crashed session's scripts: "restore", "discard" or
        "later" (ask again at the next start)."""
        from PySide6.QtWidgets import QMessageBox

        from dbplay_desktop.display_text import safe_text

        names = ", ".join(f"“{safe_text(script.title)}”" for script in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        count = "1 playground" if len(found) == 1 else f"{len(found)} playgrounds"
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Restore unsaved scripts?")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(
            f"dbplay did not close normally last time. {count} had scripts that were "
            f"not saved: {names}{more}."
        )
        box.setInformativeText(
            "Restore opens each script in a new playground (with its template, if it "
            "had one); changes made to the databases were not kept."
        )
        restore = box.addButton("Restore scripts", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard scripts", QMessageBox.ButtonRole.DestructiveRole)
        later = box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.setEscapeButton(later)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is restore:
            return "restore"
        if clicked is discard:
            return "discard"
        return "later"
