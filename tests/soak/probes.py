"""What the load tests measure: the UI thread's stalls and the process's resources.

:class:`Heartbeat` is a precise ``QTimer`` on the UI thread that notes every beat; the
longest gap between two beats is the longest time the event loop could not run a timer
(a stall: a frame, a click or a key would have waited as long). :class:`Resources` counts
what a leak would grow: threads (``/proc/self/task``), open file descriptors and the
sockets among them, resident memory. :func:`settle` lets the window finish what it
started (drops, deferred deletes, pool threads) before anything is counted.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QThreadPool, QTimer


class Heartbeat(QObject):
    """Beats every ``interval_ms`` on the UI thread while started; keeps the longest gap."""

    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.beats = 0
        self.longest = 0.0
        self._last: float | None = None
        self._gaps: list[float] = []
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._beat()

    def _beat(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            gap = now - self._last
            self._gaps.append(gap)
            self.longest = max(self.longest, gap)
        self._last = now
        self.beats += 1

    def percentile(self, fraction: float) -> float:
        """The gap that ``fraction`` of all gaps do not exceed (seconds)."""
        if not self._gaps:
            return 0.0
        ordered = sorted(self._gaps)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def spin_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the UI thread's event loop (as ``app.exec()`` does) until ``done()``; the
    check runs from a timer, so the loop is never held up by the test itself."""
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(lambda: loop.quit() if done() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    check.start()
    deadline.start(int(timeout_s * 1000))
    if not done():
        loop.exec()
    check.stop()
    deadline.stop()
    assert done(), f"{what}: not done within {timeout_s:.0f} s"


def _delete_later_objects() -> None:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def settle(window: object, timeout_s: float = 120.0) -> None:
    """Wait until the window has no playground closing, no worker running; then delete
    what is waiting for deletion and let the thread pool's idle threads end."""
    from dbplay_desktop.ui.workers import live_workers

    pool = QThreadPool.globalInstance()
    spin_until(lambda: window.closing_playgrounds == 0 and not live_workers()  # type: ignore[attr-defined]
               and pool.activeThreadCount() == 0, timeout_s, "the window's work")
    for _ in range(3):
        _delete_later_objects()
        gc.collect()
    # Qt: waitForDone also ends the pool's idle threads (they would expire after 30 s).
    assert pool.waitForDone(int(timeout_s * 1000))
    _delete_later_objects()


@dataclass(frozen=True)
class Resources:
    """A count of what this process holds."""

    threads: int
    fds: int
    sockets: int
    rss_mib: float

    @classmethod
    def now(cls) -> Resources:
        links = []
        for name in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{name}"))
            except OSError:
                continue  # the listing's own descriptor, already closed
        return cls(
            threads=len(os.listdir("/proc/self/task")),
            fds=len(links),
            sockets=sum(link.startswith("socket:") for link in links),
            rss_mib=rss_mib(),
        )


def rss_mib() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_files() -> list[str]:
    """What this process's descriptors point at (for a leak's message)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            continue
    return sorted(found)


def thread_names() -> list[str]:
    """The names of this process's threads (for a leak's message)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                names.append(comm.read().strip())
        except OSError:
            continue
    return sorted(names)
