"""Progress of long saves and restores, drawn on one line of stderr.

Only a terminal gets the progress line: when stderr is a file or a pipe (CI logs,
scripts), nothing is written, so the output stays clean. The callback matches
:data:`dbplay_desktop.engines.base.ProgressCallback`: it receives ``(done, total)``,
``total`` may be ``None`` when unknown.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from dbplay_desktop.display_text import safe_text

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(count: float) -> str:
    """``1536`` -> ``1.5 KiB``: sizes as people read them."""
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {_UNITS[-1]}"  # pragma: no cover - loop always returns


class TerminalProgress:
    """A throttled, self-overwriting progress line: ``Saving: 12.5 MiB of 40.0 MiB (31%)``.

    ``unit`` is ``"bytes"`` (shown as KiB/MiB) or any other word shown after plain counts.
    Redraws at most every ``min_interval`` seconds so a fast dump is not slowed by the
    terminal. Use it as a context manager so the line is cleared when the work ends.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        unit: str = "bytes",
        min_interval: float = 0.1,
    ) -> None:
        self.label = safe_text(label)  # may name a template; the line is redrawn with \r
        self.stream = stream if stream is not None else sys.stderr
        self.unit = unit
        self.min_interval = min_interval
        self._last_draw = 0.0
        self._width = 0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._draw(self.describe(done, total))

    def describe(self, done: int, total: int | None) -> str:
        """The text of the progress line for ``done`` of ``total``."""
        if self.unit == "bytes":
            amount = human_size(done)
            if total:
                amount += f" of {human_size(total)}"
        else:
            amount = f"{done}" + (f" of {total}" if total else "") + f" {self.unit}"
        if total:
            percent = min(100, int(done * 100 / total))
            amount += f" ({percent}%)"
        return f"{self.label}: {amount}"

    def _draw(self, text: str) -> None:
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        try:
            self.stream.write("\r" + text + padding)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal must not break the save
            pass

    def finish(self) -> None:
        """Erase the progress line so the next message starts on a clean line."""
        if self._width:
            self._draw("")
            try:
                self.stream.write("\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._width = 0

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


def terminal_progress(
    label: str, stream: TextIO | None = None, **kwargs: object
) -> TerminalProgress | None:
    """A :class:`TerminalProgress` when ``stream`` (default stderr) is a terminal, else ``None``."""
    stream = stream if stream is not None else sys.stderr
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        return None
    return TerminalProgress(label, stream, **kwargs)  # type: ignore[arg-type]
