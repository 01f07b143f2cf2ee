"""The read-ahead thread of the dumps: order, errors and an early stop."""

from __future__ import annotations

import threading

import pytest

from dbplay_desktop.engines.read_ahead import read_ahead


def test_items_arrive_in_order():
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))


def test_a_reader_error_is_raised_at_its_item():
    def batches():
        yield 1
        yield 2
        raise ValueError("socket gone")

    got = []
    with pytest.raises(ValueError, match="socket gone"):
        for item in read_ahead(batches()):
            got.append(item)
    assert got == [1, 2]


def test_closing_early_stops_the_reader_and_closes_the_source_on_its_thread():
    closed_on: list[str] = []
    produced: list[int] = []

    class Cursor:
        def __init__(self) -> None:
            self.n = 0

        def __iter__(self):
            return self

        def __next__(self) -> int:
            self.n += 1
            produced.append(self.n)
            return self.n

        def close(self) -> None:
            closed_on.append(threading.current_thread().name)

    items = read_ahead(Cursor(), depth=2)
    assert next(items) == 1
    items.close()
    assert closed_on == ["dbplay-read-ahead"]
    assert len(produced) <= 5  # one taken, two waiting, at most one more being made
