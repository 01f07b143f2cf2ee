"""Chroma over HTTP with the connection timeout, and a link a cancel can cut.

chromadb's HTTP client makes its ``httpx.Client`` with no timeout at all, and asks the
server for the tenant and database while it is being made. So before making one, dbplay
asks the server's heartbeat itself, waiting at most the connection timeout
(:func:`probe`: a server that accepts TCP and never answers fails there, as a
:class:`~dbplay_desktop.errors.ConnectionFailed`); then :func:`harden` gives the client's
``httpx`` session the timeout for connecting, sending and waiting for a free connection
(reading an answer keeps no limit unless asked: a large ``get`` may take its time), and
records the sockets it opens in a :class:`Link`, whose :meth:`Link.cut` shuts them so a
call blocked on a server that stopped answering ends at once.

The client's ``httpx`` internals (``_server._session``, the transport's pool and network
backend) are reached by name; when a chromadb or httpx version moves them, the timeout
still applies where it can and the cut does nothing (a cancel then waits for the call).
"""

from __future__ import annotations

import socket
import threading
import weakref
from contextlib import suppress
from typing import Any


class Link:
    """The sockets one client opened, so that a cancel can shut them."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def cut(self) -> None:
        """Shut every socket still open: reads blocked on them return at once."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _recording_backend(link: Link, inner: Any) -> Any:
    import httpcore

    class Recording(httpcore.NetworkBackend):
        """httpcore's network backend, noting each socket it opens in ``link``."""

        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None,
                        socket_options: Any = None) -> Any:
            stream = inner.connect_tcp(host, port, timeout=timeout,
                                       local_address=local_address,
                                       socket_options=socket_options)
            sock = stream.get_extra_info("socket")
            if isinstance(sock, socket.socket):
                link.add(sock)
            return stream

        def connect_unix_socket(self, path: str, timeout: float | None = None,
                                socket_options: Any = None) -> Any:
            return inner.connect_unix_socket(path, timeout=timeout,
                                             socket_options=socket_options)

        def sleep(self, seconds: float) -> None:
            inner.sleep(seconds)

    return Recording()


def base_url(host: str, port: int, ssl: bool) -> str:
    return f"{'https' if ssl else 'http'}://{host}:{port}"


def probe(url: str, headers: dict[str, str], timeout: float) -> None:
    """Ask the server's heartbeat, waiting at most ``timeout`` for each step.

    Raises httpx's error (the caller words it) when the server does not answer.
    """
    import httpx

    response = httpx.get(f"{url}/api/v2/heartbeat", headers=headers,
                         timeout=httpx.Timeout(timeout))
    if response.status_code == 404:  # an older server: v1 only
        response = httpx.get(f"{url}/api/v1/heartbeat", headers=headers,
                             timeout=httpx.Timeout(timeout))
    response.raise_for_status()


def harden(client: Any, timeout: float, *, read: float | None = None,
           link: Link | None = None) -> None:
    """Give a chromadb client's HTTP session ``timeout`` (and ``read`` for answers);
    with ``link``, its connections from now on are noted there."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        return
    session.timeout = httpx.Timeout(timeout, read=read)
    if link is None:
        return
    pool = getattr(getattr(session, "_transport", None), "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if inner is None:
        return
    pool._network_backend = _recording_backend(link, inner)
    with suppress(Exception):
        pool.close()  # the connection made before: not recorded, so not kept
