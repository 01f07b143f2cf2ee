"""Other tools' MongoDB dumps as template payloads (``dbplay template import``).

Three sources, each turned into dbplay's payload (:mod:`.payload`: for each collection
its metadata then its BSON, in name order, then the views):

* a **mongodump folder**: ``NAME.bson`` and ``NAME.metadata.json`` files (or their
  ``.gz`` forms from ``--gzip``), directly in the folder or in one subfolder per
  database; with several databases, the only one that is not ``admin``, ``config`` or
  ``local`` is taken, else the import asks for the folder of one. ``prelude.json`` and
  ``oplog.bson`` are ignored, and so are ``system.indexes`` and ``system.profile``;
* a **mongodump archive** (``--archive``, plain or ``--gzip``): the magic number, the
  header, one metadata document per collection, then the collections' documents in
  interleaved segments (read into temporary files, one per collection, then written in
  order); an archive of several databases is refused the same way;
* **Mongo Playground** configuration text: ``[{...}, ...]`` (one collection, named
  ``collection``) or ``db={"orders": [...], ...}`` in the shell's syntax (unquoted keys,
  ``ObjectId(...)``, ``ISODate(...)``, ...), read by the mongosh literal reader, never
  evaluated.

Metadata is rewritten in canonical Extended JSON with ``collectionName`` and ``type``
filled in and index ``ns`` fields dropped; anything else stays, so the safety scan sees
and refuses what the source holds. Documents are copied as they are, framing checked.
"""

from __future__ import annotations

import gzip
import struct
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from bson import decode, encode
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

from dbplay_desktop.engines.base import DumpError, DumpInfo, PayloadSink, ProgressCallback
from dbplay_desktop.engines.mongo.payload import (
    CODEC,
    MAX_DOCUMENT_SIZE,
    MAX_METADATA_SIZE,
    FramingError,
    bson_path,
    dumps_metadata,
    json_depth_exceeded,
    loads_metadata,
    metadata_path,
    read_documents,
    read_limited,
    unescape_name,
    view_order,
)
from dbplay_desktop.engines.mongo.sniff import ARCHIVE_MAGIC, GZIP_MAGIC, has_dump_files

#: Mongo Playground text may be this large.
MAX_PLAYGROUND_SIZE = 64 * 1024 * 1024
SYSTEM_DATABASES = frozenset({"admin", "config", "local"})
SKIPPED = frozenset({"system.indexes", "system.profile"})
_ENCODE = CodecOptions(uuid_representation=UuidRepresentation.STANDARD, tz_aware=True)
_CHUNK = 1024 * 1024
_TERMINATOR = -1
_INT32 = struct.Struct("<i")
_ID_INDEX = {"v": 2, "key": {"_id": 1}, "name": "_id_"}


def import_source(
    source: Path, sink: PayloadSink, progress: ProgressCallback | None = None
) -> DumpInfo:
    """Write the payload of ``source`` (a mongodump folder or archive, or Mongo
    Playground text) into ``sink``; a source it does not understand is a DumpError."""
    source = Path(source)
    if source.is_dir():
        return _import_folder(source, sink, progress)
    try:
        with open(source, "rb") as handle:
            head = handle.read(4)
        if head.startswith(GZIP_MAGIC):
            with gzip.open(source, "rb") as handle:
                head = handle.read(4)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DumpError(f"{source}: cannot read it ({exc})") from None
    if head == ARCHIVE_MAGIC:
        return _import_archive(source, sink, progress)
    return _import_playground(source, sink, progress)


# --------------------------------------------------------------------------- writing


class _Collection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.metadata: dict[str, Any] | None = None
        self.data: Path | None = None  # a BSON file (maybe .gz) or a spooled one


class _Output:
    """Writes collections (metadata, then documents) in name order, then the views."""

    def __init__(self, sink: PayloadSink, progress: ProgressCallback | None,
                 version: str = "") -> None:
        self.sink = sink
        self.progress = progress
        self.version = version
        self.stats = {"collections": 0, "documents": 0, "indexes": 0, "views": 0}

    def write(self, collections: dict[str, _Collection]) -> DumpInfo:
        views: dict[str, dict[str, Any]] = {}
        for name in sorted(collections):
            item = collections[name]
            metadata = normalize_metadata(item.metadata or {}, name)
            if metadata["type"] == "view":
                views[name] = metadata
                continue
            self.stats["collections"] += 1
            self.stats["indexes"] += len(metadata.get("indexes") or [])
            with self.sink.open(metadata_path(name)) as out:
                out.write(dumps_metadata(metadata))
            with self.sink.open(bson_path(name)) as out:
                if item.data is not None:
                    with _open(item.data) as stream:
                        self._copy(name, stream, out)
        sources = {name: str((m.get("options") or {}).get("viewOn", ""))
                   for name, m in views.items()}
        for name in view_order(sources):
            self.stats["views"] += 1
            with self.sink.open(metadata_path(name)) as out:
                out.write(dumps_metadata(views[name]))
        return DumpInfo(engine_version=self.version, stats=dict(self.stats))

    def _copy(self, name: str, stream: IO[bytes], out: IO[bytes]) -> None:
        try:
            for document in read_documents(stream):
                out.write(document)
                self.stats["documents"] += 1
                if (self.progress is not None and self.stats["documents"] % 1000 == 0
                        and self.progress(self.stats["documents"], None)):
                    raise DumpError("import cancelled")
        except FramingError as exc:
            raise DumpError(f"collection {name!r}: not a BSON document sequence: {exc}") \
                from None


def normalize_metadata(metadata: dict[str, Any], name: str) -> dict[str, Any]:
    """mongodump metadata of any version as dbplay writes it (see the module's notes)."""
    out: dict[str, Any] = dict(metadata)
    options = out.get("options")
    out["options"] = options if options is not None else {}
    indexes = out.get("indexes")
    if isinstance(indexes, list):
        out["indexes"] = [
            {k: v for k, v in spec.items() if k != "ns"} if isinstance(spec, dict) else spec
            for spec in indexes
        ]
    elif indexes is None:
        out["indexes"] = [] if isinstance(out["options"], dict) and \
            "viewOn" in out["options"] else [dict(_ID_INDEX)]
    out["collectionName"] = name
    if "type" not in out:
        is_view = isinstance(out["options"], dict) and "viewOn" in out["options"]
        out["type"] = "view" if is_view else "collection"
    order = ["options", "indexes", "uuid", "collectionName", "type"]
    return {**{k: out[k] for k in order if k in out},
            **{k: v for k, v in out.items() if k not in order}}


def parse_metadata(data: bytes, what: str) -> dict[str, Any]:
    if json_depth_exceeded(data):
        raise DumpError(f"{what}: nests objects or lists too deep")
    try:
        value = loads_metadata(data)
    except (ValueError, TypeError, RecursionError) as exc:
        raise DumpError(f"{what}: not Extended JSON ({' '.join(str(exc).split())[:200]})") \
            from None
    if not isinstance(value, dict):
        raise DumpError(f"{what}: not a JSON object")
    return value


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


# --------------------------------------------------------------------------- folders


def _dump_folder(source: Path) -> Path:
    if has_dump_files(source):
        return source
    folders = sorted(p for p in source.iterdir() if p.is_dir() and has_dump_files(p))
    if len(folders) > 1:
        users = [p for p in folders if p.name not in SYSTEM_DATABASES]
        if len(users) == 1:
            return users[0]
        names = ", ".join(p.name for p in folders)
        raise DumpError(f"{source} holds dumps of {len(folders)} databases ({names}); "
                        "a template holds one: give the folder of one of them")
    if not folders:
        raise DumpError(f"{source}: no mongodump files (NAME.bson, NAME.metadata.json) in "
                        "it or in its subfolders")
    return folders[0]


def _import_folder(source: Path, sink: PayloadSink, progress: ProgressCallback | None
                   ) -> DumpInfo:
    folder = _dump_folder(source)
    collections: dict[str, _Collection] = {}
    for entry in sorted(folder.iterdir()):
        if not entry.is_file():
            continue
        file_name = entry.name
        plain = file_name.removesuffix(".gz")
        if plain.endswith(".metadata.json"):
            stem, kind = plain[: -len(".metadata.json")], "metadata"
        elif plain.endswith(".bson"):
            stem, kind = plain[: -len(".bson")], "bson"
        else:
            continue  # prelude.json, notes, ...
        if folder == source and stem == "oplog" and kind == "bson":
            continue
        try:
            name = unescape_name(stem)
        except UnicodeDecodeError:
            raise DumpError(f"{entry}: the file name is not an escaped collection name") \
                from None
        if name in SKIPPED:
            continue
        item = collections.setdefault(name, _Collection(name))
        if kind == "bson":
            item.data = entry
        else:
            with _open(entry) as stream:
                try:
                    data = read_limited(stream, MAX_METADATA_SIZE, f"{entry}")
                except ValueError as exc:
                    raise DumpError(str(exc)) from None
            item.metadata = parse_metadata(data, str(entry))
    if not collections:
        raise DumpError(f"{folder}: no collections to import")
    return _Output(sink, progress).write(collections)


# --------------------------------------------------------------------------- archives


def _import_archive(source: Path, sink: PayloadSink, progress: ProgressCallback | None
                    ) -> DumpInfo:
    with ExitStack() as stack:
        stream = stack.enter_context(_open_archive(source))
        spool = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dbplay-import-")))
        reader = _ArchiveReader(stream, source)
        header = reader.header()
        metadata: dict[tuple[str, str], dict[str, Any]] = {}
        for document in reader.prelude():
            db, name = str(document.get("db", "")), str(document.get("collection", ""))
            text = document.get("metadata", "")
            data = text.encode("utf-8") if isinstance(text, str) else b""
            if len(data) > MAX_METADATA_SIZE:
                raise DumpError(f"{source}: the metadata of {db}.{name} is larger than 16 MiB")
            metadata[(db, name)] = parse_metadata(data, f"{source}: {db}.{name}") \
                if data else {}
        databases = sorted({db for db, _ in metadata if db})  # "": an --oplog entry
        if len(databases) > 1:
            users = [d for d in databases if d not in SYSTEM_DATABASES]
            if len(users) != 1:
                raise DumpError(
                    f"{source} holds {len(databases)} databases ({', '.join(databases)}); "
                    "a template holds one: dump one database (mongodump --db NAME)")
            databases = users
        if not databases:
            raise DumpError(f"{source}: the archive holds no collections")
        chosen = databases[0]
        collections: dict[str, _Collection] = {}
        for (db, name), value in metadata.items():
            if db == chosen and name not in SKIPPED:
                collections[name] = _Collection(name)
                collections[name].metadata = value
        files: dict[str, IO[bytes]] = {}
        try:
            for db, name, document in reader.documents():
                if db != chosen or name not in collections:
                    continue
                out = files.get(name)
                if out is None:
                    path = spool / f"{len(files)}.bson"
                    collections[name].data = path
                    out = files[name] = open(path, "wb")  # noqa: SIM115 - closed below
                out.write(document)
        finally:
            for out in files.values():
                out.close()
        version = str(header.get("server_version", ""))[:200]
        return _Output(sink, progress, version).write(collections)
    raise AssertionError("unreachable")  # pragma: no cover


def _open_archive(source: Path) -> IO[bytes]:
    with open(source, "rb") as handle:
        gzipped = handle.read(2) == GZIP_MAGIC
    return gzip.open(source, "rb") if gzipped else open(source, "rb")  # type: ignore[return-value]


class _ArchiveReader:
    """mongodump's archive format (mongo-tools ``common/archive/spec.md``), streamed."""

    def __init__(self, stream: IO[bytes], source: Path) -> None:
        self.stream = stream
        self.source = source

    def _fail(self, what: str) -> DumpError:
        return DumpError(f"{self.source}: not a mongodump archive: {what}")

    def _next(self) -> bytes | None:
        """The next document's bytes, or ``None`` at a terminator."""
        head = self.stream.read(4)
        if len(head) < 4:
            raise self._fail("it ends in the middle")
        (length,) = _INT32.unpack(head)
        if length == _TERMINATOR:
            return None
        if length < 5 or length > MAX_DOCUMENT_SIZE:
            raise self._fail(f"a document declares {length} bytes")
        body = read_exactly(self.stream, length - 4)
        if len(body) < length - 4 or body[-1] != 0:
            raise self._fail("a document is cut short")
        return head + body

    def _decode(self, data: bytes) -> dict[str, Any]:
        try:
            return decode(data, CODEC)
        except Exception as exc:
            raise self._fail(f"a header is not BSON ({exc})") from None

    def header(self) -> dict[str, Any]:
        if self.stream.read(4) != ARCHIVE_MAGIC:
            raise self._fail("no magic number")
        data = self._next()
        if data is None:
            raise self._fail("no header")
        return self._decode(data)

    def prelude(self) -> Iterator[dict[str, Any]]:
        while True:
            data = self._next()
            if data is None:
                return
            yield self._decode(data)

    def documents(self) -> Iterator[tuple[str, str, bytes]]:
        while True:
            head = self.stream.read(4)
            if not head:
                return
            if len(head) < 4:
                raise self._fail("it ends in the middle")
            (length,) = _INT32.unpack(head)
            if length < 5 or length > MAX_DOCUMENT_SIZE:
                raise self._fail(f"a namespace header declares {length} bytes")
            header = self._decode(head + read_exactly(self.stream, length - 4))
            db, name = str(header.get("db", "")), str(header.get("collection", ""))
            if header.get("EOF"):
                if self._next() is not None:
                    raise self._fail(f"no terminator after the end of {db}.{name}")
                continue
            while True:
                data = self._next()
                if data is None:
                    break
                yield db, name, data


def read_exactly(stream: IO[bytes], size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        more = stream.read(min(size - got, _CHUNK))
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


# --------------------------------------------------------------------------- playground


def _import_playground(source: Path, sink: PayloadSink, progress: ProgressCallback | None
                       ) -> DumpInfo:
    try:
        with open(source, "rb") as handle:
            data = read_limited(handle, MAX_PLAYGROUND_SIZE, str(source))
    except ValueError as exc:
        raise DumpError(str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DumpError(f"{source}: not a mongodump folder or archive, nor Mongo "
                        "Playground text (not UTF-8)") from None
    value = parse_playground(text, source.name)
    with tempfile.TemporaryDirectory(prefix="dbplay-import-") as spool:
        collections: dict[str, _Collection] = {}
        for index, (name, documents) in enumerate(value.items()):
            item = collections[name] = _Collection(name)
            item.metadata = {"options": {}, "indexes": [dict(_ID_INDEX)],
                             "collectionName": name, "type": "collection"}
            item.data = Path(spool) / f"{index}.bson"
            with open(item.data, "wb") as out:
                for number, document in enumerate(documents, 1):
                    out.write(_encode(document, name, number))
        return _Output(sink, progress).write(collections)


def _encode(document: Any, collection: str, number: int) -> bytes:
    where = f"collection {collection!r}, document {number}"
    if not isinstance(document, dict):
        raise DumpError(f"{where}: not a document")
    try:
        data = encode(document, codec_options=_ENCODE)
    except Exception as exc:
        raise DumpError(f"{where}: cannot be stored as BSON ({exc})") from None
    if len(data) > MAX_DOCUMENT_SIZE:
        raise DumpError(f"{where}: {len(data):,} bytes, larger than the 16 MiB MongoDB "
                        "allows for a document")
    return data


def parse_playground(text: str, label: str) -> dict[str, list[Any]]:
    """``{collection: documents}`` from Mongo Playground's configuration text."""
    from dbplay_desktop.engines.base import LineIndex
    from dbplay_desktop.engines.mongo.shell import literals
    from dbplay_desktop.engines.mongo.shell.tree import (
        SourceText,
        Where,
        first_problem,
        parse_bytes,
    )
    from dbplay_desktop.engines.mongo.shell.tree import (
        encode as encode_text,
    )
    from dbplay_desktop.errors import EngineError

    source = SourceText(text)
    where = Where(source, 0, LineIndex(text))
    tree = parse_bytes(encode_text(text))
    root = tree.root_node
    problem = first_problem(root)

    def fail(what: str, node: Any) -> DumpError:
        line, column = where.locate(node) if node is not None else (1, 1)
        return DumpError(f"{label}:{line}:{column}: {what}", line=line, column=column)

    if problem is not None:
        raise fail("not Mongo Playground text (a syntax error)", problem)
    statements = [c for c in root.named_children if c.type not in ("comment", "html_comment")]
    if len(statements) != 1 or statements[0].type != "expression_statement":
        raise fail("expected one configuration: [{...}, ...] or db={...}",
                   statements[1] if len(statements) > 1 else None)
    expression = statements[0].named_children[0]
    if expression.type == "array":
        target, named = expression, False
    elif expression.type == "assignment_expression":
        left = expression.child_by_field_name("left")
        right = expression.child_by_field_name("right")
        if left is None or source.node_text(left) != "db" or right is None \
                or right.type != "object":
            raise fail("expected db={\"collection\": [...], ...}", expression)
        target, named = right, True
    else:
        raise fail("expected one configuration: [{...}, ...] or db={...}", expression)
    try:
        value = literals.value(target, where)
    except EngineError as exc:
        raise DumpError(f"{label}: {exc.message}", line=exc.line, column=exc.column) from None
    collections = value if named else {"collection": value}
    out: dict[str, list[Any]] = {}
    for name, documents in collections.items():
        if not isinstance(name, str) or not name or name.startswith("system.") \
                or "$" in name or "\x00" in name:
            raise fail(f"{name!r} is not a collection name", target)
        if not isinstance(documents, list):
            raise fail(f"collection {name!r} must be a list of documents", target)
        out[name] = documents
    return out
