"""Writing ``.dbtpl`` templates atomically, one streamed payload file at a time.

The archive is built in a hidden temporary file next to the target, so that the final
``os.replace`` is a rename within one file system: the target path either keeps its old
content or gets the complete new template, never half of one. Payload files are
compressed, hashed and counted while the engine writes them, so a dump of any size passes
through a fixed amount of memory. A payload file larger than :data:`ZSTD_FROM` is
compressed with zstd on the library's own threads (format version 3: a stored ZIP entry
holding zstd frames, declared in the manifest), which keeps pace with a database dump
where deflate would take several times as long; smaller files are deflated as before.
Scripts (the editor's text, format version 2) are small texts added with
:meth:`TemplateWriter.add_script`. A template is written with the lowest version that
holds it, so a small template without scripts still opens in every dbplay release.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import dbplay_desktop
from dbplay_desktop.atomic_file import PendingFile
from dbplay_desktop.engines.base import PayloadSink
from dbplay_desktop.templates.limits import format_size, resolve_max_size
from dbplay_desktop.templates.manifest import (
    MANIFEST_NAME,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SCRIPTS,
    MAX_SCRIPTS_SIZE,
    SCRIPTS_FOLDER,
    SCRIPTS_VERSION,
    ZSTD_VERSION,
    FileEntry,
    Manifest,
    TemplateError,
    check_member_path,
    is_engine_name,
)

#: Payload files up to this many bytes are deflated (readable by every release); larger
#: ones are compressed with zstd. The first bytes wait in memory until the size is known.
ZSTD_FROM = 1024**2
#: zstd's level 1: about as fast as pg_dump writes, and smaller than deflate's default.
ZSTD_LEVEL = 1


def utc_timestamp() -> str:
    """Now, as ISO 8601 UTC to the second: ``2024-05-01T12:34:56Z``."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


class TemplateWriter(PayloadSink):
    """Builds a template at ``path``; nothing appears there until :meth:`commit` succeeds.

    ``max_size`` caps the payload (None: the ``DBPLAY_MAX_TEMPLATE_SIZE`` setting or 4 GiB),
    so dbplay never writes a template it would refuse to read. ``extra`` adds top-level
    manifest keys for other tools. Use as a context manager: leaving the block without a
    successful commit (an exception, or simply no commit) deletes the temporary file and
    leaves ``path`` as it was.
    One payload file can be open at a time; the order of :meth:`open` calls is the order
    in which the files are restored.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        engine: str,
        name: str,
        description: str = "",
        app_version: str = dbplay_desktop.__version__,
        max_size: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if not is_engine_name(engine):
            raise TemplateError(f"{engine!r} is not an engine name")
        if not isinstance(name, str) or not name.strip():
            raise TemplateError("a template needs a name")
        # Checked here too so a save fails before the dump, not after it.
        for what, text, limit in (
            ("name", name, MAX_NAME_LENGTH),
            ("description", description, MAX_DESCRIPTION_LENGTH),
        ):
            if len(text) > limit:
                raise TemplateError(
                    f"a template {what} may have at most {limit} characters, "
                    f"this one has {len(text)}"
                )
        self.path = Path(path)
        self.label = self.path.name
        self.engine = engine
        self.name = name
        self.description = description
        self.app_version = app_version
        self.max_size = resolve_max_size(max_size)
        self.extra = dict(extra or {})
        self.files: list[FileEntry] = []
        self.scripts: list[FileEntry] = []
        self.manifest: Manifest | None = None
        self._written = 0
        self._current: _PayloadStream | None = None
        self._pending_file, self._file = self._create_temp()
        try:
            self._zip = zipfile.ZipFile(
                self._file, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True
            )
        except BaseException:
            self._discard()
            raise

    # -- PayloadSink -------------------------------------------------------------------
    def open(self, path: str) -> IO[bytes]:
        """A binary stream for a new payload file; closing it records size and SHA-256."""
        self._check_open()
        try:
            check_member_path(path, "payload file")
        except TemplateError as err:
            raise TemplateError(f"{self.label}: {err.message}") from None
        if path.endswith("/") or path == MANIFEST_NAME or path.startswith(SCRIPTS_FOLDER):
            raise TemplateError(f"{self.label}: {path!r} cannot be a payload file name")
        if any(entry.path == path for entry in self.files):
            raise TemplateError(f"{self.label}: payload file {path} was already written")
        if self._current is not None:
            raise TemplateError(
                f"{self.label}: finish writing {self._current.path} before opening {path}"
            )
        self._current = _PayloadStream(self, path)
        return self._current

    # -- scripts -----------------------------------------------------------------------
    def add_script(self, name: str, text: str) -> str:
        """Store ``text`` (UTF-8) as ``scripts/NAME``; returns that path.

        Scripts are shown in the editor when the template opens, never restored or run.
        Their number and total size are limited (see ``limits``) so a reader accepts them.
        """
        self._check_open()
        path = f"{SCRIPTS_FOLDER}{name}"
        try:
            check_member_path(path, "script")
        except TemplateError as err:
            raise TemplateError(f"{self.label}: {err.message}") from None
        if not name or "/" in name:
            raise TemplateError(f"{self.label}: {name!r} cannot be a script name")
        if any(entry.path == path for entry in self.scripts):
            raise TemplateError(f"{self.label}: script {path} was already written")
        if len(self.scripts) >= MAX_SCRIPTS:
            raise TemplateError(f"{self.label}: a template holds at most {MAX_SCRIPTS} scripts")
        if self._current is not None:
            raise TemplateError(
                f"{self.label}: finish writing {self._current.path} before adding {path}"
            )
        data = text.encode("utf-8")
        total = sum(entry.size for entry in self.scripts) + len(data)
        if total > MAX_SCRIPTS_SIZE:
            raise TemplateError(
                f"{self.label}: the scripts are {format_size(total)}; a template holds at "
                f"most {format_size(MAX_SCRIPTS_SIZE)} of scripts"
            )
        self._zip.writestr(self._entry_info(path), data)
        self.scripts.append(FileEntry(path, hashlib.sha256(data).hexdigest(), len(data)))
        return path

    # -- finishing ---------------------------------------------------------------------
    def commit(self, engine_version: str, stats: dict[str, int]) -> Manifest:
        """Write the manifest and move the finished template into place."""
        self._check_open()
        if self._current is not None:
            raise TemplateError(
                f"{self.label}: payload file {self._current.path} is still open; close it first"
            )
        manifest = Manifest(
            engine=self.engine,
            engine_version=engine_version,
            name=self.name,
            description=self.description,
            created_at=utc_timestamp(),
            app_version=self.app_version,
            files=list(self.files),
            stats=dict(stats),
            extra=dict(self.extra),
            format_version=self._format_version(),
            scripts=list(self.scripts),
        )
        text = manifest.to_json()
        # Validate what we are about to write exactly as a reader will see it.
        Manifest.from_json(text)
        try:
            self._zip.writestr(self._entry_info(MANIFEST_NAME), text.encode("utf-8"))
            self._zip.close()
            self._file.close()
            self._pending_file.publish()  # fsync, the old file's permissions, one rename
        except BaseException as err:
            self._discard()
            if isinstance(err, OSError):
                raise self.cannot_save(err) from err
            raise
        self.manifest = manifest
        return manifest

    def abort(self) -> None:
        """Give up: delete the temporary file; the target path is left as it was."""
        if self.manifest is None:
            self._discard()

    def __enter__(self) -> TemplateWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    # -- internals ---------------------------------------------------------------------
    def _format_version(self) -> int:
        if any(entry.compression is not None for entry in self.files):
            return ZSTD_VERSION
        return SCRIPTS_VERSION if self.scripts else 1

    @staticmethod
    def _entry_info(path: str, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=datetime.now().timetuple()[:6])
        info.compress_type = method
        info.external_attr = 0o644 << 16
        return info

    def _open_entry(self, path: str, method: int) -> IO[bytes]:
        return self._zip.open(self._entry_info(path, method), "w", force_zip64=True)

    def _create_temp(self) -> tuple[PendingFile, IO[bytes]]:
        """The archive's file beside the target, with no name until it is complete where
        the system allows (see :mod:`dbplay_desktop.atomic_file`)."""
        try:
            pending = PendingFile(self.path)
        except OSError as err:
            raise TemplateError(
                f"{self.label}: cannot save in {self.path.parent} ({err.strerror or err})"
            ) from err
        return pending, pending.open("wb")

    def cannot_save(self, err: OSError) -> TemplateError:
        """The one-line error of a failed write (a full disk, a removed drive)."""
        return TemplateError(f"{self.label}: cannot save ({err.strerror or err})")

    def _check_open(self) -> None:
        if self.manifest is not None:
            raise TemplateError(f"{self.label}: the template was already saved")
        if self._file.closed:
            raise TemplateError(f"{self.label}: the save was abandoned")

    def _discard(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.abandon()
        try:
            self._zip.close()
        except Exception:  # stopped half-way (a full disk): there is nothing left to write
            self._zip.fp = None
        with contextlib.suppress(OSError, ValueError):
            self._file.close()
        self._pending_file.discard()

    def _count(self, size: int) -> None:
        self._written += size
        if self._written > self.max_size:
            raise TemplateError(
                f"{self.label}: the payload is over the template size limit of "
                f"{format_size(self.max_size)} (set DBPLAY_MAX_TEMPLATE_SIZE to allow more)"
            )

    def _finished(self, stream: _PayloadStream) -> None:
        entry = FileEntry(stream.path, stream.hash.hexdigest(), stream.size)
        entry.compression = stream.compression
        self.files.append(entry)
        self._current = None


class _PayloadStream(io.BufferedIOBase):
    """A payload file being written: compressed into the archive, hashed and counted.

    The first :data:`ZSTD_FROM` bytes are held back; a file that ends within them is
    deflated, a longer one becomes a stored entry of zstd frames (``compression``).
    """

    def __init__(self, writer: TemplateWriter, path: str) -> None:
        super().__init__()
        self.path = path
        self.hash = hashlib.sha256()
        self.size = 0
        self.compression: str | None = None
        self._writer = writer
        self._pending = bytearray()
        self._entry: IO[bytes] | None = None  # the archive entry, once opened
        self._target: IO[bytes] | None = None  # what the bytes go to: entry or compressor

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError(f"payload file {self.path} is already closed")
        view = memoryview(data).cast("B")
        size = len(view)
        self._writer._count(size)
        self.hash.update(view)
        self.size += size
        try:
            if self._target is not None:
                self._target.write(view)
            else:
                self._pending += view
                if len(self._pending) > ZSTD_FROM:
                    self._start_large()
        except OSError as err:
            raise self._writer.cannot_save(err) from err
        return size

    def _start_large(self) -> None:
        """The file is large: open its entry and compress from here on, held bytes first."""
        compressor = _zstd_compressor()
        if compressor is None:  # no zstandard: deflate, as format version 1 does
            self._entry = self._writer._open_entry(self.path, zipfile.ZIP_DEFLATED)
            self._target = self._entry
        else:
            self._entry = self._writer._open_entry(self.path, zipfile.ZIP_STORED)
            self._target = compressor.stream_writer(self._entry, closefd=False)
            self.compression = "zstd"
        pending, self._pending = self._pending, bytearray()
        self._target.write(pending)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._entry is None:
                self._entry = self._writer._open_entry(self.path, zipfile.ZIP_DEFLATED)
                self._entry.write(self._pending)
                self._pending = bytearray()
            elif self._target is not self._entry:
                assert self._target is not None
                self._target.close()  # ends the zstd frame; the entry stays open
            self._entry.close()
        except OSError as err:
            raise self._writer.cannot_save(err) from err
        finally:
            super().close()
        self._writer._finished(self)

    def abandon(self) -> None:
        """Close without recording the file (the save is being given up)."""
        if not self.closed:
            for stream in (self._target, self._entry):
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
            super().close()


def _zstd_compressor() -> Any:
    """A multi-threaded zstd compressor, or None when ``zstandard`` is not installed."""
    try:
        import zstandard
    except ImportError:
        return None
    threads = min(4, os.cpu_count() or 1)
    return zstandard.ZstdCompressor(
        level=ZSTD_LEVEL, threads=threads if threads > 1 else 0, write_checksum=True
    )
