"""What the window needs of a private server it starts itself: the local-server protocol.

An engine whose sandboxes live on a server (``Capabilities.needs_server``) may name a
factory in its descriptor's ``local_server`` (``"module:Class"``); the window resolves it
and hands it to :class:`~dbplay_desktop.servers.manager.ServerManager`, which calls
``factory(data_dir)`` (``None``: the server's own default place) on first need and keeps
the object for the app's lifetime. Nothing here knows an engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["LocalServer", "LocalServerFactory"]


@runtime_checkable
class LocalServer(Protocol):
    """A server dbplay runs privately (or adopts, when an earlier run left it going)."""

    #: Its name for people ("Embedded PostgreSQL").
    label: str

    def start(self) -> str:
        """Start (or adopt) the server; returns its administrator URI (with password).

        Raises an :class:`~dbplay_desktop.errors.EngineError` subclass with one line a
        user can read when the server cannot run here.
        """
        ...

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        ...

    def is_alive(self) -> bool:
        """Whether the server's process still runs: a process lookup, no connection, so
        the window can ask every second and notice a server that was killed. After a
        death, :meth:`start` starts it again."""
        ...

    def describe(self) -> str:
        """A few lines for a tooltip: address, data directory, process."""
        ...

    def uri(self, database: str, *, with_password: bool = False) -> str:
        """The URI of ``database`` on this server, for other tools."""
        ...

    def uri_note(self) -> str:
        """How other tools find the password left out of :meth:`uri` ("" when none)."""
        ...


LocalServerFactory = Callable[[Path | None], LocalServer]
