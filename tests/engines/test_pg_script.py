"""Statement splitting, the statement under the cursor, and streaming plain-SQL scripts."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator

import pytest

from dbplay_desktop.engines.base import RestoreError, Statement
from dbplay_desktop.engines.postgres.script import split_sql, statement_at
from dbplay_desktop.engines.postgres.script_reader import (
    ScriptItem,
    TemplateScriptError,
    read_script,
)
from tests.helpers import GeneratedStream


def texts(sql: str) -> list[str]:
    return [stmt.text for stmt in split_sql(sql)]


# --------------------------------------------------------------------------- split_sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
        ("SELECT 'a;b'; SELECT 2;", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT E'\\';' ; SELECT 2", ["SELECT E'\\';'", "SELECT 2"]),
        ("SELECT 'it''s; ok'; SELECT 2", ["SELECT 'it''s; ok'", "SELECT 2"]),
        ('SELECT 1 AS "a;b"; SELECT 2', ['SELECT 1 AS "a;b"', "SELECT 2"]),
        ("SELECT 1 -- no; cut\n; SELECT 2", ["SELECT 1 -- no; cut", "SELECT 2"]),
        (
            "SELECT /* a /* nested; */ b; */ 1; SELECT 2",
            ["SELECT /* a /* nested; */ b; */ 1", "SELECT 2"],
        ),
        ("SELECT $$a;b$$; SELECT 2", ["SELECT $$a;b$$", "SELECT 2"]),
        ("SELECT $fn$ $$; $$ ; $fn$; SELECT 2", ["SELECT $fn$ $$; $$ ; $fn$", "SELECT 2"]),
        ("SELECT 1;;  ; ;SELECT 2;;", ["SELECT 1", "SELECT 2"]),
        ("  \n\t SELECT 1  \n ;  ", ["SELECT 1"]),
        ("", []),
        ("  ;; \n", []),
        ("-- only a comment\n/* and another */", []),
        ("SELECT 1; -- trailing comment", ["SELECT 1"]),
        ("-- heading\n/* block */ SELECT 1", ["SELECT 1"]),
    ],
)
def test_split_sql(sql: str, expected: list[str]) -> None:
    assert texts(sql) == expected


def test_statements_are_character_spans_with_line_and_column() -> None:
    sql = "-- 😀 ünïcode first\nSELECT 'é;😀';\n  SELECT \"ß\" FROM t; SELECT 3"
    found = split_sql(sql)
    assert [s.text for s in found] == ["SELECT 'é;😀'", 'SELECT "ß" FROM t', "SELECT 3"]
    for stmt in found:
        assert sql[stmt.start : stmt.end] == stmt.text
        assert stmt == Statement.at(sql, stmt.start, stmt.end)
    assert (found[1].line, found[1].column) == (3, 3)
    assert (found[2].line, found[2].column) == (3, 22)


def test_unterminated_string_becomes_the_last_statement() -> None:
    sql = "SELECT 1; SELECT 'é; oops; SELECT 3"
    assert texts(sql) == ["SELECT 1", "SELECT 'é; oops; SELECT 3"]
    assert texts("SELECT 1; 'abc") == ["SELECT 1", "'abc"]
    assert texts("SELECT 1; -- note\n  $x$ never closed; SELECT 2") == [
        "SELECT 1",
        "$x$ never closed; SELECT 2",
    ]
    assert texts('SELECT 1; SELECT "open') == ["SELECT 1", 'SELECT "open']
    assert texts("SELECT 1; /* open /* */") == ["SELECT 1", "/* open /* */"]


def test_sql_standard_function_body_stays_whole() -> None:
    sql = (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
        "  SELECT CASE WHEN a > 0 THEN 1 END;\n  SELECT a + 1;\nEND;\nSELECT f(1);"
    )
    first, second = split_sql(sql)
    assert first.text.startswith("CREATE FUNCTION") and first.text.endswith("END")
    assert second.text == "SELECT f(1)"


def test_semicolons_inside_parentheses_do_not_cut() -> None:
    rule = "CREATE RULE r AS ON DELETE TO t DO ALSO (INSERT INTO l VALUES (1); NOTIFY t)"
    assert texts(f"{rule}; SELECT 2") == [rule, "SELECT 2"]
    # A stray ')' does not swallow the rest, as in psql.
    assert texts("SELECT 1); SELECT 2; SELECT 3") == ["SELECT 1)", "SELECT 2", "SELECT 3"]


def test_split_lexes_a_megabyte_once(monkeypatch) -> None:
    """Splitting is one pass of the real lexer over the text, not one per statement
    (counted in lexer calls, not seconds: timing is for the benchmarks)."""
    import pglast

    calls: list[int] = []
    real_split = pglast.split

    def counting(text, *args, **kwargs):
        calls.append(len(text))
        return real_split(text, *args, **kwargs)

    monkeypatch.setattr(pglast, "split", counting)
    line = "INSERT INTO t VALUES (1, 'héllo; wörld', $$x;y$$); -- nötе\n"
    sql = line * (2**20 // len(line))
    found = split_sql(sql)
    assert len(found) == 2**20 // len(line)
    assert found[-1].text == line.split(" --")[0].rstrip(";")
    assert sum(calls) <= 2 * len(sql), calls


# --------------------------------------------------------------------------- statement_at

SCRIPT = "SELECT 1; -- about one\n\n-- about two\nSELECT 2\n  FROM t;\n\nSELECT 3"


@pytest.mark.parametrize(
    ("marker", "offset", "expected"),
    [
        ("SELECT 1", 0, "SELECT 1"),
        ("SELECT 1", 3, "SELECT 1"),
        ("; -- about one", 0, "SELECT 1"),  # on its ';'
        ("; -- about one", 1, "SELECT 1"),  # right after it
        ("-- about one", 3, "SELECT 1"),  # a comment on its line
        ("\n\n-- about two", 1, "SELECT 1"),  # the blank line after
        ("-- about two", 2, "SELECT 2\n  FROM t"),  # the comment in front of the next
        ("FROM t", 0, "SELECT 2\n  FROM t"),
        ("\n\nSELECT 3", 1, "SELECT 2\n  FROM t"),
        ("SELECT 3", 8, "SELECT 3"),  # end of text
    ],
)
def test_statement_at(marker: str, offset: int, expected: str) -> None:
    found = statement_at(SCRIPT, SCRIPT.index(marker) + offset)
    assert found is not None and found.text == expected


def test_statement_at_edges() -> None:
    assert statement_at("", 0) is None
    assert statement_at("  -- nothing\n", 5) is None
    assert statement_at("\n\n  SELECT 1", 0).text == "SELECT 1"  # before everything
    assert statement_at("SELECT 'x", 4).text == "SELECT 'x"


# --------------------------------------------------------------------------- read_script

DUMP = (
    b"--\n-- PostgreSQL database dump\n--\n\n"
    b"\\restrict abc123\n\n"
    b"SET client_encoding = 'UTF8';\n"
    b"SELECT pg_catalog.set_config('search_path', '', false);\n\n"
    b"CREATE TABLE public.t (\n    a integer,\n    b text\n);\n\n"
    b"COMMENT ON TABLE public.t IS 'multi\nline; text';\n\n"
    b"CREATE FUNCTION public.f() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\n"
    b"BEGIN\n  NEW.b := 'x;';\n  RETURN NEW;\nEND;\n$$;\n\n"
    b"COPY public.t (a, b) FROM stdin;\n"
    b"1\ttab\\tinside\n"
    b"2\t\\N\n"
    b"3\tback\\\\slash\n"
    b"4\t\\\\.\n"
    b"5\t\xc3\xa9t\xc3\xa9\n"
    b"\\.\n"
    b"SELECT 1; SELECT 2;\n"
    b"COPY public.empty FROM stdin;\n"
    b"\\.\n\n"
    b"\\unrestrict abc123\n"
)


def items_of(data: bytes, path: str = "dump.sql") -> list[tuple[str, str, int, bytes | None]]:
    found = []
    for item in read_script(io.BytesIO(data), path):
        payload = b"".join(item.data) if item.data is not None else None
        found.append((item.kind, item.text, item.line, payload))
    return found


def test_read_script_yields_statements_copy_blocks_and_meta_lines() -> None:
    found = items_of(DUMP)
    assert [(kind, line) for kind, _text, line, _data in found] == [
        ("meta", 5),
        ("statement", 7),
        ("statement", 8),
        ("statement", 10),
        ("statement", 15),
        ("statement", 18),
        ("copy", 27),
        ("statement", 34),
        ("statement", 34),
        ("copy", 35),
        ("meta", 38),
    ]
    assert found[0][1] == "\\restrict abc123"
    assert found[3][1] == "CREATE TABLE public.t (\n    a integer,\n    b text\n)"
    assert found[4][1] == "COMMENT ON TABLE public.t IS 'multi\nline; text'"
    assert found[5][1].endswith("END;\n$$")
    _kind, text, _line, data = found[6]
    assert text == "COPY public.t (a, b) FROM stdin"
    assert data == (
        b"1\ttab\\tinside\n2\t\\N\n3\tback\\\\slash\n4\t\\\\.\n5\t\xc3\xa9t\xc3\xa9\n"
    )
    assert [found[7][1], found[8][1]] == ["SELECT 1", "SELECT 2"]
    assert found[9][3] == b""


def test_read_script_handles_crlf_files() -> None:
    crlf = DUMP.replace(b"\n", b"\r\n")
    found = items_of(crlf)
    assert [(kind, line) for kind, _t, line, _d in found] == [
        (kind, line) for kind, _t, line, _d in items_of(DUMP)
    ]
    assert found[3][1] == "CREATE TABLE public.t (\r\n    a integer,\r\n    b text\r\n)"
    assert found[6][3].startswith(b"1\ttab\\tinside\r\n2\t\\N\r\n")
    assert found[6][3].endswith(b"\xc3\xa9\r\n")


def test_copy_terminator_without_final_newline() -> None:
    found = items_of(b"COPY t FROM stdin;\n1\n2\n\\.")
    assert found == [("copy", "COPY t FROM stdin", 1, b"1\n2\n")]


def test_unconsumed_copy_data_is_skipped() -> None:
    stream = io.BytesIO(b"COPY t FROM STDIN;\n1\n2\n\\.\nCOPY u FROM stdin;\n3\n\\.\nSELECT 9;\n")
    items = read_script(stream)
    first = next(items)
    assert first.kind == "copy"
    second = next(items)  # nothing of the first block was read
    assert (second.kind, second.line) == ("copy", 5)
    assert next(second.data) == b"3\n"  # partly read; the rest is skipped
    third = next(items)
    assert (third.kind, third.text, third.line) == ("statement", "SELECT 9", 8)
    assert list(items) == []


def test_copy_to_or_from_files_is_not_a_data_block() -> None:
    found = items_of(b"COPY t TO STDOUT;\nCOPY t FROM '/tmp/x';\nCOPY t FROM PROGRAM 'ls';\n")
    assert [kind for kind, *_ in found] == ["statement", "statement", "statement"]


def test_meta_lines_only_at_statement_boundaries() -> None:
    found = items_of(b"\\! ls\n/* a block\n comment */\n  \\o /tmp/x\nSELECT 1\n\\gexec\n;\n")
    assert [(kind, text, line) for kind, text, line, _ in found] == [
        ("meta", "\\! ls", 1),
        ("meta", "\\o /tmp/x", 4),
        ("statement", "SELECT 1\n\\gexec", 5),
    ]


def test_begin_atomic_and_rules_in_a_script() -> None:
    script = (
        b"CREATE PROCEDURE p(n int)\n    LANGUAGE sql\n    BEGIN ATOMIC\n"
        b" UPDATE t SET a = a + n;\n INSERT INTO t (a) VALUES (n);\nEND;\n"
        b"CREATE RULE r AS\n    ON DELETE TO t DO ( INSERT INTO l VALUES (old.a);\n"
        b" NOTIFY t;\n);\nSELECT 1;\n"
    )
    found = items_of(script)
    assert [(kind, line) for kind, _t, line, _d in found] == [
        ("statement", 1),
        ("statement", 7),
        ("statement", 11),
    ]
    assert found[0][1].endswith("VALUES (n);\nEND")
    assert found[1][1].endswith("NOTIFY t;\n)")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (b"SELECT 1;\nSELECT 'open;\nmore;\n", "dump.sql:2: statement is not complete"),
        (b"SELECT 1;\nSELECT 2\n", "dump.sql:2: statement is not complete"),
        (b"SELECT 1;\n\nCOPY t FROM stdin;\n1\n2\n", "dump.sql:3: COPY data is not ended"),
        (b"SELECT 1;\nSELECT '\xff';\n", "dump.sql:2: not valid UTF-8"),
        (b"COPY t FROM stdin; SELECT 1;\n\\.\n", "dump.sql:1: COPY ... FROM stdin must be"),
    ],
)
def test_read_script_errors_name_file_and_line(script: bytes, message: str) -> None:
    with pytest.raises(TemplateScriptError) as caught:
        items_of(script)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, RestoreError)
    assert "\n" not in str(caught.value)


def test_utf8_bom_is_ignored() -> None:
    assert items_of(b"\xef\xbb\xbfSELECT 1;\n") == [("statement", "SELECT 1", 1, None)]


def generated_dump(copy_bytes: int, inserts: int) -> Iterator[bytes]:
    yield b"SET client_encoding = 'UTF8';\nCOPY public.t (a, b, c) FROM stdin;\n"
    rows = "1\tZoë \\\\ tab\\there\t\\N\n".encode() * 2000
    sent = 0
    while sent < copy_bytes:
        yield rows
        sent += len(rows)
    yield b"\\.\n"
    for number in range(inserts):
        yield f"INSERT INTO public.t VALUES ({number}, 'héllo; wörld', $$x$$);\n".encode()


@pytest.mark.timeout(600)
def test_huge_script_streams_in_bounded_memory() -> None:
    copy_bytes, inserts = 45 * 2**20, 50_000
    stream = io.BufferedReader(GeneratedStream(generated_dump(copy_bytes, inserts)))
    tracemalloc.start()
    try:
        statements = copied = 0
        for item in read_script(stream, "big.sql"):
            if item.kind == "copy":
                for chunk in item.data:
                    copied += len(chunk)
            else:
                statements += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert copied >= copy_bytes
    assert statements == inserts + 1
    assert peak < 8 * 2**20, peak


def test_script_item_is_a_plain_record() -> None:
    item = ScriptItem("statement", "SELECT 1", 3)
    assert (item.kind, item.text, item.line, item.data) == ("statement", "SELECT 1", 3, None)
