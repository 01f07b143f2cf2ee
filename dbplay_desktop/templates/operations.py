"""Save, restore, verify and describe ``.dbtpl`` templates: the glue between files and engines.

The command line and the window both call these functions, so a template saved from
one is restored the same way by the other. They never import Qt and take a plain
progress callback, which keeps them usable on a worker thread or in a script.

Safety order on restore: the manifest is read and matched against the target server's
engine, then every payload file is hash-checked *while* the engine's static scan reads
it, and only a clean, intact payload reaches the server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbplay_desktop.engines.base import (
    ConnectionFailed,
    Engine,
    EngineError,
    Finding,
    PayloadSource,
    ProgressCallback,
    UnsafeContent,
)
from dbplay_desktop.engines.descriptor import redact_uri as _redact
from dbplay_desktop.engines.registry import (
    descriptor,
    descriptor_for_uri,
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
    read_manifest,
)

__all__ = [
    "database_from_uri",
    "engine_for_template",
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
        problems = list(reader.verify())
        if problems:
            # A damaged payload cannot be scanned reliably: the reader refuses to hand
            # out bytes whose hash does not match, so report the damage alone.
            return problems
        try:
            findings = scan_payload(reader.manifest.engine, reader, progress)
        except (UnsafeContent, TemplateError) as exc:
            return [str(exc)]
        return [str(finding) for finding in findings]


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

