"""Reading ``.dbtpl`` templates: structure checks up front, payload checks while streaming.

Opening a template checks everything that can be checked without decompressing the
payload: it is a ZIP and nothing but a ZIP (no bytes before its first entry, as a
shell-script polyglot would have, and none after its end record), every entry name is a
safe relative path and appears once, every entry is listed in the manifest (or is the
manifest or a directory), every listed file is present with the size the manifest
declares, and the declared total is within the size limit. Scripts (``scripts/``, format
version 2) are checked the same way but are never handed to an engine: :meth:`paths`
and :meth:`open` know only payload files, :meth:`read_script` returns a script's text.
Payload files are then read as
streams that count the bytes really decompressed (the ZIP headers are only used to refuse
early), never return more than the manifest declares, and check the SHA-256 when they
reach the end, so a damaged or altered file fails before its last byte is accepted.

A file whose manifest item says ``"compression": "zstd"`` (format version 3) must be a
stored entry; its bytes are zstd frames, decompressed with a bounded window, and counted,
limited and hashed exactly like a deflated file's.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path
from typing import IO

from dbplay_desktop.engines.base import PayloadSource
from dbplay_desktop.templates.limits import (
    MAX_ARCHIVE_ENTRIES,
    MAX_MANIFEST_SIZE,
    format_size,
    resolve_max_size,
)
from dbplay_desktop.templates.manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    TemplateError,
    check_member_path,
    shown_name,
)
from dbplay_desktop.templates.streams import (
    BIG_CHUNK,
    CHUNK,
    DAMAGE,
    CheckedStream,
    FileWatch,
    ReadAhead,
    ZstdMember,
    disk_error,
    read_failure,
)

#: Payload files at least this large are read a few blocks ahead on a thread.
READ_AHEAD_SIZE = 4 * BIG_CHUNK

# The stream classes under the names they had here (tests build them directly).
_CheckedStream = CheckedStream
_ZstdMember = ZstdMember
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_END_RECORD = b"PK\x05\x06"
_END_RECORD_SIZE = 22
# End records of ZIP and ZIP64, and the ZIP64 locator: none may hide in the ZIP comment.
_END_SIGNATURES = (_END_RECORD, b"PK\x06\x06", b"PK\x06\x07")


class TemplateReader(PayloadSource):
    """An open template; use as a context manager, or call :meth:`close`.

    ``max_size`` caps the uncompressed payload in bytes; None means the
    ``DBPLAY_MAX_TEMPLATE_SIZE`` setting or 4 GiB. The constructor raises
    :class:`TemplateError` for anything wrong with the archive or its manifest.
    """

    def __init__(self, path: str | Path, *, max_size: int | None = None) -> None:
        self.path = Path(path)
        self.label = self.path.name
        self.max_size = resolve_max_size(max_size)
        self._verified: set[str] = set()
        self._watch = FileWatch(None, 0)
        self._zip = self._open_zip()
        try:
            self._check_framing()
            self.manifest: Manifest = self._read_structure()
        except BaseException:
            self._zip.close()
            raise

    # -- PayloadSource -----------------------------------------------------------------
    def paths(self) -> list[str]:
        """Payload file paths in restore order (the manifest's order)."""
        return [entry.path for entry in self.manifest.files]

    def size(self, path: str) -> int | None:
        """The declared (and, once read, verified) size of a payload file, for progress."""
        entry = self.manifest.file(path)
        return None if entry is None else entry.size

    def open(self, path: str) -> IO[bytes]:
        """A buffered binary stream of one payload file.

        Reading raises :class:`TemplateError` as soon as more bytes arrive than the manifest
        declares, and at the end of the file if it is short or its SHA-256 differs.
        """
        entry = self.manifest.file(path)
        if entry is None:
            raise TemplateError(f"{self.label}: no payload file named {shown_name(path)!r}")
        return self._checked(entry, "payload file")

    def _checked(self, entry: FileEntry, what: str) -> IO[bytes]:
        if self._zip.fp is None:
            raise ValueError(f"{self.label} was closed")
        try:
            raw: IO[bytes] = self._zip.open(entry.path)
            if entry.compression == "zstd":
                raw = ZstdMember(raw)
        except ImportError:
            raise TemplateError(
                f"{self.label}: {what} {shown_name(entry.path)} is compressed with zstd; "
                "install the zstandard package to read it"
            ) from None
        except DAMAGE as err:
            raise self._damaged(f"{what} {shown_name(entry.path)}", err) from err
        checked: io.RawIOBase = CheckedStream(raw, entry, self.label, what,
                                              self._verified.add, self._damaged)
        if what == "payload file" and entry.size >= READ_AHEAD_SIZE:
            checked = ReadAhead(checked)  # decompress and hash beside the reader's work
        return io.BufferedReader(checked, buffer_size=CHUNK)

    # -- scripts -----------------------------------------------------------------------
    def script_paths(self) -> list[str]:
        """The scripts' paths (``scripts/NAME``) in the manifest's order; never restored."""
        return [entry.path for entry in self.manifest.scripts]

    def read_script(self, path: str) -> str:
        """A script's text, size- and hash-checked, decoded as UTF-8 (a BOM is dropped).

        Raises :class:`TemplateError` for an unlisted path, a damaged file or text that is
        not UTF-8. The text comes from the template: show it escaped, never run it unasked.
        """
        entry = self.manifest.script(path)
        if entry is None:
            raise TemplateError(f"{self.label}: no script named {shown_name(path)!r}")
        with self._checked(entry, "script") as stream:
            data = stream.read(entry.size + 1)
            stream.read(1)  # reaches the end, where size and hash are checked
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise TemplateError(
                f"{self.label}: script {shown_name(entry.path)} is not UTF-8 text "
                f"(bad byte at offset {err.start})"
            ) from None

    # -- checks ------------------------------------------------------------------------
    def verify(self, *, skip_read: bool = False) -> list[str]:
        """Read every payload file and script to the end; one line per problem (empty: good).

        ``skip_read`` leaves out payload files this reader already read to the end with
        their size and hash found right (by a scan, say), so nothing is read twice.
        """
        problems: list[str] = []
        for entry in self.manifest.files:
            if skip_read and entry.path in self._verified:
                continue
            try:
                with self.open(entry.path) as stream:
                    buffer = memoryview(bytearray(BIG_CHUNK))
                    while stream.readinto(buffer):
                        pass
            except TemplateError as err:
                problems.append(err.message)
        for path in self.script_paths():
            try:
                self.read_script(path)
            except TemplateError as err:
                problems.append(err.message)
        return problems

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> TemplateReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------
    def _open_zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise TemplateError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise TemplateError(f"{self.path}: is a folder, not a .dbtpl file") from None
        except OSError as err:
            raise TemplateError(f"{self.path}: cannot be read ({err.strerror or err})") from None
        except (zipfile.BadZipFile, ValueError, EOFError) as err:
            reason = disk_error(err)
            if reason is not None:
                raise TemplateError(f"{self.path}: cannot be read ({reason})") from None
            raise TemplateError(
                f"not a .dbtpl file: {self.label} is not a ZIP archive (or it is truncated)"
            ) from None

    def _check_framing(self) -> None:
        """Refuse an archive with other data around it, and one with too many entries.

        Python's zipfile (like unzip) accepts leading data, so ``#!/bin/sh`` followed by a
        template would open here and run as a script elsewhere; data after the end record,
        or a second end record inside the comment, makes ZIP readers disagree about what
        the archive holds. dbplay never writes either, so both are refused.
        """
        infos = self._zip.infolist()
        if len(infos) > MAX_ARCHIVE_ENTRIES:
            raise TemplateError(
                f"{self.label}: the archive has {len(infos)} entries; "
                f"at most {MAX_ARCHIVE_ENTRIES} are allowed"
            )
        first = min((info.header_offset for info in infos), default=self._zip.start_dir)
        if first > 0:
            raise TemplateError(
                f"{self.label}: refused: {first} bytes of other data come before the ZIP "
                "archive (a .dbtpl file must start with it)"
            )
        comment = self._zip.comment
        if any(signature in comment for signature in _END_SIGNATURES):
            raise TemplateError(
                f"{self.label}: refused: the ZIP comment holds another end-of-archive record"
            )
        fp = self._zip.fp
        assert fp is not None
        try:
            size = fp.seek(0, io.SEEK_END)
            self._watch = FileWatch(fp, size)
            window = min(size, _END_RECORD_SIZE + 0xFFFF + (1 << 16))
            fp.seek(size - window)
            tail = fp.read(window)
        except OSError as err:
            raise TemplateError(f"{self.label}: cannot be read ({err.strerror or err})") from None
        at = tail.rfind(_END_RECORD)
        extra = len(tail) - (at + _END_RECORD_SIZE + len(comment)) if at >= 0 else 0
        if extra > 0:
            raise TemplateError(
                f"{self.label}: refused: {extra} bytes of other data follow the end of the "
                "ZIP archive"
            )

    def _read_structure(self) -> Manifest:
        entries = self._check_entries()
        manifest_info = entries.pop(MANIFEST_NAME, None)
        if manifest_info is None:
            raise TemplateError(f"not a .dbtpl file: {self.label} has no {MANIFEST_NAME}")
        manifest = self._read_manifest(manifest_info)
        listed = [("payload file", entry) for entry in manifest.files]
        listed += [("script", entry) for entry in manifest.scripts]
        for what, entry in listed:
            info = entries.pop(entry.path, None)
            if info is None:
                raise TemplateError(
                    f"{self.label}: {what} {shown_name(entry.path)} is listed in {MANIFEST_NAME} "
                    "but missing from the archive"
                )
            if entry.compression is not None:
                self._check_zstd_entry(what, entry, info)
            elif info.file_size != entry.size:
                raise TemplateError(
                    f"{self.label}: {what} {shown_name(entry.path)} is {info.file_size} bytes, "
                    f"manifest says {entry.size}"
                )
        for name, info in entries.items():
            if not (info.is_dir() and info.file_size == 0):
                raise TemplateError(
                    f"{self.label}: archive entry {shown_name(name)} is not listed in "
                    f"{MANIFEST_NAME}"
                )
        if manifest.total_size > self.max_size:
            raise TemplateError(
                f"{self.label}: the payload is {format_size(manifest.total_size)}, over the "
                f"template size limit of {format_size(self.max_size)} "
                "(set DBPLAY_MAX_TEMPLATE_SIZE to allow more)"
            )
        return manifest

    def _check_zstd_entry(self, what: str, entry: FileEntry, info: zipfile.ZipInfo) -> None:
        """A zstd file is a stored entry no larger than zstd can make ``entry.size`` bytes."""
        if info.compress_type != zipfile.ZIP_STORED:
            raise TemplateError(
                f"{self.label}: {what} {shown_name(entry.path)} is declared zstd in "
                f"{MANIFEST_NAME} but its archive entry is not stored "
                f"(method {info.compress_type})"
            )
        bound = zstd_bound(entry.size)
        if info.file_size > bound:
            raise TemplateError(
                f"{self.label}: {what} {entry.path} holds {info.file_size} bytes of zstd "
                f"data, more than {entry.size} bytes can compress to ({bound})"
            )

    def _check_entries(self) -> dict[str, zipfile.ZipInfo]:
        """Entry names by name, after refusing unsafe, duplicate, encrypted or odd entries."""
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            name = info.filename
            try:
                check_member_path(name, "archive entry")
            except TemplateError as err:
                raise TemplateError(f"{self.label}: {err.message}") from None
            if name in entries:
                raise TemplateError(f"{self.label}: archive entry {shown_name(name)} appears twice")
            if info.flag_bits & 0x1:
                raise TemplateError(f"{self.label}: archive entry {shown_name(name)} is encrypted")
            if _is_link(info):
                # Never followed (nothing is extracted), but no writer makes one and an
                # unzip tool would create it: refused rather than read as SQL.
                raise TemplateError(
                    f"{self.label}: archive entry {shown_name(name)} is a symbolic link"
                )
            if info.compress_type not in _METHODS:
                raise TemplateError(
                    f"{self.label}: archive entry {shown_name(name)} uses compression method "
                    f"{info.compress_type}; only stored (0) and deflated (8) are allowed"
                )
            entries[name] = info
        return entries

    def _read_manifest(self, info: zipfile.ZipInfo) -> Manifest:
        too_big = TemplateError(
            f"{self.label}: {MANIFEST_NAME} is larger than {format_size(MAX_MANIFEST_SIZE)}"
        )
        if info.file_size > MAX_MANIFEST_SIZE:
            raise too_big
        try:
            with self._zip.open(info) as stream:
                data = stream.read(MAX_MANIFEST_SIZE + 1)
        except DAMAGE as err:
            raise self._damaged(MANIFEST_NAME, err) from err
        if len(data) > MAX_MANIFEST_SIZE:
            raise too_big
        try:
            return Manifest.from_json(data)
        except TemplateError as err:
            raise TemplateError(f"{self.label}: {err.message}") from None

    def _damaged(self, what: str, err: BaseException) -> TemplateError:
        """A failed read of ``what``: damage, a file that shrank meanwhile, or the disk."""
        return read_failure(self.label, what, err, self._watch)


def zstd_bound(size: int) -> int:
    """The most bytes zstd frames of ``size`` bytes of content take, with room to spare.

    zstd's own bound (``ZSTD_COMPRESSBOUND``) is ``size + size/256`` plus a little; the
    allowance here also covers a frame per block and skippable frames of a few KiB.
    """
    return size + size // 128 + (1 << 17)


def _is_link(info: zipfile.ZipInfo) -> bool:
    """Whether an entry carries Unix symbolic-link mode bits."""
    return stat.S_ISLNK(info.external_attr >> 16)


def read_manifest(path: str | Path, max_size: int | None = None) -> Manifest:
    """The validated manifest of a template, without reading its payload.

    Cheap enough for the template browser and ``dbplay template info``; it still refuses
    archives that :class:`TemplateReader` would refuse to open.
    """
    with TemplateReader(path, max_size=max_size) as reader:
        return reader.manifest
