"""A fault-injecting TCP proxy for tests: a real server behind it, faults on command.

One thread runs a ``selectors`` loop, so every socket is touched by that thread only;
the controls (called from the test) are handed to it and wait until it has acted:

* :meth:`pass_through` -- forward bytes both ways (the start state; also ends a stall
  and lets held bytes go);
* :meth:`reset_all` -- cut every open connection *now* with a TCP reset (``SO_LINGER``
  0, then close), both towards the client and towards the server;
* :meth:`blackhole` -- new connections are accepted and never answered (nothing is sent
  on to the server); :meth:`refuse` -- new connections are reset as soon as accepted;
* :meth:`stall` -- bytes are read but held, not forwarded, until :meth:`release`
  (or :meth:`pass_through`) or, with ``seconds``, for that long. :attr:`held` is set
  once bytes from a client are being held: the request went out and is stuck.

Use it as a context manager, or call :meth:`close`.
"""

from __future__ import annotations

import queue
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

#: Stop reading a side while this much waits to be written to the other.
_BACKPRESSURE = 4 * 1024 * 1024


class _Side:
    """One socket of a proxied connection and what waits to be written to it."""

    def __init__(self, sock: socket.socket, from_client: bool) -> None:
        self.sock = sock
        self.from_client = from_client  # bytes read here come from the client
        self.out = bytearray()  # to write to this socket
        self.held = bytearray()  # read from the other side while stalled
        self.peer: _Side
        self.closed = False


class FaultProxy:
    """A loopback TCP proxy in front of ``upstream`` (host, port), with faults on command."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], threading.Event,
                                                list[Any]]] = queue.SimpleQueue()
        self._sides: list[_Side] = []
        self._silent: list[socket.socket] = []  # blackholed clients
        self._mode = "pass"
        self._stalled = False
        self._stall_until: float | None = None
        self._stopping = False
        #: Set when bytes from a client are held by a stall (the request is stuck).
        self.held = threading.Event()
        #: Connections accepted so far (all modes).
        self.accepted = 0
        self._thread = threading.Thread(target=self._loop, name="fault-proxy", daemon=True)
        self._thread.start()

    # -- controls (any thread) -------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def pass_through(self) -> None:
        """Forward everything again; bytes held by a stall go on now."""
        self._do(self._pass)

    def reset_all(self) -> int:
        """Reset every open connection (both ends); returns how many were cut."""
        return int(self._do(self._reset_all))

    def blackhole(self) -> None:
        """Accept new connections and never answer them (open ones keep working)."""
        self._do(lambda: setattr(self, "_mode", "blackhole"))

    def refuse(self) -> None:
        """Reset new connections as soon as they are accepted."""
        self._do(lambda: setattr(self, "_mode", "refuse"))

    def stall(self, seconds: float | None = None) -> None:
        """Hold every byte, open and new connections alike, until :meth:`release`."""
        def start() -> None:
            self.held.clear()
            self._stalled = True
            self._stall_until = time.monotonic() + seconds if seconds else None
        self._do(start)

    def release(self) -> None:
        """End a stall: the held bytes are forwarded."""
        self._do(self._release)

    def close(self) -> None:
        if self._stopping:
            return
        self._do(self._stop)
        self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _do(self, action: Callable[[], Any]) -> Any:
        done = threading.Event()
        answer: list[Any] = []
        self._commands.put((action, done, answer))
        self._wake_w.send(b"x")
        if not done.wait(10):
            raise RuntimeError("the fault proxy did not act within 10 s")
        return answer[0] if answer else None

    # -- the loop (its own thread) -----------------------------------------------------
    def _pass(self) -> None:
        self._mode = "pass"
        self._release()

    def _release(self) -> None:
        self._stalled = False
        self._stall_until = None
        for side in self._sides:
            if side.held and not side.closed:
                side.out += side.held
                side.held.clear()
                self._flush(side)

    def _reset_all(self) -> int:
        pairs = {id(side): side for side in self._sides if side.from_client}
        for sock in self._silent:
            _reset(sock)
        count = len(pairs) + len(self._silent)
        self._silent.clear()
        for side in list(self._sides):
            self._drop(side, reset=True)
        return count

    def _stop(self) -> None:
        self._reset_all()
        self._stopping = True

    def _loop(self) -> None:
        try:
            while not self._stopping:
                if self._stall_until is not None and time.monotonic() >= self._stall_until:
                    self._release()
                for key, events in self._selector.select(timeout=0.2):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._commands_now()
                    else:
                        side: _Side = key.data
                        if events & selectors.EVENT_READ and not side.closed:
                            self._read(side)
                        if events & selectors.EVENT_WRITE and not side.closed:
                            self._flush(side)
        finally:
            for sock in self._silent:
                sock.close()
            self._selector.close()
            self._listener.close()
            self._wake_r.close()
            self._wake_w.close()

    def _commands_now(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                action, done, answer = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                answer.append(action())
            finally:
                done.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except BlockingIOError:
                return
            self.accepted += 1
            if self._mode == "blackhole":
                self._silent.append(client)
                continue
            if self._mode == "refuse":
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            client.setblocking(False)
            server.setblocking(False)
            near, far = _Side(client, True), _Side(server, False)
            near.peer, far.peer = far, near
            self._sides += [near, far]
            for side in (near, far):
                self._selector.register(side.sock, selectors.EVENT_READ, side)

    def _read(self, side: _Side) -> None:
        try:
            data = side.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._drop(side, reset=True)
            return
        if not data:  # an orderly close: close the pair the same way
            self._drop(side, reset=False)
            return
        peer = side.peer
        if self._stalled:
            peer.held += data
            if side.from_client:
                self.held.set()
            return
        peer.out += data
        self._flush(peer)

    def _flush(self, side: _Side) -> None:
        if side.closed:
            return
        try:
            while side.out:
                sent = side.sock.send(side.out)
                del side.out[:sent]
        except BlockingIOError:
            pass
        except OSError:
            self._drop(side, reset=True)
            return
        events = selectors.EVENT_WRITE if side.out else 0
        if len(side.out) < _BACKPRESSURE:
            events |= selectors.EVENT_READ
        self._selector.modify(side.sock, events or selectors.EVENT_READ, side)
        peer = side.peer
        if not peer.closed:  # stop reading the source while this side is far behind
            wanted = selectors.EVENT_READ if len(side.out) < _BACKPRESSURE else 0
            wanted |= selectors.EVENT_WRITE if peer.out else 0
            if wanted:
                self._selector.modify(peer.sock, wanted, peer)

    def _drop(self, side: _Side, *, reset: bool) -> None:
        for one in (side, side.peer):
            if one.closed:
                continue
            one.closed = True
            try:
                self._selector.unregister(one.sock)
            except (KeyError, ValueError):
                pass
            if reset:
                _reset(one.sock)
            else:
                try:
                    if one.out:
                        one.sock.setblocking(True)
                        one.sock.settimeout(1)
                        one.sock.sendall(one.out)
                except OSError:
                    pass
                one.sock.close()
            if one in self._sides:
                self._sides.remove(one)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset rather than an orderly FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
