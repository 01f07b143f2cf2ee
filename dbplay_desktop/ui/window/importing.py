"""*File → Import as template*: another tool's dump becomes a template in the library.

Which sources can be imported, and how, is the engines' business (a descriptor's
``importer`` and ``can_import``; see :func:`dbplay_desktop.templates.operations.import_template`):
this module only asks for a file or a folder, runs the import on a worker (the payload
is scanned like any untrusted template before the file is written) and opens the new
template as a playground.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dbplay_desktop.display_text import safe_text

if TYPE_CHECKING:
    from dbplay_desktop.ui.workers import Worker


def importing_engines() -> list[str]:
    """Display names of the engines that can import another tool's dump."""
    from dbplay_desktop.engines.registry import descriptors

    return [d.display_name for d in descriptors() if d.importer and d.available]


def import_job(source: Path, library) -> Path:
    """Worker body: import ``source`` into a new file of ``library``; returns its path."""
    from dbplay_desktop.templates.operations import import_template

    stem = source.name
    for suffix in reversed(source.suffixes):  # shop.archive.gz -> shop
        stem = stem.removesuffix(suffix)
    library.ensure_root()
    out = library.path_for_new(stem or "imported")
    import_template(source, out, name=stem or None)
    return out


class ImportMixin:
    """The window's import actions (a file, or a folder such as a dump directory)."""

    def import_dialog(self, *, folder: bool = False) -> None:
        from PySide6.QtWidgets import QFileDialog

        start = str(Path.home())
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, "Import folder as template", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Import file as template", start)
        if chosen:
            self.import_source(Path(chosen))

    def import_source(self, source: Path) -> Worker:
        """Import ``source`` on a worker; the new template opens when it is written."""
        from dbplay_desktop.ui.workers import Worker, start_worker

        self.statusBar().showMessage(safe_text(f"Importing {source.name}…"))
        worker = Worker(import_job, source, self.library)
        worker.signals.returned.connect(self._on_imported)
        worker.signals.errored.connect(
            lambda exc, name=source.name: self._on_import_failed(name, exc))
        self._import_worker = worker
        start_worker(worker)
        return worker

    def _on_imported(self, path: Path) -> None:
        self.statusBar().showMessage(safe_text(f"Imported as {path.name}"), 6000)
        browser = getattr(self, "template_browser", None)
        if browser is not None and hasattr(browser, "refresh"):
            browser.refresh()
        self.open_template(path)

    def _on_import_failed(self, name: str, exc: object) -> None:
        from dbplay_desktop.ui.playground.sandbox_jobs import one_line

        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        self.statusBar().showMessage(safe_text(f"Import failed: {message}"), 10000)
        self.show_error("Cannot import", f"{name}: {message}")
