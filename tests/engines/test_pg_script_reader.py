"""The plain-SQL reader against its contract, and what reading costs.

The contract is written down a second time here the slow, obvious way (every line looked
at, the whole statement cut again on each one), and the real reader must agree with it
on many generated scripts, also when it is forced to put lines back all the time and
reads its stream a few bytes at a time. Costs are counted (characters cut, bytes
lexed), never timed.
"""

from __future__ import annotations

import io
import random

import pytest

from dbplay_desktop.engines.postgres import script as pg_script
from dbplay_desktop.engines.postgres import script_lines as pg_script_lines
from dbplay_desktop.engines.postgres import script_reader as pg_script_reader
from dbplay_desktop.engines.postgres.script import COMMENT_TOKENS, cut_text, sql_tokens
from dbplay_desktop.engines.postgres.script_reader import TemplateScriptError, read_script
from tests.helpers import Trickle

SPACE = " \t\n\r\f\v"


# --------------------------------------------------------------------------- the contract


def reference(data: bytes) -> list[tuple[object, ...]]:
    """What read_script must yield for ``data``, computed without any shortcut."""
    from pglast.parser import ParseError

    def only_comments(text: str) -> bool:
        try:
            return all(tok.name in COMMENT_TOKENS for tok in sql_tokens(text))
        except ParseError:
            return False

    data = data.removeprefix(b"\xef\xbb\xbf")
    raw_lines = data.splitlines(keepends=True) if b"\r" not in data else _split_lf(data)
    out: list[tuple[object, ...]] = []
    buffer: list[str] = []
    first = 0
    index = 0
    while index < len(raw_lines):
        raw = raw_lines[index]
        index += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            out.append(
                ("error", f"<s>:{index}: not valid UTF-8 (byte {exc.start + 1} of the line)")
            )
            return out
        stripped = text.strip(SPACE)
        if not buffer:
            if not stripped or (stripped.startswith("--") and "\r" not in stripped):
                continue
            if stripped.startswith("\\"):
                out.append(("meta", stripped, index, None))
                continue
            first = index
        elif stripped.startswith("\\") and only_comments("".join(buffer)):
            buffer.clear()
            out.append(("meta", stripped, index, None))
            continue
        buffer.append(text)
        if not stripped.endswith(";"):
            continue
        joined = "".join(buffer)
        cut = cut_text(joined)
        if cut.open_at is not None:
            continue
        buffer.clear()
        index = _reference_emit(joined, cut, first, raw_lines, index, out)
        if index < 0:
            return out
    if buffer:
        joined = "".join(buffer)
        cut = cut_text(joined)
        if cut.open_at is not None:
            line = first + joined.count("\n", 0, cut.open_at)
            out.append(("error", f"<s>:{line}: statement is not complete at the end of the file"))
        else:
            _reference_emit(joined, cut, first, raw_lines, index, out)
    return out


def _split_lf(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    return lines + ([parts[-1]] if parts[-1] else [])


def _reference_emit(joined, cut, first, raw_lines, index, out) -> int:
    line, counted = first, 0
    for number, (start, end) in enumerate(cut.spans):
        sql = joined[start:end]
        line += joined.count("\n", counted, start)
        counted = start
        if not pg_script_reader._is_copy_from_stdin(sql):
            out.append(("statement", sql, line, None))
            continue
        if number != len(cut.spans) - 1:
            out.append(
                ("error", f"<s>:{line}: COPY ... FROM stdin must be the last statement on its line")
            )
            return -1
        data = []
        while True:
            if index >= len(raw_lines):
                out.append(
                    (
                        "error",
                        f"<s>:{line}: COPY data is not ended by a \\. line "
                        "before the end of the file",
                    )
                )
                return -1
            raw = raw_lines[index]
            index += 1
            if raw.rstrip(b"\r\n") == b"\\.":
                break
            data.append(raw)
        out.append(("copy", sql, line, b"".join(data)))
    return index


def actual(data: bytes, stream: io.RawIOBase | None = None) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    try:
        for item in read_script(stream or io.BytesIO(data), "<s>"):
            payload = b"".join(item.data) if item.data is not None else None
            out.append((item.kind, item.text, item.line, payload))
    except TemplateScriptError as exc:
        out.append(("error", str(exc)))
    return out




FRAGMENTS = [
    "SELECT 1;",
    "SELECT 1",
    ";",
    "'",
    "'';",
    "';",
    "$$",
    "$a$",
    "$a$;",
    "/*",
    "*/",
    "*/;",
    "--",
    "-- c;",
    "-- c\rDROP TABLE t;",
    "\r",
    "\\! id",
    "\\restrict k",
    "\\.",
    "(",
    ");",
    "COPY t FROM stdin;",
    "1\tx",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC",
    "SELECT 2;",
    "END;",
    "E'\\'';",
    '"',
    '";',
    " ",
    "\t",
    "\f",
    "x",
    "é",
    "CREATE RULE r AS ON INSERT TO t DO (",
    "NOTIFY t;",
    "\ufeff",
    "SELECT 'a' -- ;",
]


def generated(seed: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    for _ in range(rng.randrange(1, 30)):
        words = [rng.choice(FRAGMENTS) for _ in range(rng.randrange(0, 4))]
        lines.append(" ".join(words))
    return ("\n".join(lines) + rng.choice(["", "\n", "\r\n"])).encode()


@pytest.mark.parametrize("budget", [2, 1, 0])
def test_reader_agrees_with_the_contract(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    monkeypatch.setattr(pg_script_reader, "_CUT_BUDGET", budget)
    for seed in range(400):
        data = generated(seed)
        expected = reference(data)
        assert actual(data) == expected, (seed, data)
        if seed % 4 == 0:
            monkeypatch.setattr(pg_script_lines, "BLOCK_SIZE", 1 + seed % 7)
            assert actual(data, Trickle(data, 1 + seed % 5)) == expected, (seed, data)
            monkeypatch.setattr(pg_script_lines, "BLOCK_SIZE", 256 * 1024)


@pytest.mark.parametrize(
    "script",
    [
        # a statement that ends on a line no cut looked at, then a COPY and a meta line
        b"SELECT '"
        + b"'';\n" * 50
        + b"';\nCOPY t FROM stdin;\nCREATE ROLE x;\n\\.\n\\! id\nSELECT 2;\n",
        b"SELECT $a$" + b"$;\n" * 50 + b"$a$;\n\\restrict k\nSELECT 2;\n",
        b"/*" + b" /* */;\n" * 50 + b"*/\n\\! id\nSELECT 1;\n",
        b"CREATE RULE r AS ON INSERT TO t DO ("
        + b"NOTIFY t;\n" * 50
        + b");\nCOPY t FROM stdin;\n1\n\\.\n",
        b'SELECT "' + b'"";\n' * 50 + b'";\nSELECT 3;\n',
        b"SELECT E'" + b"\\';\n" * 50 + b"';\n\\unrestrict k\n",
    ],
)
def test_deferred_cuts_never_swallow_what_follows(
    monkeypatch: pytest.MonkeyPatch, script: bytes
) -> None:
    expected = reference(script)
    assert expected[-1][0] != "error"
    for budget in (2, 0):
        monkeypatch.setattr(pg_script_reader, "_CUT_BUDGET", budget)
        assert actual(script) == expected


# --------------------------------------------------------------------------- \r and friends


def test_a_carriage_return_ends_a_dash_comment() -> None:
    found = actual(b"-- comment\rDROP TABLE t;\nSELECT 1;\n")
    assert found == [("statement", "DROP TABLE t", 1, None), ("statement", "SELECT 1", 2, None)]
    # inside a statement too: the cut must not swallow what follows the \r
    found = actual(b"SELECT 1;\n-- a\r-- b\rDROP TABLE t;\n")
    assert found == [("statement", "SELECT 1", 1, None), ("statement", "DROP TABLE t", 2, None)]
    assert pg_script.split_sql("-- x\rDROP TABLE t;")[0].text == "DROP TABLE t"


def test_meta_commands_after_a_carriage_return_are_seen() -> None:
    # psql reads "-- c" as a comment that ends at \r: the \! that follows is a command,
    # so it must not be dropped with the comment; it reaches the scan as SQL text.
    found = actual(b"-- c\r\\! id\nSELECT 1;\n")
    assert found[0][0] == "statement" and "\\! id" in found[0][1]
    assert actual(b"\r\\! id\n") == [("meta", "\\! id", 1, None)]
    assert actual(b"\f\v \\restrict k\n") == [("meta", "\\restrict k", 1, None)]


# --------------------------------------------------------------------------- costs


class CutCounter:
    """Counts the characters given to the cutting and lexing functions."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.chars = 0
        for module, name in (
            (pg_script_reader, "cut_text"),
            (pg_script_reader, "statement_marks"),
        ):
            original = getattr(module, name)
            monkeypatch.setattr(module, name, self._wrap(original))

    def _wrap(self, function):
        def counted(text: str):
            self.chars += len(text)
            return function(text)

        return counted


def read_all(data: bytes) -> list[tuple[str, int]]:
    found = []
    for item in read_script(io.BytesIO(data), "x.sql"):
        if item.data is not None:
            item.data.drain()  # type: ignore[attr-defined]
        found.append((item.kind, item.line))
    return found


LONG_OPEN_TOKENS = {
    "quotes": lambda n: b"SELECT '" + b"'';\n" * n + b"';\n",
    "e_strings": lambda n: b"SELECT E'" + b"\\';\n" * n + b"';\n",
    "dollars": lambda n: b"SELECT $a$" + b"$$;\n" * n + b"$a$;\n",
    "identifiers": lambda n: b'SELECT "' + b'"";\n' * n + b'";\n',
    "comments": lambda n: b"SELECT /*" + b"/**/;\n" * n + b"*/ 1;\n",
    "nested_comments": lambda n: b"SELECT " + b"/*;\n" * n + b"*/;\n" * n + b"1;\n",
    "rule_actions": lambda n: (
        b"CREATE RULE r AS ON INSERT TO t DO (" + b"NOTIFY t;\n" * n + b");\n"
    ),
    "atomic": lambda n: (
        b"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC\n"
        + b"SELECT 1;\n" * n
        + b"END;\n"
    ),
    "no_semicolons": lambda n: b"SELECT\n" + b"1 +\n" * n + b"1;\n",
    "meta_in_comment": lambda n: b"/*\n" + b"\\! id\n" * n + b"*/\nSELECT 1;\n",
}


@pytest.mark.parametrize("shape", sorted(LONG_OPEN_TOKENS))
def test_cutting_is_linear_in_the_statement_size(
    monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    sizes = {}
    for n in (2_000, 16_000):
        counter = CutCounter(monkeypatch)
        data = LONG_OPEN_TOKENS[shape](n)
        found = read_all(data)
        assert found and found[-1][0] == "statement", shape
        sizes[n] = counter.chars / len(data)
    # a quadratic reader cuts ~n times the text; this one at most a small multiple of it
    assert sizes[16_000] < 8, sizes
    assert sizes[16_000] < sizes[2_000] * 1.5 + 1, sizes


def test_blank_lines_cost_no_work_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"read_line": 0}
    original = pg_script_lines.Lines.read_line

    def counted(self, limit):
        calls["read_line"] += 1
        return original(self, limit)

    monkeypatch.setattr(pg_script_lines.Lines, "read_line", counted)
    data = b"SELECT 1;\n" + b"\n" * 2_000_000 + b"  \t\r\n" * 100_000 + b"SELECT 2;\n"
    assert read_all(data) == [("statement", 1), ("statement", 2_100_002)]
    assert calls["read_line"] < 10
    calls["read_line"] = 0
    # inside a statement, lines that cannot end it are taken in bulk too
    data = b"SELECT\n" + (b"1 +\n\n" * 150_000) + b"1;\nSELECT 2;\n"
    assert [kind for kind, _line in read_all(data)] == ["statement", "statement"]
    assert calls["read_line"] < 20


def test_a_statement_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_script_reader, "MAX_STATEMENT_CHARS", 1000)
    data = b"SELECT 1;\nSELECT '" + b"x" * 2000 + b"';\n"
    with pytest.raises(TemplateScriptError) as caught:
        read_all(data)
    assert str(caught.value) == (
        "x.sql:2: statement is longer than 1000 characters "
        "(the most one template statement may hold)"
    )
    with pytest.raises(TemplateScriptError, match=r"x\.sql:1: line is longer than 1000"):
        read_all(b"-- " + b"x" * 2000 + b"\n")
    # COPY data is not a statement: its lines may be as long as they like
    data = b"COPY t FROM stdin;\n" + b"y" * 5000 + b"\n\\.\nSELECT 1;\n"
    assert read_all(data) == [("copy", 1), ("statement", 4)]
    # a statement that ends within the limit, followed by more text, is fine
    data = b"SELECT '" + b"'';\n" * 100 + b"';\n" + b"SELECT 2;\n" * 200
    assert len(read_all(data)) == 201
