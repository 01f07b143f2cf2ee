"""The one error family of dbplay: every layer raises and catches these.

On the ground floor so that ``engines/``, ``servers/``, ``templates/`` and the window can
all use them without importing each other. ``str(err)`` is always one line a user can
read; the window shows ``title`` as a heading.
"""

from __future__ import annotations

from typing import ClassVar


class EngineError(Exception):
    """The one error family: ``str(err)`` is a single line a user can read.

    ``title`` is a short heading for dialogs; ``position`` is a 0-based character offset
    into the text the user ran (when the server said where), ``line``/``column`` its
    1-based location (or the failing statement's, when the server gave no position).

    What a server says beyond its one-line reason is kept apart, so a window can show it
    on lines of its own: ``code`` is the server's error code (``code_name`` says which
    kind, e.g. ``"SQLSTATE"``), ``detail`` and ``hint`` its extra sentences. ``message``
    (and ``str(err)``) still holds all of it on one line: ``reason — detail (hint: ...)``,
    and ``reason`` the first part alone.
    """

    title: ClassVar[str] = "Database error"

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
        code: str | None = None,
        code_name: str = "code",
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        reason = " ".join(str(message).split()) or self.title
        detail = " ".join(str(detail).split()) if detail else None
        hint = " ".join(str(hint).split()) if hint else None
        message = reason
        if detail:
            message += f" — {detail}"
        if hint:
            message += f" (hint: {hint})"
        super().__init__(message)
        self.message = message
        self.reason = reason
        if title is not None:
            self.title = title  # type: ignore[misc]
        self.position = position
        self.line = line
        self.column = column
        self.code = code or None
        self.code_name = code_name
        self.detail = detail or None
        self.hint = hint or None


class ConnectionFailed(EngineError):
    """The server could not be reached or refused the credentials."""

    title = "Connection failed"


class ConnectionLost(ConnectionFailed):
    """The connection to the server broke mid-way: reset, closed or timed out.

    Unlike a plain :class:`ConnectionFailed` (the server could not be reached at all),
    the session had a working connection and lost it -- the server went away, the
    network reset the link, or a cancel found the server not answering and dbplay cut
    the link. The message says what happened and to which server (``host:port``, never
    a password): ``lost the connection to 127.0.0.1:5433 (server closed the connection
    unexpectedly)``. The session that raised it can run nothing more
    (:attr:`~dbplay_desktop.engines.base.Session.connection_lost` is True): close it and
    open a new one with ``Engine.connect(database)`` once the server answers again.
    """

    title = "Connection lost"


class QueryError(EngineError):
    """A statement failed on the server (syntax, constraint, permission, ...)."""

    title = "Query failed"


class QueryCancelled(QueryError):
    """The statement was stopped by :meth:`Session.cancel` or a timeout."""

    title = "Query cancelled"


class DumpError(EngineError):
    """The database state could not be written out as template payload."""

    title = "Save failed"


class RestoreError(EngineError):
    """A payload could not be restored; the target database was removed again."""

    title = "Restore failed"


class UnsafeContent(RestoreError):
    """A static scan found something in an untrusted payload that reaches outside its sandbox."""

    title = "Unsafe template"


class UnsupportedUri(EngineError):
    """No engine handles this URI, or the URI is malformed."""

    title = "Unsupported address"
