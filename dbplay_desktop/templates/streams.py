"""The streams a template reader hands out, and what a failed read is called.

:class:`CheckedStream` counts and hashes one payload file (or script) as it is
decompressed; :class:`ZstdMember` decompresses a stored entry of zstd frames (format
version 3). :func:`read_failure` turns whatever a read raised into the one-line
:class:`TemplateError` a user sees, and tells three causes apart, because what the user
should do differs: the file is damaged (ask for another copy), the file changed under
the reader (another program truncated it: try again), or the disk could not be read (an
I/O error, a drive unplugged: plug it back in).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from dbplay_desktop.templates.manifest import MANIFEST_NAME, FileEntry, TemplateError, shown_name

CHUNK = 1 << 16
#: Reads of a whole file (verify) ask for this much at a time.
BIG_CHUNK = 1 << 20
#: The largest zstd window a frame may ask for (zstd's own default limit): bounds the
#: memory a hostile frame can make the decoder take.
ZSTD_MAX_WINDOW = 1 << 27
# How far past its declared size a file is read to tell the user how large it really is.
_OVERRUN_PROBE = 1 << 16
#: What zipfile, zlib and the zstd member raise for corrupt data, and what reading the
#: file raises when the disk fails (OSError).
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)
#: The longest part of a library's own message quoted in ours (zipfile quotes headers).
_MAX_REASON = 100

#: Builds the error for a failed read of one file: ``(what, error) -> TemplateError``.
Explain = Callable[[str, BaseException], TemplateError]


class FileWatch:
    """The template file's size when it was opened, to tell a file that shrank meanwhile
    (another program truncated it) from a damaged one."""

    def __init__(self, fp: IO[bytes] | None, size: int) -> None:
        self._fp = fp
        self.size = size

    def shrank(self) -> int | None:
        """The file's size now if it is smaller than when it was opened, else None."""
        if self._fp is None:
            return None
        try:
            now = os.fstat(self._fp.fileno()).st_size
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        return now if now < self.size else None


def read_failure(label: str, what: str, err: BaseException,
                 watch: FileWatch | None = None) -> TemplateError:
    """The one-line error for reading ``what`` (``payload file dump.sql``) failing with ``err``."""
    now = watch.shrank() if watch is not None else None
    if now is not None:
        return TemplateError(
            f"{label}: the file became shorter while {what} was being read ({watch.size} "
            f"bytes, now {now}): another program changed it; try again when it is complete"
        )
    disk = disk_error(err)
    if disk is not None:
        return TemplateError(
            f"{label}: {what} could not be read from the disk ({disk}); the file or the "
            "drive it is on may have gone away"
        )
    return TemplateError(f"{label}: {what} is damaged ({short_reason(err)})")


def disk_error(err: BaseException | None) -> str | None:
    """The operating system's reason when ``err`` is (or hides) a failed read, not bad
    data: zipfile turns an ``OSError`` while it looks for the end record into
    ``BadZipFile``, keeping the original as the context."""
    for _ in range(3):
        if err is None:
            return None
        if isinstance(err, OSError) and not isinstance(err, io.UnsupportedOperation) \
                and err.errno is not None:
            return err.strerror or errno.errorcode.get(err.errno, "") or "I/O error"
        err = err.__cause__ or err.__context__
    return None


def short_reason(err: BaseException) -> str:
    """A library's message on one short line (zipfile's quote whole header bytes)."""
    text = " ".join(str(err).split()) or type(err).__name__
    if text.startswith("File name in directory"):
        return "its local header names another file"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


class ZstdMember(io.RawIOBase):
    """The content of a stored entry of zstd frames, decompressed as it is read.

    Frames follow one another (as the ``zstd`` tool allows); anything that is not a
    frame, a window over :data:`ZSTD_MAX_WINDOW` or a wrong frame checksum raises
    :class:`ValueError`, which the checked stream reports as damage. A frame cut short
    ends the data early, which the checked stream refuses as a short file.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        import zstandard

        self._raw = raw
        self._error = zstandard.ZstdError
        decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._reader = decompressor.stream_reader(
            raw, read_size=BIG_CHUNK, read_across_frames=True, closefd=False
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._reader.readinto(buffer))
        except self._error as err:
            raise ValueError(str(err).removeprefix("zstd decompress error: ")) from None

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        buffer = bytearray(size)
        got = self.readinto(buffer)
        del buffer[got:]
        return bytes(buffer)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._reader.close()
            self._raw.close()
        super().close()


class CheckedStream(io.RawIOBase):
    """One payload file, counted and hashed as it is decompressed.

    Never hands out more bytes than the manifest declares; raises at the first byte
    beyond it, and at end of file when the file is short or its hash differs. Once it has
    raised, every further read raises the same error, so a caller that catches and keeps
    reading cannot mistake the failure for a clean end of file. ``explain`` names a
    failed read (:func:`read_failure` by default).
    """

    def __init__(
        self,
        raw: IO[bytes],
        entry: FileEntry,
        label: str,
        what: str = "payload file",
        on_verified: Any = None,
        explain: Explain | None = None,
    ) -> None:
        super().__init__()
        self._on_verified = on_verified
        self._raw = raw
        self._entry = entry
        self._label = label
        self._what = what
        self._explain: Explain = explain or (lambda name, err: read_failure(label, name, err))
        self._hash = hashlib.sha256()
        self._failure: TemplateError | None = None
        self._finished = False
        #: Bytes decompressed so far (including any probed past the declared size).
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes handed out so far (for progress; the stream cannot seek)."""
        return min(self.bytes_read, self._entry.size)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._failure is not None:
            raise self._failure
        if self._finished:
            return 0
        # One byte more than is left, so a file longer than declared is noticed right away.
        want = min(len(buffer), self._entry.size - self.bytes_read + 1)
        target = memoryview(buffer).cast("B")[:want]
        got = self._read_raw_into(target)
        if not got:
            self._finish()
            return 0
        self.bytes_read += got
        if self.bytes_read > self._entry.size:
            raise self._too_long()
        self._hash.update(target[:got])
        return got

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(*DAMAGE):
                self._raw.close()
        super().close()

    def _read_raw_into(self, target: memoryview) -> int:
        try:
            return self._raw.readinto(target) or 0
        except DAMAGE as err:
            what = f"{self._what} {shown_name(self._entry.path)}"
            raise self._fail(self._explain(what, err)) from err

    def _finish(self) -> None:
        path, declared = shown_name(self._entry.path), self._entry.size
        if self.bytes_read < declared:
            raise self._fail(
                TemplateError(
                    f"{self._label}: {self._what} {path} is {self.bytes_read} bytes, "
                    f"manifest says {declared}"
                )
            )
        if self._hash.hexdigest() != self._entry.sha256:
            raise self._fail(
                TemplateError(
                    f"{self._label}: {self._what} {path} does not match its SHA-256 in "
                    f"{MANIFEST_NAME} (damaged or altered)"
                )
            )
        self._finished = True
        if self._on_verified is not None:
            self._on_verified(self._entry.path)

    def _too_long(self) -> TemplateError:
        """Read a little further to say how long the file really is, then give up."""
        probed = 0
        at_end = False
        while probed < _OVERRUN_PROBE:
            try:
                chunk = self._raw.read(min(CHUNK, _OVERRUN_PROBE - probed))
            except DAMAGE:
                break
            if not chunk:
                at_end = True
                break
            probed += len(chunk)
        self.bytes_read += probed
        size = f"{self.bytes_read} bytes" if at_end else f"at least {self.bytes_read} bytes"
        return self._fail(
            TemplateError(
                f"{self._label}: {self._what} {shown_name(self._entry.path)} is {size}, "
                f"manifest says {self._entry.size}"
            )
        )

    def _fail(self, error: TemplateError) -> TemplateError:
        """Remember ``error`` so every later read raises it too; the caller raises it."""
        self._failure = error
        return error


class ReadAhead(io.RawIOBase):
    """A stream read on a thread of its own, a few blocks ahead of its reader.

    Decompressing and hashing a large payload file is native code that releases the
    GIL, so on this thread it runs beside what the reader does with the bytes (a scan,
    a restore) instead of before it. At most ``depth`` blocks wait, so memory stays
    bounded. An error of the inner stream is raised where it happened, after the bytes
    before it, and again on every later read (never mistaken for the end of the file);
    closing stops the thread.
    """

    def __init__(self, inner: io.RawIOBase, block: int = BIG_CHUNK, depth: int = 4) -> None:
        from dbplay_desktop.engines.read_ahead import read_ahead

        super().__init__()
        self._inner = inner
        self._blocks = read_ahead(self._read_blocks(block), depth=depth)
        self._current = memoryview(b"")
        self._failure: BaseException | None = None
        self._at_end = False
        self._handed = 0

    def _read_blocks(self, block: int) -> Iterator[bytes]:
        while chunk := self._inner.read(block):
            yield chunk

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes handed to the reader so far (for progress)."""
        return self._handed

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._failure is not None:
            raise self._failure
        if not self._current:
            if self._at_end:
                return 0
            try:
                self._current = memoryview(next(self._blocks))
            except StopIteration:
                self._at_end = True
                return 0
            except BaseException as exc:
                self._failure = exc
                raise
        size = min(len(buffer), len(self._current))
        memoryview(buffer).cast("B")[:size] = self._current[:size]
        self._current = self._current[size:]
        self._handed += size
        return size

    def close(self) -> None:
        if not self.closed:
            self._blocks.close()  # stops the thread after the block it is reading
            self._inner.close()
        super().close()
