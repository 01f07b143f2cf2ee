"""Large results and Python's memory management, kept off the window's back.

Two things froze the window while it held a big result, both because they hold the GIL
for as long as they take:

* **Full garbage collections while rows stream in.** A full collection walks every object
  the collector tracks; a million rows with JSON values are about three million of them,
  and CPython runs a full pass each time the tracked objects have grown by a quarter, so
  a result growing to a million such rows cost about a dozen passes of 50 ms to 1 s each.
  While batches keep arriving into a big result, :func:`rows_arrived` holds full
  collections off (young collections, which find most cyclic garbage, still run); a few
  seconds after the last batch the collector's own thresholds are back, and it makes its
  one pass then. Small results never hold it (a pass over them is cheap), and a hold
  that lasts minutes -- big results streaming back to back -- makes way for one pass.
* **Freeing the old rows when a result is replaced.** Dropping a list of a million rows
  frees every row in one go on the thread that drops it. :func:`free_in_background`
  frees them on a worker thread instead, a slice at a time, so the window gets the GIL
  between slices.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from PySide6.QtCore import QTimer

from dbplay_desktop.ui.workers import start_worker

#: Quiet time after the last batch before full collections are allowed again.
QUIET_MS = 3000
#: Rows a model must hold before its batches hold full collections off.
HOLD_FROM_ROWS = 50_000
#: The longest hold; then full collections are let run for :data:`MAKE_WAY_S`.
MAX_HOLD_S = 120.0
MAKE_WAY_S = 10.0
#: A generation-2 threshold no stream reaches (it counts younger collections).
_NEVER = 1_000_000_000
#: Rows freed per step: a few milliseconds of work between two GIL hand-overs.
FREE_SLICE = 2048
#: Smaller results are freed at once; a worker would cost more than it saves.
FREE_AT_ONCE = 20_000


class _FullCollectionHold:
    """Holds full collections off while batches arrive; self-ending, so never stuck."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._timer: QTimer | None = None
        self._since = 0.0  # when the hold began (monotonic seconds)
        self._no_hold_until = 0.0

    @property
    def holding(self) -> bool:
        return self._saved is not None

    def touch(self, held_rows: int) -> None:
        if held_rows < HOLD_FROM_ROWS:
            return
        now = time.monotonic()
        if self._saved is None:
            if now < self._no_hold_until:
                return
            young, middle, oldest = gc.get_threshold()
            self._saved = (young, middle, oldest)
            self._since = now
            gc.set_threshold(young, middle, _NEVER)
        elif now - self._since > MAX_HOLD_S:
            self.release()
            self._no_hold_until = now + MAKE_WAY_S
            return
        if self._timer is None:
            self._timer = QTimer()
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self.release)
        self._timer.start(QUIET_MS)

    def release(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        saved, self._saved = self._saved, None
        if saved is not None and gc.get_threshold()[2] == _NEVER:
            gc.set_threshold(*saved)


_hold = _FullCollectionHold()


def rows_arrived(held_rows: int) -> None:
    """A batch reached a model that now holds ``held_rows`` (UI thread): if that is a big
    result, hold full collections off a while."""
    _hold.touch(held_rows)


def release_full_collections() -> None:
    """Give the collector its thresholds back now: for code that feeds a model without
    an event loop to run the hold's timer (the benchmarks), and for tests."""
    _hold.release()


def holding_full_collections() -> bool:
    return _hold.holding


def free_in_background(rows: list[Any]) -> None:
    """Free ``rows`` -- a list nobody else will read -- without stalling this thread.

    The list is emptied in place on a worker thread; the caller must drop its own
    reference and keep no other.
    """
    if len(rows) < FREE_AT_ONCE:
        rows.clear()
        return
    start_worker(_free_in_slices, rows)


def _free_in_slices(rows: list[Any]) -> None:
    while rows:
        del rows[-FREE_SLICE:]
