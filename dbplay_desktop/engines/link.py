"""The link to a server: the connection timeout, lost-connection errors, cut links.

Shared by the engines that talk to a server over the network (PostgreSQL, MongoDB,
Chroma over HTTP), so a server that goes away or stops answering looks the same in every
tab: a one-line :class:`~dbplay_desktop.errors.ConnectionLost` and a session whose
``connection_lost`` is True.

**The connection timeout** is one setting, ``DBPLAY_CONNECT_TIMEOUT`` (seconds, default
:data:`DEFAULT_CONNECT_TIMEOUT`; empty or ``0`` means the default, there is no "wait
forever"). It bounds opening a connection (a server that accepts TCP but never answers
fails with :class:`~dbplay_desktop.errors.ConnectionFailed` within it) and each step of
a cancel: the cancel request itself, then the wait for the statement to stop. A
statement still running one connection timeout after its cancel is cut off by closing
its socket, so a cancel never waits forever on a server that stopped answering.
"""

from __future__ import annotations

import math
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from dbplay_desktop.engines.base import Statement, StatementResult
from dbplay_desktop.errors import ConnectionLost, EngineError

#: The environment variable of the connection timeout, in seconds.
CONNECT_TIMEOUT_ENV = "DBPLAY_CONNECT_TIMEOUT"
#: The connection timeout when the setting is not given.
DEFAULT_CONNECT_TIMEOUT = 10.0


def connect_timeout(value: float | None = None) -> float:
    """The connection timeout in seconds: ``value`` when given, else the setting."""
    if value is not None and value > 0:
        return float(value)
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise EngineError(f"{CONNECT_TIMEOUT_ENV} must be a number of seconds, not {raw!r}") \
            from exc
    if not math.isfinite(seconds) or seconds < 0:
        raise EngineError(f"{CONNECT_TIMEOUT_ENV} must be a number of seconds, not {raw!r}")
    return seconds or DEFAULT_CONNECT_TIMEOUT


def one_reason(text: str) -> str:
    """A driver's (often multi-line) network error as a short reason.

    Keeps the first line and drops the driver's own prefix ("consuming input failed:"),
    so ``server closed the connection unexpectedly`` or ``Connection reset by peer``
    remains.
    """
    lines = [" ".join(line.split()) for line in str(text).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    for prefix in ("consuming input failed:", "sending query failed:",
                   "sending query and params failed:", "could not receive data from server:",
                   "could not send data to server:"):
        if first.lower().startswith(prefix):
            first = first[len(prefix):].strip()
    return first.rstrip(".") or "the connection closed"


def lost(address: str, reason: str, *, line: int | None = None,
         column: int | None = None) -> ConnectionLost:
    """``lost the connection to host:port (reason)`` as one line."""
    reason = " ".join(str(reason).split())
    return ConnectionLost(f"lost the connection to {address}" + (f" ({reason})" if reason else ""),
                          line=line, column=column)


def refused_after_loss(address: str, loss: ConnectionLost, index: int,
                       statement: Statement) -> StatementResult:
    """The result of a statement a session whose connection is gone never runs."""
    error = lost(address, f"{loss.reason}; reconnect to run more", line=statement.line,
                 column=statement.column)
    return StatementResult(index=index, statement=statement, error=error,
                           changes_state=False)


def cut_reason(seconds: float) -> str:
    """Why a cancel closed the link itself."""
    return (f"the server did not stop the statement within {seconds:g} s of the cancel, "
            "so dbplay closed the connection")


def shutdown_fd(fd: int) -> None:
    """Shut a connected socket down by its file descriptor (the owner's reads wake up).

    ``shutdown`` acts on the socket, not the descriptor, so a duplicate is enough and the
    owner's descriptor stays open for it to close as usual.
    """
    if fd < 0:
        return
    with suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


class ServerCalls:
    """Whether the session's worker is inside a call to the server, for cancel.

    The worker wraps each round trip in :meth:`call`; a cancel waits for the call to end
    (:meth:`wait_idle`) and, when it does not, cuts the link with :meth:`cut` -- under the
    same lock, so the socket it shuts is the one the call is blocked on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._depth = 0
        #: Set once :meth:`cut` closed the link; the error then says why.
        self.cut_reason: str | None = None

    @contextmanager
    def call(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth <= 0:
                    self._depth = 0
                    self._idle.set()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the call in flight to end; True when idle."""
        return self._idle.wait(timeout)

    def cut(self, reason: str, closer: Callable[[], None]) -> bool:
        """Run ``closer`` (which shuts the link) when a call is still in flight."""
        with self._lock:
            if self._idle.is_set():
                return False
            self.cut_reason = reason
            with suppress(Exception):
                closer()
            return True

    def escalate(self, grace: float, closer: Callable[[], None]) -> None:
        """After a cancel was sent: wait ``grace`` for the call to end, else cut the link."""
        if self.wait_idle(grace):
            return
        if self.cut(cut_reason(grace), closer):
            self.wait_idle(grace)
