"""Large payload files are decompressed and hashed on a thread a few blocks ahead of
their reader: the bytes and the errors come out exactly as without it, and closing a
stream half-read stops the thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dbplay_desktop.templates.container import TemplateReader
from dbplay_desktop.templates.manifest import TemplateError
from dbplay_desktop.templates.reader import READ_AHEAD_SIZE
from tests.helpers import craft_template


def _payload(size: int) -> bytes:
    line = b"INSERT INTO t VALUES (12345, 'some text to compress');\n"
    return (line * (size // len(line) + 1))[:size]


def _tamper(path: Path, new_payload: bytes) -> None:
    """Put ``new_payload`` in the archive (zstd, as the writer stores large files) but
    keep the old manifest: its size and hash no longer match."""
    import zipfile

    import zstandard

    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("manifest.json")
    assert b'"zstd"' in manifest
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("dump.sql", zstandard.ZstdCompressor().compress(new_payload))


def _read_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "dbplay-read-ahead")


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, bytes]:
    payload = _payload(READ_AHEAD_SIZE + 3 * 1024 * 1024 + 17)
    return craft_template(tmp_path / "big.dbtpl", payload), payload


def test_a_large_file_reads_the_same_in_any_read_sizes(big) -> None:
    path, payload = big
    with TemplateReader(path) as reader:
        for size in (4096, 65_536, 1 << 20):
            with reader.open("dump.sql") as stream:
                got = b"".join(iter(lambda: stream.read(size), b""))  # noqa: B023
                assert got == payload
                assert stream.tell() == len(payload)
        with reader.open("dump.sql") as stream:
            assert stream.read(10) + stream.read() == payload
        assert reader.verify() == []


def test_a_damaged_large_file_fails_at_the_end_and_on_every_read_after(tmp_path: Path) -> None:
    payload = _payload(READ_AHEAD_SIZE + 1024)
    path = craft_template(tmp_path / "damaged.dbtpl", payload)
    _tamper(path, payload[:-1] + b"X")
    with TemplateReader(path) as reader, reader.open("dump.sql") as stream:
        with pytest.raises(TemplateError, match="SHA-256") as first:
            while stream.read(1 << 16):
                pass
        for _ in range(2):
            with pytest.raises(TemplateError) as again:
                stream.read(1)
            assert str(again.value) == str(first.value)


def test_a_longer_file_than_declared_is_refused(tmp_path: Path) -> None:
    payload = _payload(READ_AHEAD_SIZE + 1024)
    path = craft_template(tmp_path / "long.dbtpl", payload)
    _tamper(path, payload + b"-- more than the manifest says\n")
    with TemplateReader(path) as reader, reader.open("dump.sql") as stream:
        got = 0
        with pytest.raises(TemplateError, match="manifest says"):
            while chunk := stream.read(1 << 16):
                got += len(chunk)
        assert got <= len(payload)  # never more than declared reaches the reader


def test_closing_half_way_stops_the_thread(big) -> None:
    path, payload = big
    before = _read_threads()
    with TemplateReader(path) as reader:
        stream = reader.open("dump.sql")
        assert stream.read(1000) == payload[:1000]
        stream.close()
    assert _read_threads() == before
