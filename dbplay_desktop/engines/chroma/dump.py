"""Write a Chroma database (every collection of a client's tenant and database) as a payload.

For each collection, in name order, in ``collections/<index>/`` (see :mod:`.payload`):
``collection.json``, then ``records.jsonl``, then ``embeddings.npy``. The records are read
in batches (``get`` with ``limit``/``offset``); each batch's lines go to ``records.jsonl``
and its vectors, as float32 little-endian rows, to a temporary file, copied after the
``.npy`` header once the records file is closed (a sink takes one file at a time), so no
collection is ever held in memory. The header needs the count first: it is taken with
``count()`` before reading, and a collection whose count changed meanwhile fails the dump.
Every value is checked with the scan's own rules (:mod:`.safety`), so a dump never writes
what a restore would refuse. chromadb is only used through the client the caller gives.

The pages are read by a thread of their own, a few ahead (:mod:`..read_ahead`), so the
store's reading of the next page overlaps the encoding and compression of this one; the
vectors go to the file as one float32 block per page, never as Python floats.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import closing
from typing import IO, Any

from dbplay_desktop.engines.base import DumpError, DumpInfo, PayloadSink, ProgressCallback
from dbplay_desktop.engines.chroma.payload import (
    COLLECTION_FILE,
    DTYPE,
    DUMP_BATCH,
    EMBEDDINGS_FILE,
    INT_MAX,
    INT_MIN,
    NPY_DESCR,
    RECORDS_FILE,
    collection_path,
)
from dbplay_desktop.engines.chroma.safety import (
    configuration_problem,
    function_problem,
    metadata_problem,
)
from dbplay_desktop.engines.read_ahead import read_ahead

_INCLUDE = ["embeddings", "documents", "metadatas", "uris"]
#: One encoder for every record: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def write_dump(
    client: Any, sink: PayloadSink, progress: ProgressCallback | None = None
) -> DumpInfo:
    """Dump every collection ``client`` sees into ``sink``; ``progress`` hears records."""
    try:
        version = _version(client)
        collections = sorted(client.list_collections(), key=lambda c: c.name)
        counts = [int(c.count()) for c in collections]
    except DumpError:
        raise
    except Exception as exc:
        raise DumpError(f"cannot read the Chroma database: {_one_line(exc)}") from exc
    total = sum(counts)
    stats = {"collections": len(collections), "records": 0, "vectors": 0, "documents": 0,
             "empty_collections": 0}
    for index, collection in enumerate(collections):
        try:
            _Collection(collection, index, sink, stats, progress, total).write()
        except DumpError:
            raise
        except Exception as exc:
            raise DumpError(f"cannot read collection {collection.name!r}: "
                            f"{_one_line(exc)}") from exc
    if progress is not None:
        progress(stats["records"], stats["records"])
    return DumpInfo(engine_version=version, stats=stats)


class _Collection:
    def __init__(self, collection: Any, index: int, sink: PayloadSink, stats: dict[str, int],
                 progress: ProgressCallback | None, total: int) -> None:
        self.collection = collection
        self.name = collection.name
        self.index = index
        self.sink = sink
        self.stats = stats
        self.progress = progress
        self.total = total

    def write(self) -> None:
        collection = self.collection
        count = int(collection.count())
        batch = self._get(0, count)
        dimension = _dimension(batch, collection)
        description = self._description(count, dimension)
        with self.sink.open(collection_path(self.index, COLLECTION_FILE)) as out:
            out.write(description)
        written = 0
        with tempfile.TemporaryFile(prefix="dbplay-chroma-") as rows:
            with self.sink.open(collection_path(self.index, RECORDS_FILE)) as records, \
                    closing(read_ahead(self._pages(batch, count))) as pages:
                for page in pages:
                    written = self._batch(page, written, count, dimension, rows, records)
            if written != count or int(collection.count()) != count:
                self._changed(count)
            rows.flush()
            rows.seek(0)
            self._embeddings(rows, count, dimension)
        if count == 0:
            self.stats["empty_collections"] += 1

    def _batch(self, batch: dict[str, Any], written: int, count: int, dimension: int | None,
               rows: IO[bytes], records: IO[bytes]) -> int:
        import numpy as np

        ids = batch["ids"]
        if written + len(ids) > count:
            self._changed(count)
        vectors = np.ascontiguousarray(batch["embeddings"], dtype=NPY_DESCR)
        if vectors.shape != (len(ids), dimension):
            raise DumpError(f"collection {self.name!r}: the vectors of records "
                            f"{written + 1}-{written + len(ids)} are not "
                            f"{dimension}-dimensional")
        rows.write(memoryview(vectors).cast("B"))
        self._records(records, batch, written)
        self.stats["records"] += len(ids)
        self.stats["vectors"] += len(ids)
        if self.progress is not None and self.progress(self.stats["records"],
                                                       self.total or None):
            raise DumpError("save cancelled")
        return written + len(ids)

    def _pages(self, first: dict[str, Any], count: int) -> Iterator[dict[str, Any]]:
        """``first``, then the pages after it until ``count`` records or an empty page."""
        page: dict[str, Any] | None = first
        offset = 0
        while page is not None and page["ids"]:
            yield page
            offset += len(page["ids"])
            page = self._get(offset, count) if offset < count else None

    def _get(self, offset: int, count: int) -> dict[str, Any]:
        return self.collection.get(limit=min(DUMP_BATCH, max(1, count - offset)),
                                   offset=offset, include=_INCLUDE)

    def _changed(self, count: int) -> None:
        raise DumpError(f"collection {self.name!r} changed while it was saved (it held "
                        f"{count} records when the save began); save again")

    def _description(self, count: int, dimension: int | None) -> bytes:
        collection = self.collection
        config = dict(collection.configuration_json or {})
        configuration = {key: dict(config[key]) for key in ("hnsw", "spann")
                         if config.get(key) is not None}
        function = config.get("embedding_function")
        metadata = dict(collection.metadata) if collection.metadata else None
        problem = configuration_problem(configuration)
        if problem:
            raise DumpError(f"collection {self.name!r}: configuration: {problem}")
        problem = function_problem(function)
        if problem:
            raise DumpError(f"collection {self.name!r}: embedding function: {problem}")
        if metadata is not None:
            problem = metadata_problem(metadata, collection=True)
            if problem:
                raise DumpError(f"collection {self.name!r}: metadata: {problem}")
        value = {"name": self.name, "metadata": metadata, "configuration": configuration,
                 "embedding_function": function, "count": count, "dimension": dimension,
                 "dtype": DTYPE}
        return _dumps(value, f"collection {self.name!r}") + b"\n"

    def _records(self, out: IO[bytes], batch: dict[str, Any], written: int) -> None:
        ids = batch["ids"]
        documents = batch.get("documents") or [None] * len(ids)
        metadatas = batch.get("metadatas") or [None] * len(ids)
        uris = batch.get("uris") or [None] * len(ids)
        lines = []
        encode = _ENCODER.encode
        for number, (record_id, document, metadata, uri) in enumerate(
                zip(ids, documents, metadatas, uris, strict=True), written + 1):
            record: dict[str, Any] = {"id": record_id}
            if document is not None:
                record["document"] = document
                self.stats["documents"] += 1
            if uri is not None:
                record["uri"] = uri
            if metadata:
                if not _plain_metadata(metadata):
                    problem = metadata_problem(metadata)
                    if problem:
                        raise DumpError(f"collection {self.name!r}, record {record_id!r}: "
                                        f"metadata: {problem}")
                    metadata = dict(metadata)
                record["metadata"] = metadata
            try:
                lines.append(encode(record))
            except (ValueError, TypeError) as exc:
                raise DumpError(f"collection {self.name!r}, record {number}: cannot be "
                                f"written as JSON: {_one_line(exc)}") from None
        lines.append("")
        try:
            data = "\n".join(lines).encode("utf-8")
        except UnicodeEncodeError:
            for number, line in enumerate(lines, written + 1):
                _dumps(line, f"collection {self.name!r}, record {number}")
            raise
        out.write(data)

    def _embeddings(self, rows: IO[bytes], count: int, dimension: int | None) -> None:
        import numpy.lib.format as npy

        header = {"descr": NPY_DESCR, "fortran_order": False,
                  "shape": (count, dimension or 0)}
        with self.sink.open(collection_path(self.index, EMBEDDINGS_FILE)) as out:
            npy.write_array_header_1_0(out, header)
            shutil.copyfileobj(rows, out, 1024 * 1024)


def _plain_metadata(metadata: Any) -> bool:
    """Whether a record's metadata is certainly one :func:`metadata_problem` accepts: a
    plain, non-empty dict whose keys are non-empty, unreserved strings and whose values are strings,
    booleans, finite floats or 64-bit integers. Anything else is left to that check."""
    if type(metadata) is not dict or not metadata:
        return False
    for key, value in metadata.items():
        if type(key) is not str or not key or key == "chroma:document":
            return False
        kind = type(value)
        if kind is str or kind is bool:
            continue
        if kind is float:
            if not math.isfinite(value):
                return False
        elif kind is not int or not INT_MIN <= value <= INT_MAX:
            return False
    return True


def _dimension(batch: dict[str, Any], collection: Any) -> int | None:
    embeddings = batch.get("embeddings")
    if embeddings is not None and len(embeddings):
        return len(embeddings[0])
    dimension = getattr(getattr(collection, "_model", None), "dimension", None)
    return int(dimension) if isinstance(dimension, int) and dimension > 0 else None


def _dumps(value: Any, what: str) -> bytes:
    try:
        text = value if isinstance(value, str) else _ENCODER.encode(value)
        return text.encode("utf-8")
    except (ValueError, TypeError) as exc:
        raise DumpError(f"{what}: cannot be written as JSON: {_one_line(exc)}") from None


def _version(client: Any) -> str:
    try:
        version = client.get_version()
        if version:
            return str(version)
    except Exception:
        pass
    import chromadb

    return str(chromadb.__version__)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500] or type(exc).__name__
