"""In-memory payload sinks and sources for the MongoDB dump, scan and restore tests."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO

from dbplay_desktop.engines.base import PayloadSink, PayloadSource


class MemorySink(PayloadSink):
    """Payload files kept in memory, in the order they were opened."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def open(self, path: str) -> IO[bytes]:
        assert path not in self.files, path
        sink = self

        class _File(io.BytesIO):
            def close(self) -> None:
                if not self.closed:
                    sink.files[path] = self.getvalue()
                super().close()

        self.files[path] = b""
        return _File()


class MemorySource(PayloadSource):
    def __init__(self, files: dict[str, bytes], order: Sequence[str] | None = None) -> None:
        self.files = dict(files)
        self.order = list(order if order is not None else files)

    def paths(self) -> Sequence[str]:
        return list(self.order)

    def open(self, path: str) -> IO[bytes]:
        return io.BytesIO(self.files[path])

    def size(self, path: str) -> int | None:
        return len(self.files[path])
