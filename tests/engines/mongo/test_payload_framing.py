"""Reading a BSON file in chunks gives the documents and the framing errors that reading
it document by document gives, whatever the chunk size and however short the reads."""

from __future__ import annotations

import io
import struct

import pytest

pytest.importorskip("bson")

from bson import encode

from dbplay_desktop.engines.mongo.payload import (
    MAX_DOCUMENT_SIZE,
    FramingError,
    read_documents,
)


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, as a socket may."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = data
        self.position = 0
        self.step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.position:self.position + size]
        self.position += len(chunk)
        return chunk


DOCUMENTS = [encode({"_id": n, "text": "x" * (n * 37 % 300)}) for n in range(200)]
BIG = encode({"_id": "big", "blob": b"\x01" * 50_000})


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096, 1 << 20])
@pytest.mark.parametrize("step", [1, 3, 1000, 1 << 20])
def test_documents_across_chunk_boundaries(chunk, step):
    data = b"".join(DOCUMENTS[:40]) + BIG + b"".join(DOCUMENTS[40:])
    got = list(read_documents(Trickle(data, step), chunk=chunk))
    assert got == [*DOCUMENTS[:40], BIG, *DOCUMENTS[40:]]


def test_an_empty_file_has_no_documents():
    assert list(read_documents(io.BytesIO(b""), chunk=8)) == []


def _error(data: bytes, chunk: int) -> FramingError:
    with pytest.raises(FramingError) as caught:
        list(read_documents(io.BytesIO(data), chunk=chunk))
    return caught.value


@pytest.mark.parametrize("chunk", [1, 16, 1 << 20])
def test_framing_errors_name_the_document_and_its_offset(chunk):
    head = b"".join(DOCUMENTS[:3])
    stray = _error(head + b"\x05\x00", chunk)
    assert (str(stray), stray.index, stray.offset) == (
        "2 stray bytes at the end (not a whole document)", 4, len(head))
    short = _error(head + DOCUMENTS[3][:-2], chunk)
    assert (str(short), short.index) == (
        f"document 4 is cut short ({len(DOCUMENTS[3]) - 2} of {len(DOCUMENTS[3])} bytes)", 4)
    no_nul = _error(head + DOCUMENTS[3][:-1] + b"\x01", chunk)
    assert "document 4 does not end with a NUL byte" in str(no_nul)
    for length in (4, MAX_DOCUMENT_SIZE + 1, -1):
        huge = _error(head + struct.pack("<i", length) + b"\x00" * 8, chunk)
        assert f"document 4 declares {length} bytes" in str(huge)
        assert (huge.index, huge.offset) == (4, len(head))
