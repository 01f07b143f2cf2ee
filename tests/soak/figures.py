"""The load tests' figures: collected while they run, printed and written as JSON at the end.

Each test records what it measured (:meth:`Figures.record`); the terminal summary of the
run prints one table line per figure, and the whole set is written as JSON to
``$DBPLAY_SOAK_REPORT`` or ``soak-figures.json`` in pytest's temporary folder (rewritten
after every figure, so a later failure keeps the earlier ones). Figures are reported, never
asserted: a loaded CI machine would make a time limit fail for nothing.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Where the JSON goes instead of pytest's temporary folder.
REPORT_ENV = "DBPLAY_SOAK_REPORT"


@dataclass
class Figure:
    """One measured value, with the goal the issue sets (``None``: none) and its context."""

    test: str
    name: str
    value: float
    unit: str
    goal: float | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.value <= self.goal


@dataclass
class Figures:
    """Every figure of this run, in the order recorded."""

    path: Path | None = None
    mode: str = "quick"
    items: list[Figure] = field(default_factory=list)

    def record(self, test: str, name: str, value: float, unit: str,
               goal: float | None = None, note: str = "") -> Figure:
        figure = Figure(test, name, round(float(value), 2), unit, goal, note)
        self.items.append(figure)
        self.write()
        return figure

    def as_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "date": time.strftime("%Y-%m-%d"),
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "python": platform.python_version(),
            "figures": [{**asdict(item), "met": item.met} for item in self.items],
        }

    def write(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.as_json(), indent=2) + "\n")

    def table(self) -> list[str]:
        """The figures as aligned lines: test, figure, value and unit, goal."""
        rows = [(item.test, item.name, f"{item.value:g} {item.unit}",
                 "" if item.goal is None else
                 f"goal {item.goal:g} {item.unit}: {'met' if item.met else 'MISSED'}")
                for item in self.items]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
        return ["  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True))
                .rstrip() for row in rows]


#: The run's figures (one pytest session, one set).
FIGURES = Figures()
