"""The pristine copy of a playground's template and the clone its next reset adopts.

Restoring a template again takes as long as opening it did; cloning the pristine copy
the restore left takes a fraction of that, and adopting a clone made ahead of time only
a new connection. So once a playground is ready, one clone is made in the background;
a reset takes it and the next one is made after the reset. The pristine copy and the
ready clone are sandboxes like the working database: they are dropped when the
playground closes or its template changes (and by the next start after a crash).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from dbplay_desktop.engines.base import Engine
from dbplay_desktop.ui.workers import Worker, start_worker

log = logging.getLogger(__name__)


class ReadyClones(QObject):
    """Keeps ``pristine`` and at most one ready clone of it, made on a worker."""

    #: The background clone ended (made or failed): the playground may be closed now.
    idle = Signal()
    #: A background clone failed; the one-line reason (resets clone on their own then).
    failed = Signal(str)

    def __init__(self, drop: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._drop = drop
        self._engine: Engine | None = None
        self.pristine: str | None = None
        self.ready: str | None = None
        self._worker: Worker | None = None
        #: Pristine copies given up while a clone of one was being made: dropped after it.
        self._later: list[str] = []
        self._closed = False

    @property
    def busy(self) -> bool:
        """A clone is being made."""
        return self._worker is not None

    def keep(self, engine: Engine, pristine: str | None) -> None:
        """Make ``pristine`` the copy resets clone (dropping an older one) and start
        making the first ready clone; ``None`` forgets the copy."""
        if pristine == self.pristine:
            self.refill()
            return
        self.forget()
        if self._closed:
            if pristine is not None:
                self._drop(pristine)
            return
        self._engine, self.pristine = engine, pristine
        self.refill()

    def take(self) -> str | None:
        """The ready clone, handed over (None while it is still being made)."""
        ready, self.ready = self.ready, None
        return ready

    def refill(self) -> None:
        """Start making a ready clone, unless there is one or one is being made."""
        if (self._closed or self._engine is None or self.pristine is None
                or self.ready is not None or self._worker is not None):
            return
        from dbplay_desktop.ui.playground.sandbox_jobs import clone_for_later

        worker = Worker(clone_for_later, self._engine, self.pristine)
        worker.signals.returned.connect(self._on_cloned)
        worker.signals.errored.connect(self._on_failed)
        self._worker = worker
        start_worker(worker)

    def forget(self) -> None:
        """Drop the pristine copy and the ready clone (the template changed, or the
        playground closes); a clone still being made is dropped when it is done."""
        if self.ready is not None:
            self._drop(self.ready)
        if self.pristine is not None:
            if self._worker is not None:  # it is being copied: drop it after that
                self._later.append(self.pristine)
            else:
                self._drop(self.pristine)
        self.ready = self.pristine = None

    def close(self) -> None:
        """Drop everything and make no more clones."""
        self._closed = True
        self.forget()

    def _on_cloned(self, made: tuple[str, str]) -> None:
        self._worker = None
        clone, source = made
        if self._closed or source != self.pristine or self.ready is not None:
            self._drop(clone)
        else:
            self.ready = clone
        self._drop_later_ones()
        self.idle.emit()

    def _on_failed(self, exc: object) -> None:
        from dbplay_desktop.ui.playground.sandbox_jobs import one_line

        self._worker = None
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        log.info("no ready clone for the next reset: %s", message)
        self.failed.emit(message)
        self._drop_later_ones()
        self.idle.emit()

    def _drop_later_ones(self) -> None:
        later, self._later = self._later, []
        for database in later:
            self._drop(database)
