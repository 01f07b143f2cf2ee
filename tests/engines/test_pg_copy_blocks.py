"""COPY data read in blocks ends exactly where reading it line by line ends it.

The reader hands COPY data on in blocks of many lines and looks for the ``\\.`` end
marker only where a line starts. The line-by-line way (each line, in pieces of at most
``COPY_CHUNK_SIZE`` bytes, checked for the marker) is the contract; it is what the reader
still does for lines it put back, so forcing that path gives the expected result. Both
must agree on every generated script: the same items, the same data for each COPY, and
the same statements after it, so COPY data never becomes SQL nor SQL data.
"""

from __future__ import annotations

import io
import random

import pytest

from dbplay_desktop.engines.postgres import script_lines as pg_script_lines
from dbplay_desktop.engines.postgres import script_reader as pg_script_reader
from dbplay_desktop.engines.postgres.script_reader import TemplateScriptError, read_script

PIECES = [
    b"1\t2\tx\n", b"\\N\tNULL\n", b"\\.", b"\\.\n", b"\\.\r\n", b"\\.\r", b"\\.x\n",
    b"\r", b"\n", b"\r\n", b"a" * 7, b"\\", b".", b" \\.\n", b"DROP TABLE t;\n",
]


def items(data: bytes) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    try:
        for item in read_script(io.BytesIO(data), "<s>"):
            payload = b"".join(item.data) if item.data is not None else None
            out.append((item.kind, item.text, item.line, payload))
    except TemplateScriptError as exc:
        out.append(("error", str(exc)))
    return out


def line_by_line(monkeypatch: pytest.MonkeyPatch, data: bytes) -> list[tuple[object, ...]]:
    with monkeypatch.context() as patched:
        patched.setattr(pg_script_lines.Lines, "has_put_back", property(lambda self: True))
        return items(data)


def generated(rng: random.Random) -> bytes:
    body = b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 40)))
    end = rng.choice([b"\\.\n", b"\\.\r\n", b"\\.", b"", b"\\.\nSELECT 2;\n"])
    lead = b"\n" if body and not body.endswith(b"\n") and rng.random() < 0.7 else b""
    return b"COPY t (a, b) FROM stdin;\n" + body + lead + end + b"SELECT 1;\n"


@pytest.mark.parametrize("sizes", [(1 << 20, 256 * 1024, 1 << 20), (5, 4, 3), (7, 3, 16)])
def test_blocks_end_where_lines_end(
    monkeypatch: pytest.MonkeyPatch, sizes: tuple[int, int, int]
) -> None:
    block, chunk, copy_block = sizes
    monkeypatch.setattr(pg_script_lines, "BLOCK_SIZE", block)
    monkeypatch.setattr(pg_script_reader, "COPY_CHUNK_SIZE", chunk)
    monkeypatch.setattr(pg_script_reader, "COPY_BLOCK_SIZE", copy_block)
    rng = random.Random(sum(sizes))
    for _ in range(150):
        data = generated(rng)
        assert items(data) == line_by_line(monkeypatch, data), data


def test_a_long_line_that_starts_like_the_marker_is_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # Line-by-line reading looks at the first COPY_CHUNK_SIZE bytes of a line only.
    monkeypatch.setattr(pg_script_reader, "COPY_CHUNK_SIZE", 8)
    for data in (
        b"COPY t FROM stdin;\n1\n\\." + b"\r" * 20 + b"\nSELECT 1;\n",
        b"COPY t FROM stdin;\n1\n\\." + b"\r" * 3 + b"x\n\\.\nSELECT 1;\n",
        b"COPY t FROM stdin;\n" + b"x" * 30 + b"\\.\n\\.\nSELECT 1;\n",
    ):
        assert items(data) == line_by_line(monkeypatch, data), data


def test_copy_data_comes_in_large_blocks() -> None:
    row = b"42\tsome text\t{\"a\": 1}\n"
    rows = 200_000
    data = b"COPY t FROM stdin;\n" + row * rows + b"\\.\nSELECT 1;\n"
    found, blocks = [], []
    for item in read_script(io.BytesIO(data), "<s>"):
        found.append(item)
        if item.data is not None:
            blocks.extend(item.data)
    assert found[0].kind == "copy"
    assert b"".join(blocks) == row * rows
    assert len(blocks) <= len(row) * rows // (pg_script_reader.COPY_BLOCK_SIZE // 2) + 1
    assert (found[1].kind, found[1].text, found[1].line) == ("statement", "SELECT 1", rows + 3)
