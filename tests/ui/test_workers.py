"""The worker type: signal order, errors, quit, lifetime, and connections tied to a context."""

from __future__ import annotations

import gc
import threading
import time

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThreadPool

from dbplay_desktop.ui.workers import Worker, connect_in_context, live_workers, start_worker


class Recorder(QObject):
    """A receiver living on the UI thread, as a result tab would."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object, str]] = []

    def _add(self, name: str, value: object = None) -> None:
        self.events.append((name, value, threading.current_thread().name))

    def on_started(self) -> None:
        self._add("started")

    def on_yielded(self, value: object) -> None:
        self._add("yielded", value)

    def on_returned(self, value: object) -> None:
        self._add("returned", value)

    def on_errored(self, error: object) -> None:
        self._add("errored", error)

    def on_finished(self) -> None:
        self._add("finished")

    def attach(self, worker: Worker) -> Worker:
        worker.signals.started.connect(self.on_started)
        worker.signals.yielded.connect(self.on_yielded)
        worker.signals.returned.connect(self.on_returned)
        worker.signals.errored.connect(self.on_errored)
        worker.signals.finished.connect(self.on_finished)
        return worker

    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.wait(10)


def test_function_worker_signals_in_order_on_the_ui_thread(qtbot):
    recorder = Recorder()
    worker = recorder.attach(Worker(lambda a, b=0: a + b, 2, b=3))
    signals = worker.signals
    with qtbot.waitSignals([signals.started, signals.returned, signals.finished], order="strict"):
        start_worker(worker)
    qtbot.waitUntil(lambda: "finished" in recorder.names())
    assert recorder.events[1][1] == 5
    assert {thread for _, _, thread in recorder.events} == {threading.main_thread().name}


def test_generator_worker_yields_every_value_then_returns(qtbot):
    def count(n):
        yield from range(n)
        return "done"

    recorder = Recorder()
    worker = recorder.attach(Worker(count, 5))
    with qtbot.waitSignal(worker.signals.finished, timeout=5000):
        start_worker(worker)
    qtbot.waitUntil(lambda: "finished" in recorder.names())
    assert recorder.names() == ["started"] + ["yielded"] * 5 + ["returned", "finished"]
    assert [v for name, v, _ in recorder.events if name == "yielded"] == [0, 1, 2, 3, 4]
    assert recorder.events[-2][1] == "done"


@pytest.mark.parametrize("generator", [False, True])
def test_errors_surface_as_errored_never_raised(qtbot, generator):
    def boom():
        raise ValueError("bad input at line 3")

    def boom_later():
        yield 1
        raise ValueError("bad input at line 3")

    recorder = Recorder()
    worker = recorder.attach(Worker(boom_later if generator else boom))
    signals = worker.signals
    with qtbot.waitSignals([signals.started, signals.errored, signals.finished], order="strict"):
        start_worker(worker)
    qtbot.waitUntil(lambda: "finished" in recorder.names())
    assert "returned" not in recorder.names()
    error = next(v for name, v, _ in recorder.events if name == "errored")
    assert isinstance(error, ValueError) and str(error) == "bad input at line 3"


def test_quit_stops_a_generator_at_the_next_yield_and_runs_its_cleanup(qtbot):
    cleaned = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                time.sleep(0.001)
                yield i
                i += 1
        finally:
            cleaned.set()

    recorder = Recorder()
    worker = recorder.attach(Worker(endless))
    start_worker(worker)
    qtbot.waitUntil(lambda: "yielded" in recorder.names(), timeout=30_000)
    # Generous: the thousands of yields queued before the quit are delivered first.
    with qtbot.waitSignal(worker.signals.finished, timeout=60_000):
        worker.quit()
    qtbot.waitUntil(lambda: "finished" in recorder.names())
    assert worker.aborted
    assert cleaned.is_set()
    assert "returned" not in recorder.names()
    assert recorder.names()[-1] == "finished"


def test_start_worker_keeps_the_worker_alive_until_finished(qtbot):
    recorder = Recorder()

    def slow():
        time.sleep(0.05)
        return 42

    worker = recorder.attach(Worker(slow))
    start_worker(worker)
    del worker
    gc.collect()
    qtbot.waitUntil(lambda: "finished" in recorder.names(), timeout=5000)
    assert ("returned", 42) in [(n, v) for n, v, _ in recorder.events]
    qtbot.waitUntil(lambda: not live_workers(), timeout=5000)


def test_many_workers_on_a_private_pool(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(2)
    recorder = Recorder()
    for i in range(100):
        start_worker(recorder.attach(Worker(lambda x: x * 2, i)), _pool=pool)
    qtbot.waitUntil(lambda: recorder.names().count("finished") == 100, timeout=10_000)
    returned = sorted(v for name, v, _ in recorder.events if name == "returned")
    assert returned == [i * 2 for i in range(100)]
    pool.waitForDone()


def test_destroyed_receiver_gets_nothing_more(qtbot):
    """Closing a tab destroys its QObjects; their connections go with them."""

    def values():
        for i in range(200):
            time.sleep(0.001)
            yield i

    alive, doomed = Recorder(), Recorder()
    worker = alive.attach(Worker(values))
    doomed.attach(worker)
    start_worker(worker)
    qtbot.waitUntil(lambda: "yielded" in doomed.names(), timeout=5000)
    seen = len(doomed.events)
    shiboken6.delete(doomed)  # what closing the tab does to it
    qtbot.waitUntil(lambda: "finished" in alive.names(), timeout=10_000)
    assert alive.names().count("yielded") == 200
    assert seen >= 1


def test_connect_in_context_ties_a_callback_to_its_context(qtbot):
    got: list[object] = []
    context = QObject()

    def values():
        yield from range(3)

    worker = Worker(values)
    connect_in_context(worker.signals.yielded, context, got.append)
    with qtbot.waitSignal(worker.signals.finished):
        start_worker(worker)
    qtbot.waitUntil(lambda: len(got) == 3)
    assert got == [0, 1, 2]

    later = Worker(values)
    connect_in_context(later.signals.yielded, context, got.append)
    witness: list[int] = []
    later.signals.yielded.connect(witness.append)  # delivered in the same order
    shiboken6.delete(context)
    with qtbot.waitSignal(later.signals.finished):
        start_worker(later)
    qtbot.waitUntil(lambda: len(witness) == 3)
    assert got == [0, 1, 2]


def test_stop_all_workers_quits_generators(qtbot):
    from dbplay_desktop.ui.workers import stop_all_workers

    def endless():
        while True:
            time.sleep(0.001)
            yield 0

    workers = [start_worker(Worker(endless)) for _ in range(3)]
    qtbot.waitUntil(lambda: all(w.is_running for w in workers), timeout=5000)
    assert stop_all_workers(5000)
    assert all(w.is_done and w.aborted for w in workers)


def _spin(stop: threading.Event) -> None:
    """Keep a thread busy in Python, so the GIL changes hands in the middle of emits."""
    while not stop.is_set():
        sum(range(100))


def test_a_callable_connected_to_finished_after_the_start_always_hears_it(qtbot):
    """PySide queues a lambda's deliveries on the signals object itself, and the pool
    thread may still be queueing ``finished`` for listeners connected after the lifetime
    keeper's when the keeper first hears it: the signals object must outlive every one of
    those deliveries, even when a nested event loop flushes deferred deletes (as ``qWait``
    does). A stress test: deleting the object on ``finished`` lost deliveries in about
    one run of four."""
    count, listeners = 300, 20  # many connections after the keeper's widen the window
    gate = threading.Event()
    heard: list[int] = []
    for number in range(count):
        worker = start_worker(gate.wait, 30)
        for _ in range(listeners):
            worker.signals.finished.connect(lambda n=number: heard.append(n))
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,))
    spinner.start()
    gate.set()
    try:
        qtbot.waitUntil(lambda: not live_workers(), timeout=60_000)
    finally:
        stop.set()
        spinner.join()
    qtbot.waitUntil(lambda: len(heard) == count * listeners, timeout=10_000)
    assert sorted(set(heard)) == list(range(count))
