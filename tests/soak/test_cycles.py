"""Open a template, query it, reset it, close it -- again and again in one window.

Every cycle goes round the engines available (PostgreSQL, SQLite, MongoDB, Chroma). Half
of the resets adopt the clone made ahead of time, the other half come before it is made;
every close comes while the next reset's clone is being made. After a warm-up cycle per
engine (so pools and caches that legitimately stay exist), the window must end the run
holding what it held before: no sandbox database, role, file or folder of any engine,
no thread, no file descriptor, no socket, no playground object. Resident memory growth
is reported against the issue's goal (50 MB), not asserted.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from tests.soak.engines import Engines, grown, leftovers, make_template, small_query
from tests.soak.figures import FIGURES
from tests.soak.probes import Resources, open_files, settle, spin_until, thread_names
from tests.soak.sizes import CYCLES, TIMEOUT_S

#: Records in each cycle's template.
TEMPLATE_ROWS = 200
#: What may legitimately appear between two counts of an idle window: a descriptor
#: or thread a driver opens lazily once (a pool's second connection, a cache file).
ALLOWED_THREADS = 2
ALLOWED_FDS = 3
ALLOWED_SOCKETS = 2
#: The issue's goal for memory growth over 500 cycles.
GOAL_MIB = 50.0


def _playgrounds_alive() -> int:
    from dbplay_desktop.ui.playground.playground import Playground

    # type(), not isinstance(): gc also holds weak proxies whose object is gone.
    return sum(type(obj) is Playground for obj in gc.get_objects())


def _cycle(window, template: Path, engine: str, *, wait_for_clone: bool) -> None:
    """One open -> query -> reset -> close of ``template``; checks every step's outcome."""
    timeout = 120
    playground = window.open_template(template)
    assert playground is not None and playground.engine_name == engine
    spin_until(lambda: playground.state in ("ready", "failed"), timeout, f"{engine}: open")
    assert playground.state == "ready", playground.error
    first_database = playground.database

    finished: list[bool] = []
    playground.run_finished.connect(lambda: finished.append(True))
    playground.editor.setPlainText(small_query(engine))
    assert playground.run_all()
    spin_until(lambda: bool(finished), timeout, f"{engine}: query")
    models = playground.result_models()
    assert models and models[-1].received_count == 5, playground.message_texts()

    if wait_for_clone and type(playground.engine).clones_sandboxes:
        spin_until(lambda: playground.clones.ready is not None, timeout, f"{engine}: clone")
    assert playground.reset()
    spin_until(lambda: playground.state in ("ready", "failed")
               and playground.database != first_database, timeout, f"{engine}: reset")
    assert playground.state == "ready", playground.error

    assert window.close_playground(playground)
    spin_until(lambda: window.closing_playgrounds == 0, timeout, f"{engine}: close")


@pytest.mark.timeout(TIMEOUT_S)
def test_open_query_reset_close_cycles_leave_nothing(
    qtbot, soak_window, soak_engines: Engines, data_dir: Path, template_folder: Path
):
    window = soak_window
    names = soak_engines.names
    templates = {name: make_template(soak_engines, name, TEMPLATE_ROWS, template_folder)
                 for name in names}
    for name in names:  # warm-up: what stays for the window's life exists from here on
        _cycle(window, templates[name], name, wait_for_clone=True)
    settle(window)
    stored_before = leftovers(soak_engines, data_dir)
    before = Resources.now()
    fds_before, threads_before = open_files(), thread_names()
    alive_before = _playgrounds_alive()

    start = time.perf_counter()
    peak = before.rss_mib
    for number in range(CYCLES):
        name = names[number % len(names)]
        _cycle(window, templates[name], name, wait_for_clone=(number // len(names)) % 2 == 0)
        if number % 25 == 0:
            peak = max(peak, Resources.now().rss_mib)
    seconds = time.perf_counter() - start

    settle(window)
    after = Resources.now()
    stored_after = leftovers(soak_engines, data_dir)
    peak = max(peak, after.rss_mib)
    growth = after.rss_mib - before.rss_mib
    test = f"{CYCLES} cycles ({', '.join(names)})"
    FIGURES.record(test, "resident memory growth", growth, "MiB", GOAL_MIB,
                   f"{before.rss_mib:.0f} -> {after.rss_mib:.0f} MiB, peak {peak:.0f} MiB")
    FIGURES.record(test, "threads after - before", after.threads - before.threads, "")
    FIGURES.record(test, "descriptors after - before", after.fds - before.fds, "")
    FIGURES.record(test, "seconds per cycle", seconds / CYCLES, "s")

    assert grown(stored_before, stored_after) == {}
    assert _playgrounds_alive() <= alive_before
    assert after.threads <= before.threads + ALLOWED_THREADS, (
        sorted(set(thread_names()) - set(threads_before)), thread_names())
    assert after.sockets <= before.sockets + ALLOWED_SOCKETS, open_files()
    assert after.fds <= before.fds + ALLOWED_FDS, sorted(set(open_files()) - set(fds_before))
