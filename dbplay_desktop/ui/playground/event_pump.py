"""The UI thread's share of every run's results, handed over a few milliseconds at a time.

Each run's worker posts its events (a statement started, a batch of rows, columns
added, a statement finished) to the UI thread as queued signals, and Qt delivers all the
posted events it has in one go. With many playgrounds streaming at once that is dozens
of batches -- appending rows, sampling column widths -- back to back, and the window
would not paint, take a click or run a timer until the last one was done. So the runners
put their events in one first-in-first-out queue here, and the pump handles them for at
most :data:`BUDGET_S` per turn of the event loop before it lets everything else run.
One queue for all keeps each run's events in order; a run's worker is granted more rows
only as its batches are handled, so a busy window slows the workers, not itself.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

__all__ = ["BUDGET_S", "EventPump", "pump"]

#: The longest the pump keeps the UI thread in one turn of the event loop (seconds).
BUDGET_S = 0.008


class EventPump(QObject):
    """A queue of ``(owner, handler, argument)`` run on the UI thread within a budget."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[QObject, Callable[[Any], None], Any]] = deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._drain)

    def post(self, owner: QObject, handler: Callable[[Any], None], argument: Any) -> None:
        """Run ``handler(argument)`` soon, after what was posted before (skipped when
        ``owner`` is deleted meanwhile)."""
        self._queue.append((owner, handler, argument))
        if not self._timer.isActive():
            self._timer.start()

    def __len__(self) -> int:
        return len(self._queue)

    def _drain(self) -> None:
        from shiboken6 import isValid

        deadline = time.perf_counter() + BUDGET_S
        queue = self._queue
        while queue:
            owner, handler, argument = queue.popleft()
            if isValid(owner):
                try:
                    handler(argument)
                except Exception:  # as a slot's error would be: reported, never fatal
                    sys.excepthook(*sys.exc_info())
            if time.perf_counter() >= deadline:
                break
        if queue:
            self._timer.start()


_pump: EventPump | None = None


def pump() -> EventPump:
    """The UI thread's one pump (made on first use, on the UI thread)."""
    global _pump
    if _pump is None:
        _pump = EventPump()
    return _pump
