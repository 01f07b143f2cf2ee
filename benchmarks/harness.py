"""How a job is measured: alternating runs, medians, a ratio against a baseline.

dbplay and its baseline run in the same process, on the same data, one after the other
(dbplay, baseline, dbplay, baseline...), so a machine that gets slower or faster during
the run (another build on the two cores, a warm cache) touches both sides alike. The
median of N runs is reported, not the mean, so one hiccup does not move the result.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Each side of a measurement: a callable that does the work once and returns nothing.
#: A ``setup`` runs before each call, untimed (a fresh database to restore into, ...).
Work = Callable[[], object]


class Skipped(Exception):
    """A job that cannot run here (its engine is not installed, no server): said so."""


@dataclass
class Result:
    """One row of the report."""

    job: str
    size: str
    goal: str
    #: Median of dbplay's runs, in the unit below (None: skipped or failed).
    dbplay: float | None = None
    baseline: float | None = None
    unit: str = "s"
    #: The ratio must be at most this for the goal to be met (None: absolute goal).
    max_ratio: float | None = None
    #: For an absolute goal: dbplay's median must be below this.
    max_value: float | None = None
    baseline_name: str = ""
    status: str = "ok"  # ok, skipped, failed
    note: str = ""
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.dbplay is None or not self.baseline:
            return None
        return self.dbplay / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the goal is met; None when the job did not produce a number."""
        if self.status != "ok" or self.dbplay is None:
            return None
        if self.max_ratio is not None:
            ratio = self.ratio
            return None if ratio is None else ratio <= self.max_ratio
        if self.max_value is not None:
            return self.dbplay < self.max_value
        return None


def timed(work: Work) -> float:
    """Seconds one call of ``work`` takes, garbage collected before so that the previous
    run's garbage is not collected on this one's clock."""
    gc.collect()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def alternate(
    dbplay: Work,
    baseline: Work | None,
    repeat: int,
    *,
    setup: Callable[[], object] | None = None,
    baseline_setup: Callable[[], object] | None = None,
    cleanup: Callable[[], object] | None = None,
) -> tuple[list[float], list[float]]:
    """Run dbplay then the baseline ``repeat`` times, alternating; their times in seconds.

    ``setup`` (and ``baseline_setup``, default ``setup``) run untimed before each call;
    ``cleanup`` after each, untimed.
    """
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        mine.append(timed(dbplay))
        if cleanup is not None:
            cleanup()
        if baseline is not None:
            before = baseline_setup or setup
            if before is not None:
                before()
            theirs.append(timed(baseline))
            if cleanup is not None:
                cleanup()
    return mine, theirs


def median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def fill(result: Result, mine: list[float], theirs: list[float]) -> Result:
    """Put medians of the samples into ``result``."""
    result.samples, result.baseline_samples = mine, theirs
    result.dbplay, result.baseline = median(mine), median(theirs)
    return result


def guarded(make: Callable[[], list[Result]], fallback: list[Result]) -> list[Result]:
    """Run a job; a skip or a crash becomes rows saying so (the other jobs still run).

    ``fallback`` are the rows the job would have produced, used to report the skip or the
    failure under the job's own names.
    """
    try:
        return make()
    except KeyboardInterrupt:
        raise
    except Skipped as exc:
        for row in fallback:
            row.status, row.note = "skipped", str(exc)
        return fallback
    except Exception as exc:
        line = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        traceback.print_exc()
        for row in fallback:
            row.status, row.note = "failed", line
        return fallback


@dataclass
class Context:
    """What every job gets: sizes and repeats for this run."""

    quick: bool
    repeat: int
    #: Cleanups registered by jobs (servers, folders), run at the end, also on Ctrl+C.
    cleanups: list[Callable[[], object]] = field(default_factory=list)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def at_exit(self, cleanup: Callable[[], object]) -> None:
        self.cleanups.append(cleanup)

    def scratch(self, name: str, mode: int = 0o700) -> Path:
        """A fresh folder under the temp directory, removed at the end (``mode`` 0o711
        lets the server account in when the benchmarks run as root)."""
        root = Path(tempfile.mkdtemp(prefix=f"dbplay-bench-{name}-"))
        root.chmod(mode)
        self.at_exit(lambda: shutil.rmtree(root, ignore_errors=True))
        return root

    def close(self) -> None:
        while self.cleanups:
            cleanup = self.cleanups.pop()
            try:
                cleanup()
            except Exception as exc:
                print(f"benchmarks: cleanup failed: {exc}")


def human_count(count: int) -> str:
    """``1000000`` -> ``1M``, ``20000`` -> ``20k``: sizes in the table."""
    if count >= 1_000_000 and count % 100_000 == 0:
        return f"{count / 1_000_000:g}M"
    if count >= 1000 and count % 100 == 0:
        return f"{count / 1000:g}k"
    return str(count)
