"""The PostgreSQL splitter and plain-SQL reader on generated text and pg_dump-style scripts.

Properties: :func:`split_sql` never raises and its statements cover the text (what lies
between them is blanks, ``;`` or comments), at the line and column a
:class:`LineIndex` gives; :func:`statement_at` picks one of them. :func:`read_script`,
reading the same text as a payload stream (whole, or a few bytes per read), either
reads it or refuses it with one line of the engine's family; what it reads is found back
in the text in order at the line it names, COPY data is exactly the lines after its
statement up to ``\\.``, nothing else is left between the items, and when the text holds
no COPY and no meta-command the statements are the editor splitter's.
"""

from __future__ import annotations

import io

from hypothesis import example, given
from hypothesis import strategies as st

from dbplay_desktop.engines.base import LineIndex
from dbplay_desktop.engines.postgres.script import split_sql, statement_at
from dbplay_desktop.engines.postgres.script_lines import SQL_SPACE
from dbplay_desktop.engines.postgres.script_reader import read_script
from dbplay_desktop.errors import EngineError
from tests.fuzz.sql_text import SQL_TOKENS, located, sql_gap_is_ignorable, sql_text
from tests.fuzz.support import budget, check_one_line, check_statements, mutated
from tests.helpers import Trickle


def pg_is_space(char: str) -> bool:
    """PostgreSQL's white space: ASCII only (any other character is a letter to it)."""
    return char in SQL_SPACE


def pg_gap_is_ignorable(gap: str) -> bool:
    """A PostgreSQL ``--`` comment ends at a CR as at a LF; ``/* */`` comments nest."""
    return sql_gap_is_ignorable(gap, nested=True, comment_ends="\n\r", is_space=pg_is_space)


# --------------------------------------------------------------------------- splitter


@budget(150)
@given(sql_text, st.integers(0, 400))
@example("0;SELECT;", 0)
@example("\ud800", 0)
@example("\u20280", 0)
def test_split_covers_the_text(text: str, cursor: int) -> None:
    statements = split_sql(text)
    check_statements(text, statements, pg_gap_is_ignorable, pg_is_space)
    chosen = statement_at(text, min(cursor, len(text)))
    assert (chosen is None) == (not statements)
    assert chosen is None or chosen in statements


# --------------------------------------------------------------------------- reader




def _read(data: bytes, step: int) -> list[tuple[str, str, int, bytes | None]] | None:
    """The items of ``data`` (their COPY data joined), or None when it was refused."""
    stream = Trickle(data, step) if step else io.BytesIO(data)
    items = []
    try:
        for item in read_script(stream, "dump.sql"):
            copied = b"".join(item.data) if item.data is not None else None
            items.append((item.kind, item.text, item.line, copied))
    except EngineError as error:
        message = check_one_line(error)
        assert message.startswith("dump.sql:"), message
        return None
    return items


def _check_read(text: str, step: int) -> None:
    data = text.encode("utf-8", "surrogatepass")
    items = _read(data, step)
    if step and items != _read(data, 0):
        raise AssertionError("reading a few bytes at a time read something else")
    if items is None:
        return
    source = text.removeprefix("\ufeff")  # the reader drops a BOM at the start
    index = LineIndex(source)
    offsets = located(source, [(item[1], item[2]) for item in items], index)
    at = 0
    for (kind, piece, _line, copied), offset in zip(items, offsets, strict=True):
        assert pg_gap_is_ignorable(source[at:offset]), source[at:offset]
        at = offset + len(piece)
        if kind == "meta":
            newline = source.find("\n", at)
            at = len(source) if newline < 0 else newline + 1
        elif kind == "copy":
            assert copied is not None
            newline = source.find("\n", at)
            assert newline >= 0 and pg_gap_is_ignorable(source[at:newline])
            body = copied.decode("utf-8")
            assert source.startswith(body, newline + 1)
            end = newline + 1 + len(body)
            marker_end = source.find("\n", end)
            marker_end = len(source) if marker_end < 0 else marker_end + 1
            assert source[end:marker_end].rstrip("\r\n") == "\\."
            at = marker_end
    assert pg_gap_is_ignorable(source[at:]), source[at:]
    if "\\" not in text and "copy" not in text.lower():
        expected = [(s.text, s.line) for s in split_sql(source)]
        assert [(item[1], item[2]) for item in items] == expected


_COPY_ROWS = st.lists(
    st.text(st.characters(exclude_characters="\n", exclude_categories=("Cs",)), max_size=12)
    .filter(lambda row: row.rstrip("\r") != "\\."), max_size=4)


@st.composite
def dump_script(draw: st.DrawFn) -> str:
    """A pg_dump-style script: statements, COPY blocks with their data, meta-commands."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            rows = draw(_COPY_ROWS)
            parts.append("COPY public.t (a, b) FROM stdin;\n"
                         + "".join(row + "\n" for row in rows) + "\\.\n")
        elif kind == 1:
            parts.append(draw(st.sampled_from(["\\restrict abc\n", "\\unrestrict abc\n",
                                               "\\connect -\n", "  \\! id\n"])))
        else:
            parts.append(draw(st.sampled_from(["", "--\n-- Name: t\n--\n", "/* c */\n"])))
            parts.append(draw(st.sampled_from(["SET x = 1;\n", "SELECT 'a;\nb';\n",
                                               "CREATE TABLE t (a int, b text);\n",
                                               "CREATE FUNCTION f() RETURNS int AS $$\n"
                                               "SELECT 1;\n$$ LANGUAGE sql;\n"])))
    return "".join(parts)


_TOKENS = [*SQL_TOKENS, "COPY t FROM stdin;\n", "\\.\n", "\n\\.", "1\tx\n", "\\restrict k\n"]
_steps = st.sampled_from([0, 0, 1, 2, 3, 7, 64])


@budget(150)
@given(sql_text | dump_script() | mutated(dump_script(), _TOKENS), _steps)
@example("COPY t FROM stdin;\n1\n\\.\n", 1)
def test_read_script_reads_or_refuses_in_one_line(text: str, step: int) -> None:
    _check_read(text, step)


# --------------------------------------------------------------------------- regressions


def test_a_statement_that_starts_with_no_keyword_is_kept() -> None:
    # libpg_query's split drops it; the user must see the server's syntax error for it.
    assert [s.text for s in split_sql("SELEC 1; SELECT 2;")] == ["SELEC 1", "SELECT 2"]
    items = _read(b"foo bar;\nSELECT 2;\n", 0)
    assert items == [("statement", "foo bar", 1, None), ("statement", "SELECT 2", 2, None)]


def test_a_lone_surrogate_is_a_character_like_any_other() -> None:
    # The editor can hold one; the lexer cannot encode it.
    assert [s.text for s in split_sql("SELECT '\ud800'; SELECT 2")] == [
        "SELECT '\ud800'", "SELECT 2"]
