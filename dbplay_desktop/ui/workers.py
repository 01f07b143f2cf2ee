"""One worker type for every engine call: a ``QRunnable`` that reports through Qt signals.

After superqt's thread workers (napari's ``thread_worker``). The UI thread never waits on
a database: it starts a :class:`Worker` on the thread pool and listens to its signals.

Connecting -- how results reach the right place, and stop when a tab closes
-------------------------------------------------------------------------
``worker.signals`` lives on the thread that created the worker (the UI thread), and the
signals are emitted from the pool thread, so Qt *queues* every delivery to the
receiver's thread. Always connect **bound methods of a QObject that belongs to the work**
(the result tab, its model, a :class:`~.results_model.QueryRunner`)::

    worker = Worker(fetch_rows, session)             # build, connect, then start
    worker.signals.yielded.connect(tab.on_rows)      # tab is a QObject: the context
    worker.signals.finished.connect(tab.on_done)
    start_worker(worker)

PySide then uses that QObject as the connection's context: when the tab is destroyed its
connections vanish, and rows still queued for it are dropped, not delivered to a dead
widget. A ``lambda`` or ``functools.partial`` has no such context and keeps firing after
the tab is gone -- use :func:`connect_in_context` when extra arguments are needed.
Closing a tab should also ``quit()`` its workers (and cancel the session) so the
thread is freed soon.

Every worker carries a ``generation`` token; owners that restart work compare it with
their current generation and ignore results from an older run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

__all__ = [
    "Worker",
    "WorkerSignals",
    "connect_in_context",
    "live_workers",
    "start_worker",
    "stop_all_workers",
]


class WorkerSignals(QObject):
    """The signals of one :class:`Worker` (a QRunnable cannot have signals itself)."""

    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)  # the exception object
    finished = Signal()


class Worker(QRunnable):
    """Run ``fn(*args, **kwargs)`` on a pool thread and report through :attr:`signals`.

    ``fn`` may be a generator function: each yielded value is emitted via ``yielded``
    and :meth:`quit` stops it at the next yield (the generator is closed, so its
    ``finally`` blocks run on the worker thread). A return value is emitted via
    ``returned`` (not after :meth:`quit`); an exception via ``errored`` and never into
    Qt. ``started`` is always first and ``finished`` always last.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        # Python owns the runnable; the pool must not delete it behind the wrapper's back.
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.generation = 0
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._abort = False
        self._running = False
        self._done = False
        self._reaper: _Reaper | None = None

    def quit(self) -> None:
        """Ask the worker to stop at its next yield; safe from any thread, any time."""
        self._abort = True

    @property
    def aborted(self) -> bool:
        """Whether :meth:`quit` was called."""
        return self._abort

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def is_done(self) -> bool:
        """Whether ``finished`` has been emitted."""
        return self._done

    def run(self) -> None:
        """Called by the thread pool; use :func:`start_worker` instead of calling it."""
        signals = self.signals
        self._running = True
        try:
            signals.started.emit()
            if inspect.isgeneratorfunction(self._fn):
                self._run_generator(signals)
            else:
                result = self._fn(*self._args, **self._kwargs)
                if not self._abort:
                    signals.returned.emit(result)
        except _SignalsGone:
            pass
        except Exception as exc:
            _emit_quietly(signals.errored, exc)
        finally:
            self._running = False
            self._done = True
            # Drop references to the work (sessions, results, rows) on the worker thread.
            self._fn = self._args = self._kwargs = None  # type: ignore[assignment]
            _emit_quietly(signals.finished)
            # Only now has every delivery of ``finished`` been queued, including those
            # of listeners connected after the reaper: tell it from an object that is
            # never deleted, so its ``deleteLater`` cannot overtake them.
            reaper, self._reaper = self._reaper, None
            if reaper is not None:
                _emit_quietly(reaper.released, self)

    def _run_generator(self, signals: WorkerSignals) -> None:
        generator = self._fn(*self._args, **self._kwargs)
        try:
            while not self._abort:
                try:
                    value = next(generator)
                except StopIteration as stop:
                    if not self._abort:
                        signals.returned.emit(stop.value)
                    return
                if self._abort:
                    return
                try:
                    signals.yielded.emit(value)
                except RuntimeError as exc:  # the signals object was deleted
                    raise _SignalsGone from exc
        finally:
            generator.close()


class _SignalsGone(Exception):
    """The worker's signals object was deleted (application shutting down): stop quietly."""


def _emit_quietly(signal: Any, *args: Any) -> None:
    try:
        signal.emit(*args)
    except RuntimeError:
        pass  # nobody is left to tell (application shutting down)


# --------------------------------------------------------------------------- lifetime


class _Reaper(QObject):
    """Lives on the UI thread and releases finished workers there, never on a pool thread.

    A worker reports through :attr:`released` once its last ``finished.emit`` has
    returned. Deleting the signals object on ``finished`` itself would be too soon:
    the pool thread may still be queueing deliveries for listeners connected after the
    reaper, and Qt drops deliveries queued behind a ``deleteLater`` -- or the sender
    is freed while it is still emitting.
    """

    released = Signal(object)  # the worker, emitted from its pool thread

    def __init__(self) -> None:
        super().__init__()
        self.workers: set[Worker] = set()
        self.released.connect(self._on_released)

    def keep(self, worker: Worker) -> None:
        self.workers.add(worker)
        worker._reaper = self

    @Slot(object)
    def _on_released(self, worker: Worker) -> None:
        self.workers.discard(worker)
        # The signals object belongs to this thread: delete it here, after every
        # delivery already queued, rather than wherever the last reference drops.
        try:
            worker.signals.deleteLater()
        except RuntimeError:
            pass  # already deleted (application shutting down)


_reaper: _Reaper | None = None

#: Threads the global pool offers at least. Qt sizes it to the CPU count, but workers
#: mostly wait on servers (a ``pg_sleep`` in one tab must not hold up another tab's
#: catalog refresh), so a 2-core machine still needs more than 2.
MIN_POOL_THREADS = 16


def _get_reaper() -> _Reaper:
    global _reaper
    if _reaper is None:
        _reaper = _Reaper()
        pool = QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), MIN_POOL_THREADS))
    return _reaper


def live_workers() -> set[Worker]:
    """Workers started by :func:`start_worker` not yet released (a moment after ``finished``)."""
    return set(_get_reaper().workers)


def start_worker(
    fn: Callable[..., Any] | Worker,
    *args: Any,
    _pool: QThreadPool | None = None,
    **kwargs: Any,
) -> Worker:
    """Start ``fn(*args, **kwargs)`` on ``QThreadPool.globalInstance()`` (or ``_pool``).

    A strong reference is kept until ``finished`` has been handled, so callers may drop
    the returned worker. The work starts at once, so a signal connected after this call
    may miss early emissions: to hear every signal, build the :class:`Worker`, connect
    it, then pass it here (it is started as is). Call this on the UI thread.
    """
    worker = fn if isinstance(fn, Worker) else Worker(fn, *args, **kwargs)
    _get_reaper().keep(worker)
    (_pool or QThreadPool.globalInstance()).start(worker)
    return worker


def stop_all_workers(msecs: int = 3000) -> bool:
    """Ask every live worker to quit and wait up to ``msecs`` for the global pool.

    For application shutdown, after cancelling running statements; returns whether
    all work ended in time.
    """
    for worker in live_workers():
        worker.quit()
    return QThreadPool.globalInstance().waitForDone(msecs)


class _ContextRelay(QObject):
    def __init__(self, context: QObject, callback: Callable[..., Any]) -> None:
        super().__init__(context)
        self._callback = callback

    def relay(self, *args: Any) -> None:
        self._callback(*args)


def connect_in_context(signal: Any, context: QObject, callback: Callable[..., Any]) -> None:
    """Connect ``signal`` to any callable, tied to ``context``'s thread and lifetime.

    A small relay object becomes a child of ``context``; when ``context`` is destroyed the
    relay goes with it and so does the connection -- what a lambda alone cannot do.
    """
    relay = _ContextRelay(context, callback)
    signal.connect(relay.relay)
