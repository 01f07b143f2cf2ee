"""Statement positions: ``LineIndex`` gives the same line and column as counting."""

from __future__ import annotations

import pytest

from dbplay_desktop.engines.base import LineIndex, Statement
from dbplay_desktop.engines.postgres.script import split_sql

TEXTS = [
    "",
    "x",
    "\n",
    "\n\n\n",
    "a\nb",
    "SELECT 1;\n\n  SELECT 2;\r\nSELECT\n3",
    "ü😀\nß\n\tend",
]


@pytest.mark.parametrize("text", TEXTS)
def test_index_agrees_with_counting_at_every_offset(text: str) -> None:
    index = LineIndex(text)
    for start in range(len(text) + 1):
        for end in (start, len(text)):
            assert Statement.at(text, start, end, index) == Statement.at(text, start, end)
            assert Statement.at(text, start, end, index=index) == Statement.at(text, start, end)


def test_locate_gives_one_based_line_and_column() -> None:
    index = LineIndex("ab\ncd\n\nef")
    assert index.line_count == 4
    assert index.locate(0) == (1, 1)
    assert index.locate(2) == (1, 3)  # the newline belongs to its line
    assert index.locate(3) == (2, 1)
    assert index.locate(6) == (3, 1)
    assert index.locate(9) == (4, 3)  # just past the end
    assert LineIndex("").line_count == 1


def test_many_statements_of_one_text() -> None:
    lines = [f"{'  ' * (n % 3)}SELECT {n};" for n in range(5000)]
    text = "\n".join(lines)
    found = split_sql(text)
    assert len(found) == 5000
    for number in (0, 1, 2, 2500, 4999):
        stmt = found[number]
        assert (stmt.line, stmt.column) == (number + 1, 2 * (number % 3) + 1)
        assert stmt == Statement.at(text, stmt.start, stmt.end)
