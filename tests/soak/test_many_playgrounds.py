"""Many playgrounds open at once across the engines, each streaming a large result.

Every playground runs its query at the same moment; a precise heartbeat timer on the UI
thread measures the longest time the event loop was held up meanwhile (the figure the
issue asks for: goal under 100 ms), reported and never asserted. What is asserted is
correctness: every playground got all its rows, nothing failed, and the event loop kept
running while the rows streamed (beats were delivered before the last result ended).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from tests.soak.engines import Engines, big_query, make_template
from tests.soak.figures import FIGURES
from tests.soak.probes import Heartbeat, rss_mib, spin_until
from tests.soak.sizes import PLAYGROUNDS, STREAM_ROWS, TIMEOUT_S

#: The issue's goal for the UI thread's longest stall.
GOAL_MS = 100.0


@pytest.mark.timeout(TIMEOUT_S)
def test_many_playgrounds_stream_at_once(
    qtbot, soak_window, soak_engines: Engines, template_folder: Path
):
    window = soak_window
    window.app_settings.row_cap = STREAM_ROWS  # the whole result, no Fetch more
    names = soak_engines.names
    templates = {name: make_template(soak_engines, name, STREAM_ROWS, template_folder)
                 for name in names}
    playgrounds = []
    for number in range(PLAYGROUNDS):
        name = names[number % len(names)]
        playground = window.open_template(templates[name])
        assert playground is not None and playground.engine_name == name
        playgrounds.append(playground)
    spin_until(lambda: all(p.state in ("ready", "failed") for p in playgrounds),
               TIMEOUT_S / 2, "opening the playgrounds")
    assert [p.error for p in playgrounds if p.state != "ready"] == []

    finished: set[int] = set()
    beats_while_streaming: list[int] = []
    for number, playground in enumerate(playgrounds):
        playground.run_finished.connect(lambda n=number: finished.add(n))
        playground.editor.setPlainText(big_query(playground.engine_name, STREAM_ROWS))
    heartbeat = Heartbeat()
    rss_before = rss_mib()
    heartbeat.start()
    start = time.perf_counter()
    # One run per turn of the event loop, as clicks come: each run's own start-up on
    # the UI thread counts in the stalls, but not twenty of them back to back.
    started: list[bool] = []
    for playground in playgrounds:
        QTimer.singleShot(0, lambda p=playground: started.append(p.run_all()))
    spin_until(lambda: len(started) == len(playgrounds), TIMEOUT_S / 4, "starting the runs")
    assert all(started)
    spin_until(lambda: (beats_while_streaming.append(heartbeat.beats) or True)
               and len(finished) == len(playgrounds), TIMEOUT_S / 2, "the results")
    seconds = time.perf_counter() - start
    heartbeat.stop()

    for playground in playgrounds:
        models = playground.result_models()
        assert len(models) == 1, (playground.engine_name, playground.message_texts())
        assert models[0].received_count == STREAM_ROWS, (
            playground.engine_name, models[0].received_count, playground.message_texts())
        assert playground.state == "ready" and playground.error is None
    # The loop ran while results streamed: beats came before the last result ended.
    assert len(beats_while_streaming) > 1 and beats_while_streaming[-2] > 0

    test = f"{PLAYGROUNDS} playgrounds x {STREAM_ROWS:,} rows ({', '.join(names)})"
    FIGURES.record(test, "longest UI-thread stall", heartbeat.longest * 1000, "ms", GOAL_MS,
                   f"5 ms heartbeat, {heartbeat.beats} beats; 99th percentile gap "
                   f"{heartbeat.percentile(0.99) * 1000:.0f} ms")
    FIGURES.record(test, "99th percentile heartbeat gap", heartbeat.percentile(0.99) * 1000,
                   "ms")
    FIGURES.record(test, "seconds until every result was in", seconds, "s")
    FIGURES.record(test, "resident memory added by the results", rss_mib() - rss_before, "MiB")
    for playground in playgrounds:
        assert window.close_playground(playground)
    spin_until(lambda: window.closing_playgrounds == 0, TIMEOUT_S / 4, "closing")
