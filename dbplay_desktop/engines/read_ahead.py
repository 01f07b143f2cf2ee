"""Reading a database's batches on a thread of their own, a few ahead of their writer.

A dump alternates between waiting for the next batch (a socket read, or a store's native
code) and compressing the last one into the template; both release the GIL, so running
them on two threads lets the database and the compressor work at the same time. At most
``depth`` batches wait between them, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
#: Batches read ahead of their writer, at most.
DEPTH = 4
_END = object()


def read_ahead(batches: Iterable[T], depth: int = DEPTH,
               close: Callable[[], object] | None = None) -> Generator[T, None, None]:
    """The items of ``batches``, in order, produced by a reader thread up to ``depth`` ahead.

    An error of the reader is raised in the caller's thread, at the item where it
    happened. Closing the generator early (a cancel, a failed write) stops the reader
    after the item it is producing, then calls ``close`` (or ``batches.close``) on the
    reader's thread, so a cursor is closed where it was used.
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    break
            else:
                offer(_END)
        except BaseException as exc:  # handed over to the caller's thread
            offer(exc)
        finally:
            closer = close or getattr(batches, "close", None)
            if closer is not None:
                try:
                    closer()
                except Exception:
                    pass

    reader = threading.Thread(target=read, name="dbplay-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
