"""A playground whose connection broke (the server went away, the network reset the
link, a cancel found the server mute) and its way back: *Reconnect*.

The run that hit the broken link ends with the engine's one-line error in Messages, as
any failed statement does; after it, when the session says its connection is gone
(``Session.connection_lost``), the banner says so and offers *Reconnect*. Reconnecting
closes the dead session and opens a new one on the same database on a worker -- the
database is on the server still, so the playground goes on where it was. A server that
still does not answer gives the reason and the offer again; nothing waits on the UI
thread, and no run starts on a session known to be dead.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from dbplay_desktop.display_text import safe_text

if TYPE_CHECKING:
    from dbplay_desktop.engines.base import Engine, Session
    from dbplay_desktop.ui.playground.sandbox_jobs import Prepared

__all__ = ["ReconnectMixin", "reconnect_session"]


def reconnect_session(engine: Engine, database: str, old: Session | None,
                      batch_size: int, timeout: float | None) -> Prepared:
    """Worker body: close the dead session (promptly: its link is gone), then connect
    to ``database`` again and read its catalog."""
    from dbplay_desktop.ui.playground.sandbox_jobs import connected

    if old is not None:
        with suppress(Exception):
            old.close()
    return connected(engine, database, batch_size, timeout)


class ReconnectMixin:
    """The reconnect part of :class:`~.playground.Playground`."""

    #: Whether the session's connection is known to be gone (the banner offers Reconnect).
    link_is_lost: bool = False
    _reconnecting: bool = False

    @property
    def session_lost(self) -> bool:
        """Whether this playground's session says its connection is gone."""
        session = self.session
        return session is not None and bool(getattr(session, "connection_lost", False))

    def _check_link(self) -> bool:
        """After a run: when the connection is gone, say so and offer to reconnect."""
        if not self.session_lost:
            return False
        self.link_is_lost = True
        self.show_banner(
            safe_text(f"The connection to {self.server_name or 'the server'} was lost. "
                      f"Reconnect to go on in database {self.database}."),
            busy=False, error=True, retry="Reconnect", close="Dismiss")
        self.link_lost.emit()
        return True

    def reconnect(self) -> bool:
        """Open a new session on this playground's database (the old one is dead)."""
        from dbplay_desktop.ui.playground.playground import READY
        from dbplay_desktop.ui.workers import Worker, start_worker

        if (self.state != READY or self.engine is None or self.database is None
                or self.is_running or self._reconnecting):
            return False
        self._reconnecting = True
        self.status = "Reconnecting…"
        self.show_banner(f"Reconnecting to database {self.database}…", busy=True)
        runner, old = self.runner, self.session
        if runner is not None:
            runner.discard(close_session=False)  # the worker below closes the session
            runner.deleteLater()
        self.runner, self.session = None, None
        worker = Worker(reconnect_session, self.engine, self.database, old,
                        self.batch_size, self.timeout)
        worker.signals.returned.connect(self._on_reconnected)
        worker.signals.errored.connect(self._on_reconnect_failed)
        start_worker(worker)
        self.state_changed.emit()
        return True

    def _on_reconnected(self, prepared: Prepared) -> None:
        from dbplay_desktop.ui.playground.playground import READY

        self._reconnecting = False
        if self.state != READY or prepared.database != self.database:
            self._drop_session_later(prepared.session)  # closed or lost meanwhile
            return
        self.link_is_lost = False
        self._adopt(prepared)
        self.status_message.emit(f"{self.title}: reconnected to database {self.database}")

    def _on_reconnect_failed(self, exc: object) -> None:
        from dbplay_desktop.ui.playground.playground import READY
        from dbplay_desktop.ui.playground.sandbox_jobs import one_line

        self._reconnecting = False
        if self.state != READY:
            return
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        self.status = "Connection lost"
        self.show_banner(safe_text(f"Could not reconnect: {message}"), busy=False,
                         error=True, retry="Reconnect", close="Dismiss")
        self.status_message.emit(safe_text(f"Could not reconnect: {message}"))
        self.state_changed.emit()

    def _drop_session_later(self, session: Session | None) -> None:
        if session is None:
            return
        from dbplay_desktop.ui.workers import Worker, start_worker

        start_worker(Worker(session.close))
