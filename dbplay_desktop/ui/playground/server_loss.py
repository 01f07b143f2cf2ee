"""A playground whose local server died under it, and its way back.

When the window notices that the private server it started is gone (killed, crashed),
every playground on it becomes *lost* (:data:`LOST`): what runs is abandoned, the tab
keeps its editor text and says what happened, and its banner offers to restart the
server. Once the server runs again the window hands each lost playground the new engine
(:meth:`ServerLossMixin.reopen`): the databases it had on the old server are dropped
there, and the playground is made again from its template (a blank one starts empty),
exactly as when it was first opened. Nothing here waits on the server: every drop and
restore runs on a worker like any other.

A preparation that was under way when the server died may still report later; such a
report is *stale* (:meth:`ServerLossMixin._stale_prepare`) and only what it made is
dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbplay_desktop.display_text import safe_text

if TYPE_CHECKING:
    from dbplay_desktop.engines.base import Engine, Session

__all__ = ["LOST", "ServerLossMixin"]

#: The playground's server died; it waits for a restart (or to be closed).
LOST = "lost"


class ServerLossMixin:
    """The server-loss part of :class:`~.playground.Playground`."""

    _lost_databases: list[str]

    def server_lost(self, message: str) -> None:
        """The server this playground's sandbox lived on is gone: stop using it, keep the
        editor, and offer a restart (``message`` says which server and how)."""
        from dbplay_desktop.ui.playground.playground import CLOSED, CLOSING

        if self.state in (CLOSING, CLOSED, LOST) or self.engine is None:
            return
        self.state = LOST  # first: from here on, drops are noted for after the restart
        if self._relay is not None:
            self._relay.cancelled.set()
        self._prepare_worker = None  # what it still reports is stale
        runner, database = self.runner, self.database
        self.runner, self.session, self.database = None, None, None
        self.results.end()
        if runner is not None:
            runner.discard(close_session=True)  # fails fast: the socket is gone
        if database is not None:
            self._drop_later(database, None)
        self.clones.forget()
        self.engine = None
        self.modified = False  # what changed lived on the server; the script is kept
        self.error = message
        self.status = "Server stopped"
        what = f"reopens “{self.title}” from its template" if self.template_path else (
            "gives it a fresh database")
        self.show_banner(
            safe_text(f"{message}. The editor keeps your script; restarting the server "
                      f"{what}."),
            busy=False, error=True, retry="Restart server", close="Close playground")
        self.status_message.emit(safe_text(message))
        self.state_changed.emit()

    def reopen(self, engine: Engine) -> None:
        """The server runs again as ``engine``: drop what this playground had on it before
        it died, then make the playground again from its template."""
        if self.state != LOST:
            return
        self.engine = engine
        lost, self._lost_databases = self._lost_databases, []
        from dbplay_desktop.ui.playground.playground import PREPARING

        self.state = PREPARING
        for database in lost:
            self._drop_later(database, None)
        self.results.clear()
        self._prepare(resetting=False)

    def restart_failed(self, message: str) -> None:
        """The server could not be started again: say why and offer another try."""
        if self.state != LOST:
            return
        self.error = message
        self.show_banner(safe_text(f"The server did not start again: {message}"),
                         busy=False, error=True, retry="Restart server",
                         close="Close playground")
        self.state_changed.emit()

    # -- bookkeeping used by the playground ---------------------------------------------
    def _note_lost(self, database: str, session: Session | None) -> None:
        """A database on the dead server: dropped after the restart. Its session, if
        any, is closed on a worker (it fails fast: the connection is gone)."""
        if database not in self._lost_databases:
            self._lost_databases.append(database)
        if session is not None:
            from dbplay_desktop.ui.workers import Worker, start_worker

            start_worker(Worker(session.close))

    def _stale_prepare(self) -> bool:
        """Whether the preparation reporting now is one the server's death abandoned."""
        from dbplay_desktop.ui.workers import WorkerSignals

        sender = self.sender()
        if not isinstance(sender, WorkerSignals):
            return False
        worker = self._prepare_worker
        return worker is None or sender is not worker.signals
