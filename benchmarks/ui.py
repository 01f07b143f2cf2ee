"""The window's side: streaming into the real ResultsModel, first rows, UI stalls, launch.

These jobs run the Qt code that the window runs (``QT_QPA_PLATFORM=offscreen``): the
engine session's ``StatementResult`` batches into :class:`ResultsModel`, and the real
:class:`QueryRunner` on its worker thread, so a regression in either shows here and not
only in a profile of the engine.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from benchmarks.harness import Context, Result, Skipped, alternate, fill, guarded, human_count
from benchmarks.postgres import PgSetup
from benchmarks.postgres import setup as pg_setup

#: Five columns of different kinds, made by the server (no table to read from disk).
STREAM_SQL = ("SELECT g AS id, g * 2 AS doubled, 'row ' || g AS label, "
              "timestamptz '2026-01-01' + g * interval '1 second' AS at, g % 7 = 0 AS flag "
              "FROM generate_series(1, {rows}) g")

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
class W(QMainWindow):
    def event(self, e):
        if e.type() == QEvent.Type.Expose or e.type() == QEvent.Type.Show:
            print('bare: window shown', flush=True)
            QTimer.singleShot(0, app.quit)
        return super().event(e)
w = W(); w.resize(1200, 800); w.show()
sys.exit(app.exec())
"""


def _app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        raise Skipped(f"PySide6 not installed ({exc})") from None
    return QApplication.instance() or QApplication(sys.argv[:1])


_STREAMS: list[Stream] = []


def _stream(ctx: Context) -> Stream:
    """One restored sandbox for all the streaming jobs of a run."""
    if not _STREAMS:
        _STREAMS.append(Stream(ctx))
    return _STREAMS[0]


class Stream:
    """A sandbox restored from the benchmark template and a dbplay session on it."""

    def __init__(self, ctx: Context) -> None:
        from dbplay_desktop.engines.registry import engine_for_uri
        from dbplay_desktop.templates.container import TemplateReader

        self.pg: PgSetup = pg_setup(ctx)
        if not self.pg.template.is_file():
            raise Skipped("no template: the PostgreSQL save job did not run")
        self.engine = engine_for_uri(self.pg.admin_uri)
        with TemplateReader(self.pg.template) as reader:
            self.database = str(self.engine.restore(reader))
        self.session = self.engine.connect(self.database)
        ctx.at_exit(self.close)

    def close(self) -> None:
        self.session.close()
        self.engine.drop_sandbox(self.database)
        self.engine.close()


def _model() -> Any:
    from dbplay_desktop.ui.results.model import ResultsModel

    return ResultsModel(cap=None, memory_limit=None)


def stream_dbplay(stream: Stream, sql: str) -> Any:
    """What the results pane does with a statement's batches, minus the worker thread.

    Full collections are held off while the batches arrive, as in the window; they are
    given back at the end (the window does so a few seconds later), so the baseline
    runs with the collector as Python sets it."""
    from dbplay_desktop.ui.results.heap import release_full_collections

    model = _model()
    try:
        for result in stream.session.execute(sql):
            model.reset()
            model.set_columns(result.columns)
            for batch in result.batches():
                model.append_rows(batch)
            model.finish(True)
    finally:
        release_full_collections()
    return model


def stream_psycopg(stream: Stream, sql: str, size: int = 2000) -> list[Any]:
    import psycopg

    rows: list[Any] = []
    with (psycopg.connect(stream.pg.uri(stream.database)) as connection,
          connection.cursor(name="bench") as cursor):
        cursor.execute(sql)
        while batch := cursor.fetchmany(size):
            rows.extend(batch)
    return rows


def _peak(work: Any) -> float:
    """tracemalloc's peak, in MB, of one call (Python allocations only)."""
    tracemalloc.start()
    try:
        kept = work()
        _, peak = tracemalloc.get_traced_memory()
        del kept
    finally:
        tracemalloc.stop()
    return peak / 1e6


def job_stream(ctx: Context, time_row: Result, memory_row: Result) -> list[Result]:
    _app()
    stream = _stream(ctx)
    rows = ctx.size(1_000_000, 50_000)
    sql = STREAM_SQL.format(rows=rows)
    fill(time_row, *alternate(lambda: stream_dbplay(stream, sql),
                              lambda: stream_psycopg(stream, sql), ctx.repeat))
    memory_row.unit = "MB"
    memory_row.dbplay = _peak(lambda: stream_dbplay(stream, sql))
    memory_row.baseline = _peak(lambda: stream_psycopg(stream, sql))
    memory_row.note = ("tracemalloc peak of one run (Python allocations), all rows kept; "
                       "the model without a row cap or memory budget, like the fetch")
    return [time_row, memory_row]


def _run_query(
    stream: Stream, sql: str, model: Any, heartbeat_ms: int = 5
) -> tuple[float, float, float]:
    """Run ``sql`` through the real QueryRunner into ``model`` on this (UI) thread, as a
    rerun in the window does: the model's earlier rows are let go when the first
    statement starts. Returns (seconds to first rows in the model, longest gap between
    heartbeats, seconds to the end of the run)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from dbplay_desktop.ui.playground.query_runner import QueryRunner

    runner = QueryRunner(stream.session, cap=None, memory_limit=None)
    loop = QEventLoop()
    first: list[float] = []
    beats: list[float] = []
    timer = QTimer()
    timer.setInterval(heartbeat_ms)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))

    def started(_index: int, result: Any) -> None:
        model.reset()
        model.set_columns(result.columns)

    def batch(_index: int, rows: Any) -> None:
        model.append_rows(rows)
        if not first:
            first.append(time.perf_counter())

    runner.statement_started.connect(started)
    runner.batch.connect(batch)
    runner.statement_finished.connect(lambda *_a: model.finish(True))
    runner.all_done.connect(loop.quit)
    runner.failed.connect(lambda exc: loop.quit())
    timer.start()
    start = time.perf_counter()
    beats.append(start)
    runner.run(sql)
    loop.exec()
    timer.stop()
    beats.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    runner.deleteLater()
    first_rows = first[0] - start if first else float("nan")
    return first_rows, max(gaps, default=0.0), beats[-1] - start


def _server_first_batch(stream: Stream, sql: str, size: int = 100) -> float:
    """Seconds until the server hands psycopg the first rows of ``sql`` (named cursor)."""
    import psycopg

    with (psycopg.connect(stream.pg.uri(stream.database)) as connection,
          connection.cursor(name="first") as cursor):
        start = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchmany(size)
        return time.perf_counter() - start


def job_first_rows(ctx: Context, row: Result) -> list[Result]:
    _app()
    stream = _stream(ctx)
    sql = "SELECT * FROM events"
    visible: list[float] = []
    server: list[float] = []
    model = _model()
    for _ in range(ctx.repeat):
        visible.append(_run_query(stream, sql, model)[0])
        server.append(_server_first_batch(stream, sql))
    model.reset()  # as closing the tab does: its rows are freed off the UI thread
    fill(row, visible, server)
    row.unit = "ms"
    assert row.dbplay is not None and row.baseline is not None
    raw, answer = row.dbplay * 1000, row.baseline * 1000
    row.dbplay, row.baseline = max(0.0, raw - answer), answer
    row.note = (f"run() to first rows in the model {raw:.0f} ms, minus the server's first "
                f"answer to psycopg {answer:.0f} ms (baseline column)")
    return [row]


def job_stall(ctx: Context, row: Result) -> list[Result]:
    _app()
    stream = _stream(ctx)
    sql = STREAM_SQL.format(rows=ctx.size(1_000_000, 50_000))
    model = _model()
    runs = [_run_query(stream, sql, model) for _ in range(ctx.repeat)]
    model.reset()
    fill(row, [stall * 1000 for _, stall, _ in runs], [])
    row.unit = "ms"
    total = sorted(total for _, _, total in runs)[len(runs) // 2]
    row.note = ("longest gap between 5 ms QTimer beats on the UI thread (median of runs); "
                f"the whole run through QueryRunner took {total:.2f} s")
    return [row]


def _launch(argv: list[str], marker: str, env: dict[str, str],
            ready: list[float] | None = None) -> float:
    """Seconds from spawning ``argv`` until it prints ``marker`` (its window is shown);
    with ``ready``, also appends the seconds until it prints "dbplay: window ready"."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=env, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if marker in line:
                elapsed = time.perf_counter() - start
                break
        else:
            raise RuntimeError(f"{argv[-1]} exited ({process.wait()}) before its window showed")
        if ready is not None:
            for line in process.stdout:
                if "dbplay: window ready" in line:
                    ready.append(time.perf_counter() - start)
                    break
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return elapsed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def job_launch(ctx: Context, row: Result) -> list[Result]:
    """``python -m dbplay_desktop`` with ``DBPLAY_QUIT_WHEN_SHOWN`` (ui/app.py), timed to its
    "window shown" line (its first frame painted), against a bare QMainWindow timed to its
    first show.

    Both run with compiled bytecode, as an installed app does (pip and the bundle compile
    it): the bytecode goes to a cache folder of the run's own (``PYTHONPYCACHEPREFIX``,
    even where ``PYTHONDONTWRITEBYTECODE`` is set), filled by one untimed launch of each.
    The note adds the time until the whole window is built ("window ready").
    """
    data = ctx.scratch("launch")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DBPLAY_QUIT_WHEN_SHOWN": "1",
           "DBPLAY_DATA_DIR": str(data / "dbplay"), "XDG_CONFIG_HOME": str(data / "config"),
           "XDG_CACHE_HOME": str(data / "cache"), "XDG_RUNTIME_DIR": str(data),
           "PYTHONPYCACHEPREFIX": str(data / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    (data).chmod(0o700)
    app = [sys.executable, "-m", "dbplay_desktop"]
    bare = [sys.executable, "-c", BARE_WINDOW]
    ready: list[float] = []
    _launch(app, "dbplay: window shown", env)  # untimed: compiles and caches the bytecode
    _launch(bare, "bare: window shown", env)
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(ctx.repeat):  # alternating; each time is to the line, not to the exit
        mine.append(_launch(app, "dbplay: window shown", env, ready))
        theirs.append(_launch(bare, "bare: window shown", env))
    fill(row, mine, theirs)
    built = f"; whole window built {sorted(ready)[len(ready) // 2]:.2f} s" if ready else ""
    row.note = ("to the first painted frame's line on stdout, bytecode compiled, a private "
                f"data dir{built}")
    return [row] if row.dbplay is not None else []


def run(ctx: Context, wanted: set[str] | None) -> list[Result]:
    from benchmarks.report import print_rows

    rows = ctx.size(1_000_000, 50_000)
    label = f"{human_count(rows)} rows × 5 columns"
    stream_time = Result("stream rows into ResultsModel (time)", label, "≤ 1.3×",
                         max_ratio=1.3, baseline_name="psycopg named-cursor fetch")
    stream_memory = Result("stream rows into ResultsModel (memory)", label, "≤ 1.5×",
                           max_ratio=1.5, baseline_name="psycopg named-cursor fetch")
    first = Result("first rows visible, SELECT * FROM events",
                   f"{human_count(ctx.size(1_000_000, 20_000))} events", "< 200 ms",
                   max_value=200.0, baseline_name="server's first answer")
    stall = Result("longest UI-thread stall while streaming", label, "< 50 ms",
                   max_value=50.0, baseline_name="—")
    launch = Result("launch to main window visible", "—", "≤ 1.3×", max_ratio=1.3,
                    baseline_name="bare PySide6 QMainWindow")
    jobs = [
        ("ui-stream", lambda: job_stream(ctx, stream_time, stream_memory),
         [stream_time, stream_memory]),
        ("ui-first-rows", lambda: job_first_rows(ctx, first), [first]),
        ("ui-stall", lambda: job_stall(ctx, stall), [stall]),
        ("ui-launch", lambda: job_launch(ctx, launch), [launch]),
    ]
    out: list[Result] = []
    for name, make, fallback in jobs:
        if wanted is not None and name not in wanted:
            continue
        got = guarded(make, fallback)
        print_rows(got)
        out.extend(got)
    return out
