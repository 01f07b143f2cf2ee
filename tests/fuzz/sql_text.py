"""What the SQL splitters' fuzz tests share: the gaps SQL ignores, and SQL-ish text.

:func:`sql_gap_is_ignorable` is what may lie between two statements (blanks, ``;`` and
comments); PostgreSQL's ``/* */`` comments nest, SQLite's do not. :func:`located` finds
streamed items (which carry a line, not an offset) back in their source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from dbplay_desktop.engines.base import LineIndex
from tests.fuzz.support import AWKWARD, any_text, awkward_text, mutated, soup


def sql_gap_is_ignorable(gap: str, *, nested: bool, comment_ends: str = "\n",
                         is_space: Callable[[str], bool] = str.isspace) -> bool:
    """Whether ``gap`` holds only blanks (what ``is_space`` accepts), ``;`` and comments
    (``--`` up to a character of ``comment_ends``, ``/* */`` nesting when ``nested``;
    either may run to the end)."""
    at, size = 0, len(gap)
    while at < size:
        if gap.startswith("--", at):
            ends = [found for found in (gap.find(char, at) for char in comment_ends)
                    if found >= 0]
            at = min(ends) if ends else size
            continue
        if gap.startswith("/*", at):
            depth, at = 1, at + 2
            while depth and at < size:
                if nested and gap.startswith("/*", at):
                    depth, at = depth + 1, at + 2
                elif gap.startswith("*/", at):
                    depth, at = depth - 1, at + 2
                else:
                    at += 1
            continue
        if not (is_space(gap[at]) or gap[at] == ";"):
            return False
        at += 1
    return True


def located(text: str, pieces: Sequence[tuple[str, int]], index: LineIndex | None = None
            ) -> list[int]:
    """The offset of each ``(piece, line)`` in ``text``: in order, not overlapping, each
    starting on its line. Fails the property when one cannot be found so."""
    index = index or LineIndex(text)
    offsets: list[int] = []
    at = 0
    for piece, line in pieces:
        found = text.find(piece, at)
        while found >= 0 and index.locate(found)[0] < line:
            found = text.find(piece, found + 1)
        assert found >= 0 and index.locate(found)[0] == line, (piece[:80], line)
        offsets.append(found)
        at = found + len(piece)
    return offsets


SQL_TOKENS = [
    ";", " ", "\n", "\r\n", "\r", "\t", "\f", "\v", "'", "''", '"', '""', "`", "[", "]",
    "--", "-- c;\n", "/*", "*/", "/* c; */", "/* /* nested */ */", "$$", "$a$", "$a$;",
    "$1", "E'\\''", "e'", "U&'", "x'ab;'", "B'01'", "(", ")", "SELECT", "SELECT 1;", "1",
    "CREATE", "create", "FUNCTION", "PROCEDURE", "OR REPLACE", "BEGIN", "ATOMIC", "END",
    "END;", "CASE", "TRIGGER", "TEMP", "EXPLAIN", "RULE", "DO", "INSTEAD", "COPY",
    "FROM stdin", "\\.", "\\", "\\restrict k", "\\! id", "\x00", "\ufeff", "é", "\xa0",
    "\u2028", "q", "a.b", "::", "=", ",", "1e5", ".5", "x", "t",
]

_STATEMENTS = [
    "SELECT 1", "SET statement_timeout = 0", "CREATE TABLE public.t (a integer, b text)",
    "INSERT INTO t VALUES ('a;b', E'c\\'d;')", "COMMENT ON TABLE t IS 'x;\ny'",
    "CREATE FUNCTION f() RETURNS integer LANGUAGE sql AS $$ SELECT 1; $$",
    "CREATE FUNCTION g() RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
    "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b)",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); END",
    'SELECT "a;b" FROM "t""x"', "SELECT /* ; */ 2", "SELECT 'é€😀'", "SELECT $t$;$t$",
    "SELECT [a;b] FROM `c;d`", "SELECT x'ab'",
]
_SEPARATORS = [";\n", "; ", ";", ";\n\n", ";\r\n", "; -- done\n", ";\n/* next */\n", "\n;\n"]


@st.composite
def sql_script(draw: st.DrawFn) -> str:
    """A few statements of both dialects with the separators dumps and people write."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        parts.append(draw(st.sampled_from(["", "-- note\n", "/* c */ ", "  ", "\n"])))
        parts.append(draw(st.sampled_from(_STATEMENTS)))
        parts.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(parts)


sql_text = (
    any_text
    | awkward_text
    | soup(SQL_TOKENS)
    | mutated(sql_script(), SQL_TOKENS + AWKWARD)
    | sql_script()
)
