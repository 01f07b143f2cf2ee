"""The SQLite splitter and payload reader on generated text.

Properties: :func:`split_sql` never raises and its statements cover the text (what lies
between them is blanks, ``;`` or comments), at the line and column a :class:`LineIndex`
gives. :func:`read_statements`, reading the same text as a payload stream in chunks of
any size, yields the same statements at the same lines; bytes that are not UTF-8 are a
:class:`UnicodeDecodeError` (its documented contract), which the engine's scan turns into
a finding: the scan of any payload returns findings and raises nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from hypothesis import example, given
from hypothesis import strategies as st

from dbplay_desktop.engines.base import PayloadSource
from dbplay_desktop.engines.sqlite.restore import scan_payload
from dbplay_desktop.engines.sqlite.script import read_statements, split_sql
from tests.fuzz.sql_text import sql_gap_is_ignorable, sql_text
from tests.fuzz.support import budget, check_statements


def sqlite_gap_is_ignorable(gap: str) -> bool:
    """SQLite's ``/* */`` comments do not nest; a ``--`` comment ends at a LF only."""
    return sql_gap_is_ignorable(gap, nested=False)


@budget(150)
@given(sql_text)
@example("CREATE TRIGGER t BEGIN SELECT 1; END; SELECT 2")
def test_split_covers_the_text(text: str) -> None:
    check_statements(text, split_sql(text), sqlite_gap_is_ignorable)


@budget(100)
@given(sql_text, st.sampled_from([1, 2, 3, 5, 16, 1 << 20]))
def test_the_payload_reader_reads_what_the_editor_splits(text: str, chunk: int) -> None:
    data = text.encode("utf-8", "surrogatepass")
    try:
        streamed = [(s.text, s.line) for s in read_statements(io.BytesIO(data), chunk)]
    except UnicodeDecodeError:
        assert any("\ud800" <= char <= "\udfff" for char in text)
        return
    assert streamed == [(s.text, s.line) for s in split_sql(text)]


class _Payload(PayloadSource):
    def __init__(self, files: Sequence[tuple[str, bytes]]) -> None:
        self._files = dict(files)

    def paths(self) -> Sequence[str]:
        return list(self._files)

    def open(self, path: str) -> io.BytesIO:
        return io.BytesIO(self._files[path])

    def size(self, path: str) -> int | None:
        return len(self._files[path])


@budget(60)
@given(st.lists(st.tuples(st.sampled_from(["dump.sql", "b.sql", "x.txt"]), sql_text),
                min_size=1, max_size=2, unique_by=lambda pair: pair[0]))
def test_the_scan_reports_and_never_raises(files: list[tuple[str, str]]) -> None:
    payload = _Payload([(name, text.encode("utf-8", "surrogatepass")) for name, text in files])
    for finding in scan_payload(payload):
        assert "\n" not in str(finding) and "\r" not in str(finding), str(finding)
