"""Restore a MongoDB payload (mongodump's layout) into an existing, empty database.

In the payload's order: each collection is created with its options (validator with its
level and action, capped size and max, collation, time series, clustered index), its
documents are inserted as raw BSON (``RawBSONDocument``, so bytes and field order are
kept, nothing decoded) in ordered batches of at most 1000 documents or 8 MiB, validation
bypassed (the documents were valid where they came from), each batch sent while the next
is read from the payload, then its indexes are built one by one with
every option they carry. Views are created last, each after the views it reads. Every
metadata file is checked again as it is read (:mod:`.safety`), and every BSON file's
framing. Any failure raises a one-line :class:`RestoreError`; the caller (the engine)
drops the database, so nothing is left half-made.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from bson.son import SON
from pymongo.errors import BulkWriteError, OperationFailure, PyMongoError

from dbplay_desktop.engines.base import PayloadSource, ProgressCallback, RestoreError, UnsafeContent
from dbplay_desktop.engines.mongo.payload import (
    BATCH_BYTES,
    BATCH_DOCUMENTS,
    BSON_SUFFIX,
    MAX_METADATA_SIZE,
    METADATA_SUFFIX,
    FramingError,
    metadata_path,
    read_documents,
    read_limited,
    unescape_name,
    view_order,
)
from dbplay_desktop.engines.mongo.safety import (
    MetadataRefused,
    check_layout,
    metadata_problems,
    read_metadata,
)

_RAW = CodecOptions(document_class=RawBSONDocument)
_VIEW_OPTIONS = ("viewOn", "pipeline", "collation")


def restore_into(
    client: Any, database: str, source: PayloadSource, progress: ProgressCallback | None = None
) -> None:
    """Restore ``source`` into ``database``, which must exist (or not) and be empty."""
    try:
        _Restore(client, database, source, progress).run()
    except PyMongoError as exc:
        raise RestoreError(f"restore failed: {server_message(exc)}") from None


class _Restore:
    def __init__(self, client: Any, database: str, source: PayloadSource,
                 progress: ProgressCallback | None) -> None:
        self.db = client[database]
        self.raw_db = self.db.with_options(codec_options=_RAW)
        self.database = database
        self.source = source
        self.progress = progress
        self.paths = list(source.paths())
        sizes = [source.size(p) for p in self.paths]
        self.total = None if None in sizes else sum(s or 0 for s in sizes)
        self.done = 0
        self.views: dict[str, dict[str, Any]] = {}
        self.pending: tuple[str, str, list[Any]] | None = None  # path, collection, indexes

    def run(self) -> None:
        existing = self.db.list_collection_names()
        if existing:
            raise RestoreError(
                f"database {self.database} is not empty ({len(existing)} collections); "
                "dbplay never restores into a database that holds data")
        for finding in check_layout(self.paths):
            raise UnsafeContent(f"{finding.path}: refused: {finding.message}")
        for path in self.paths:
            size = self.source.size(path) or 0
            if path.endswith(METADATA_SUFFIX):
                self._flush_indexes()
                self._metadata(path)
            elif path.endswith(BSON_SUFFIX):
                self._documents(path)
                self._flush_indexes()
            self.done += size
            self._tick(self.done)
        self._flush_indexes()
        sources = {name: str(m["options"].get("viewOn", "")) for name, m in self.views.items()}
        for name in view_order(sources):
            self._create_view(name, self.views[name])

    def _tick(self, done: int) -> None:
        if self.progress is not None and self.progress(done, self.total):
            raise RestoreError("restore cancelled")

    def _metadata(self, path: str) -> None:
        with self.source.open(path) as stream:
            try:
                data = read_limited(stream, MAX_METADATA_SIZE, "the metadata file")
                metadata = read_metadata(data, path)
            except MetadataRefused as exc:
                raise UnsafeContent(f"{path}: refused: {exc}") from None
            except ValueError as exc:
                raise UnsafeContent(f"{path}: refused: {exc}") from None
        problems = metadata_problems(metadata, path)
        if problems:
            raise UnsafeContent(f"{path}: refused: {problems[0]}")
        name = unescape_name(path[: -len(METADATA_SUFFIX)])
        options = dict(metadata.get("options") or {})
        metadata["options"] = options
        if metadata.get("type") == "view" or "viewOn" in options:
            self.views[name] = metadata
            return
        command = SON([("create", name)])
        for key, value in options.items():
            command[key] = value
        try:
            self.db.command(command)
        except OperationFailure as exc:
            raise RestoreError(f"{path}: cannot create collection {name!r}: "
                               f"{server_message(exc)}") from None
        indexes = [spec for spec in metadata.get("indexes") or [] if spec.get("name") != "_id_"]
        self.pending = (path, name, indexes)

    def _documents(self, path: str) -> None:
        name = unescape_name(path[: -len(BSON_SUFFIX)])
        if self.pending is None or self.pending[1] != name:
            raise UnsafeContent(f"{path}: refused: documents for {name!r}, which is not the "
                                "collection its metadata file just created")
        collection = self.raw_db[name]
        batch: list[RawBSONDocument] = []
        size = 0
        first = 1
        # One batch is inserted on the worker while the next is read and framed here;
        # the batches still reach the server one after the other, in order.
        with ThreadPoolExecutor(1, thread_name_prefix="dbplay-mongo-restore") as worker:
            inserting: Future[None] | None = None
            try:
                with self.source.open(path) as stream:
                    try:
                        for number, document in enumerate(read_documents(stream), 1):
                            batch.append(RawBSONDocument(document, _RAW))
                            size += len(document)
                            if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
                                if inserting is not None:
                                    inserting.result()
                                    self._tick(self.done + _tell(stream))
                                inserting = worker.submit(self._insert, path, collection,
                                                          batch, first)
                                first = number + 1
                                batch, size = [], 0
                    except FramingError as exc:
                        raise UnsafeContent(f"{path}: refused: not a BSON document sequence: "
                                            f"{exc}", line=exc.index) from None
                if inserting is not None:
                    inserting.result()
                    inserting = None
            finally:
                if inserting is not None:  # an error here: let the insert under way end
                    wait([inserting])
        if batch:
            self._insert(path, collection, batch, first)

    def _insert(self, path: str, collection: Any, batch: list[RawBSONDocument],
                first: int) -> None:
        try:
            collection.insert_many(batch, ordered=True, bypass_document_validation=True)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or [{}]
            number = first + int(errors[0].get("index", 0))
            message = " ".join(str(errors[0].get("errmsg", exc)).split())
            raise RestoreError(f"{path}: document {number}: {message}", line=number) from None
        except (OperationFailure, ValueError) as exc:
            message = server_message(exc) if isinstance(exc, OperationFailure) else str(exc)
            raise RestoreError(f"{path}: documents {first}-{first + len(batch) - 1}: "
                               f"{message}", line=first) from None

    def _flush_indexes(self) -> None:
        if self.pending is None:
            return
        path, name, indexes = self.pending
        self.pending = None
        for spec in indexes:
            index = SON((k, v) for k, v in spec.items() if k not in ("ns", "background"))
            try:
                self.db.command(SON([("createIndexes", name), ("indexes", [index])]))
            except OperationFailure as exc:
                raise RestoreError(
                    f"{path}: collection {name!r}: index {spec.get('name')!r} cannot be "
                    f"built on this server: {server_message(exc)}") from None

    def _create_view(self, name: str, metadata: dict[str, Any]) -> None:
        options = metadata["options"]
        command = SON([("create", name)])
        for key in _VIEW_OPTIONS:
            if key in options:
                command[key] = options[key]
        path = metadata_path(name)
        try:
            self.db.command(command)
        except OperationFailure as exc:
            raise RestoreError(f"{path}: cannot create view {name!r}: "
                               f"{server_message(exc)}") from None


def server_message(exc: BaseException) -> str:
    """The server's own words for a driver error, on one line."""
    details = getattr(exc, "details", None)
    if isinstance(details, dict) and details.get("errmsg"):
        text = str(details["errmsg"])
    else:
        text = str(exc).split(", full error:")[0]
    return " ".join(text.split())


def _tell(stream: object) -> int:
    try:
        return int(stream.tell())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return 0
