"""The clock a run shows while it runs ("Running… 3.4 s"), and how times are written.

Users judge a slow query by watching it: a status that says only "Running…" for a
minute cannot tell a busy server from a hung one. :class:`RunClock` measures a run with
a monotonic clock and ticks a few times a second so the status line and the running
result's footer can show the time; a tick is one label update and nothing more (no
model work, no chrome refresh), so the clock costs nothing a user could notice.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

#: How often the shown time is refreshed while a run goes on (ms). Often enough to look
#: live at one decimal, rarely enough to cost nothing.
TICK_MS = 100


def format_elapsed(seconds: float | None) -> str:
    """ "12 ms", "1.52 s", "2 min 5 s"; empty when unknown (final times of statements)."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:,.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def format_live(seconds: float) -> str:
    """A time that is still growing: "0.0 s", "3.4 s", "2 min 05 s" (steady width)."""
    if seconds < 60:
        return f"{max(0.0, seconds):.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def running_status(seconds: float, *, cancelling: bool = False) -> str:
    """The status while a run goes on: "Running… 3.4 s" (or "Cancelling… 3.4 s")."""
    return f"{'Cancelling' if cancelling else 'Running'}… {format_live(seconds)}"


class RunClock(QObject):
    """Measures one run at a time and emits :attr:`ticked` every :data:`TICK_MS` while it
    runs. Owned by whoever shows a run (:class:`~.run_results.RunResults`)."""

    #: Seconds since :meth:`start`, emitted every tick while running.
    ticked = Signal(float)

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = TICK_MS) -> None:
        super().__init__(parent)
        self._clock = QElapsedTimer()
        self._final: float = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.setTimerType(Qt.TimerType.CoarseTimer)
        self._timer.timeout.connect(self._tick)

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Start from zero (also when already running)."""
        self._final = 0.0
        self._clock.start()
        self._timer.start()

    def stop(self) -> float:
        """Stop ticking; returns the run's final time (also when already stopped)."""
        if self._timer.isActive():
            self._final = self._clock.elapsed() / 1000
            self._timer.stop()
        return self._final

    def elapsed(self) -> float:
        """Seconds since :meth:`start` while running, else the final time."""
        if self._timer.isActive():
            return self._clock.elapsed() / 1000
        return self._final

    def _tick(self) -> None:
        self.ticked.emit(self._clock.elapsed() / 1000)
