"""Save, restore, verify and describe ``.dbtpl`` templates: the glue between files and engines.

The command line and the window both call these functions, so a template saved from
one is restored the same way by the other. They never import Qt and take a plain
progress callback, which keeps them usable on a worker thread or in a script.

Safety order on restore: the manifest is read and matched against the target server's
engine, then every payload file is hash-checked *while* the engine's static scan reads
it, and only a clean, intact payload reaches the server.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from dbplay_desktop.engines.base import (
    ConnectionFailed,
    Engine,
    EngineError,
    Finding,
    PayloadSink,
    PayloadSource,
    ProgressCallback,
    UnsafeContent,
)
from dbplay_desktop.engines.descriptor import EngineDescriptor, load_reference
from dbplay_desktop.engines.descriptor import redact_uri as _redact
from dbplay_desktop.engines.registry import (
    descriptor,
    descriptor_for_uri,
    descriptors,
    display_name,
    engine_class,
    engine_for_uri,
    engine_name_for_uri,
)
from dbplay_desktop.templates.container import (
    Manifest,
    TemplateError,
    TemplateReader,
    TemplateWriter,
    max_template_size,
    read_manifest,
)
from dbplay_desktop.templates.limits import format_size

__all__ = [
    "database_from_uri",
    "engine_for_template",
    "import_template",
    "restore_template",
    "save_template",
    "scan_payload",
    "template_info",
    "verify_template",
]

def database_from_uri(uri: str) -> str:
    """The database a URI names: ``scheme://user@host:port/shop`` -> ``shop``.

    The engine of the URI's scheme decides: a server engine reads the path (or a
    ``dbname`` parameter), a file-based one the whole path (``scheme:///abs/file``).
    Raises when the URI names no database, so nothing is ever restored into a default one.
    """
    return descriptor_for_uri(uri).database_from_uri(uri)


def default_template_name(uri: str) -> str:
    """A template's name when none is given: the database's, or a file's name without
    its folder and suffix (``/data/shop.db`` -> ``shop``)."""
    found = descriptor_for_uri(uri)
    database = found.database_from_uri(uri)
    if found.path_is_database:
        return Path(database).stem or database
    return database


# --------------------------------------------------------------------------- save


def save_template(
    source_uri: str,
    out: str | Path,
    *,
    name: str | None = None,
    description: str = "",
    progress: ProgressCallback | None = None,
) -> Manifest:
    """Dump the database of ``source_uri`` into a new template file at ``out``.

    The file appears only when the dump succeeded: the writer works on a temporary file
    and renames it at the end, so an error or Ctrl+C leaves nothing at ``out``.
    ``name`` defaults to the database's name.
    """
    engine = engine_for_uri(source_uri)
    database = database_from_uri(source_uri)
    try:
        with TemplateWriter(
            out, engine=engine.name, name=name or default_template_name(source_uri),
            description=description
        ) as writer:
            info = engine.dump(database, writer, progress)
            return writer.commit(info.engine_version, info.stats)
    finally:
        engine.close()


# --------------------------------------------------------------------------- import


class _Spool(PayloadSink):
    """Payload files in a private temporary folder: written by an importer, read back
    by the engine's scan, then copied into the template. Holds at most the template
    size limit, counted as it is written."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.order: list[str] = []
        self.limit = max_template_size()
        self.written = 0
        self._names: dict[str, Path] = {}

    def open(self, path: str) -> IO[bytes]:
        if path in self._names:
            raise TemplateError(f"the importer wrote payload file {path} twice")
        self.order.append(path)
        self._names[path] = self.folder / f"{len(self.order):06d}"
        return _Counted(self, open(self._names[path], "xb"))

    def count(self, size: int) -> None:
        self.written += size
        if self.written > self.limit:
            raise TemplateError(
                f"the imported payload is over the template size limit of "
                f"{format_size(self.limit)} (set DBPLAY_MAX_TEMPLATE_SIZE to allow more)")

    def paths(self) -> Sequence[str]:
        return list(self.order)

    def size(self, path: str) -> int | None:
        return self._names[path].stat().st_size

    def read(self, path: str) -> IO[bytes]:
        return open(self._names[path], "rb")


class _Counted(io.RawIOBase):
    """A spool file that counts what is written into it."""

    def __init__(self, spool: _Spool, target: IO[bytes]) -> None:
        self.spool = spool
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        self.spool.count(size)
        self.target.write(data)
        return size

    def close(self) -> None:
        if not self.closed:
            self.target.close()
        super().close()


class _SpoolReader(PayloadSource):
    def __init__(self, spool: _Spool) -> None:
        self.spool = spool

    def paths(self) -> Sequence[str]:
        return self.spool.paths()

    def open(self, path: str) -> IO[bytes]:
        return self.spool.read(path)

    def size(self, path: str) -> int | None:
        return self.spool.size(path)


def _importers() -> list[EngineDescriptor]:
    return [d for d in descriptors() if d.importer]


def _import_engine(source: Path, engine: str | None) -> EngineDescriptor:
    if engine is not None:
        found = descriptor(engine)  # not installed: says so, with the hint
        if not found.importer:
            names = ", ".join(d.name for d in _importers()) or "none"
            raise TemplateError(f"the {found.display_name} engine imports nothing "
                                f"(engines that import: {names})")
        reason = found.unavailable_reason()
        if reason is not None:
            raise TemplateError(reason)
        return found
    candidates = [d for d in _importers() if d.available and d.can_import]
    for candidate in candidates:
        if load_reference(candidate.can_import)(source):
            return candidate
    names = ", ".join(d.name for d in candidates) or "none installed"
    raise TemplateError(f"{source}: no engine recognises it; give --engine NAME "
                        f"(engines that import: {names})")


def import_template(
    source: str | Path,
    out: str | Path,
    *,
    name: str | None = None,
    engine: str | None = None,
    progress: ProgressCallback | None = None,
) -> Manifest:
    """Turn another tool's dump at ``source`` (a file or folder) into a template at ``out``.

    The engine is ``engine`` or the first whose descriptor's ``can_import`` recognises
    ``source``; its ``importer`` writes the payload into a private temporary folder, the
    engine's safety scan reads it there (an import is untrusted input like any template),
    and only a clean payload is written, atomically, as the template. ``name`` defaults
    to the source's name without its suffixes.
    """
    source = Path(source)
    if not source.exists():
        raise TemplateError(f"{source}: no such file or folder")
    found = _import_engine(source, engine)
    importer = load_reference(found.importer)
    with tempfile.TemporaryDirectory(prefix="dbplay-import-") as folder:
        spool = _Spool(Path(folder))
        info = importer(source, spool, progress)
        findings = scan_payload(found.name, _SpoolReader(spool))
        if findings:
            more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
            raise UnsafeContent(f"{source}: refused: {findings[0]}{more}")
        with TemplateWriter(out, engine=found.name, name=name or _import_name(source)) \
                as writer:
            for path in spool.paths():
                with spool.read(path) as stream, writer.open(path) as target:
                    shutil.copyfileobj(stream, target, 1024 * 1024)
            return writer.commit(info.engine_version, info.stats)


def _import_name(source: Path) -> str:
    name = source.name
    for suffix in (".gz", ".archive", ".json", ".js", ".txt"):
        name = name.removesuffix(suffix)
    return name or source.name or "imported"


# --------------------------------------------------------------------------- scan / verify


def scan_payload(
    engine_name: str, source: PayloadSource, progress: ProgressCallback | None = None
) -> list[Finding]:
    """Run an engine's static safety scan over a payload: no server, no engine instance."""
    return list(engine_class(engine_name).scan_payload(source, progress))


def verify_template(
    path: str | Path,
    *,
    max_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> list[str]:
    """Everything wrong with a template, one readable line each; ``[]`` means clean.

    Checks the container (manifest, listed files only, safe paths), every file's size and
    hash, then runs the engine's safety scan. Needs no server. A path that is not a file
    raises :class:`TemplateError`; a file the reader refuses is one problem.
    """
    if not Path(path).is_file():
        raise TemplateError(f"{path}: no such file")
    try:
        reader = TemplateReader(path, max_size=max_size)
    except TemplateError as exc:
        return [str(exc)]
    with reader:
        # One pass: the scan reads every payload file through the reader, which checks
        # size and hash as it goes; verify then reads only what the scan did not finish.
        # A damaged payload is reported alone, whatever the scan made of it.
        try:
            findings = [str(f) for f in scan_payload(reader.manifest.engine, reader, progress)]
        except UnsafeContent as exc:
            findings = [str(exc)]
        except TemplateError as exc:
            return [str(exc)]
        problems = list(reader.verify(skip_read=True))
        return problems or findings


# --------------------------------------------------------------------------- restore


def engine_for_template(manifest: Manifest, server_uri: str) -> Engine:
    """The engine for ``server_uri``, refusing a server of another kind than the template's."""
    needed = descriptor(manifest.engine)  # not installed: says so, with the hint
    target = engine_name_for_uri(server_uri)
    if needed.name != target:
        raise TemplateError(
            f"this is a {display_name(manifest.engine)} template but {_redact(server_uri)} "
            f"is a {display_name(target)} address; restore it into a "
            f"{display_name(manifest.engine)} server"
        )
    return engine_class(target)(server_uri)


def restore_template(
    path: str | Path,
    target_uri: str,
    *,
    progress: ProgressCallback | None = None,
    max_size: int | None = None,
) -> str:
    """Restore the template at ``path`` into the database named by ``target_uri``.

    The database must not exist (it is created) or be empty. The engine scans the payload
    before anything reaches the server, and the reader checks every file's size and hash
    as the scan reads it; on any failure the engine removes the database it created.
    Returns the database name. A failure names the template file first
    (``shop.dbtpl: dump.sql:12: relation "x" does not exist``), unless it is about the
    server rather than the template (a connection failure).
    """
    database = database_from_uri(target_uri)
    with TemplateReader(path, max_size=max_size) as reader:
        engine = engine_for_template(reader.manifest, target_uri)
        try:
            return engine.restore(reader, database, progress)
        except EngineError as exc:
            if not isinstance(exc, ConnectionFailed):
                _name_template(exc, reader.label)
            raise
        finally:
            engine.close()


def _name_template(exc: EngineError, label: str) -> None:
    """Put ``label: `` in front of the error's one-line message, once."""
    if exc.message.startswith(f"{label}:"):
        return
    exc.message = f"{label}: {exc.message}"
    exc.args = (exc.message, *exc.args[1:])


# --------------------------------------------------------------------------- info


def template_info(path: str | Path) -> dict[str, Any]:
    """What ``dbplay template info`` shows: the manifest plus sizes, as JSON-ready values."""
    manifest = read_manifest(path)
    files = [
        {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
        for entry in manifest.files
    ]
    info: dict[str, Any] = {
        "file": str(Path(path)),
        "file_size": os.path.getsize(path),
        "format": "dbtpl",
        "format_version": manifest.format_version,
        "engine": manifest.engine,
        "engine_display_name": display_name(manifest.engine),
        "engine_version": manifest.engine_version,
        "name": manifest.name,
        "description": manifest.description,
        "created_at": manifest.created_at,
        "app_version": manifest.app_version,
        "payload_size": manifest.total_size,
        "files": files,
        "stats": dict(manifest.stats),
        "scripts": [
            {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
            for entry in manifest.scripts
        ],
    }
    if manifest.extra:
        info["extra"] = dict(manifest.extra)
    return info

