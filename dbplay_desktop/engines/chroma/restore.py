"""Restore a Chroma payload into an empty store, through a client the caller gives.

For each collection, in the payload's order: its ``collection.json`` is checked again as
it is read (:mod:`.safety`), the collection is created with its metadata and its index
configuration (``hnsw`` or ``spann``) and **no embedding function** (``embedding_function
=None``: the vectors come from the payload, so a restore loads no model and needs no
network; the embedding function the payload records is not restored), then its records
are added in batches of at most ``client.get_max_batch_size()`` records (and about 32 MiB
of vectors): ``records.jsonl`` and ``embeddings.npy`` are read side by side, line n with
row n, each line and the ``.npy`` header checked like the scan checks them, rows read with
``np.frombuffer`` at their offsets. Nothing is unpickled and no Chroma file is copied.
Any failure raises a one-line :class:`RestoreError` (:class:`UnsafeContent` for a refused
file); the caller (the engine) deletes what was made.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from dbplay_desktop.engines.base import PayloadSource, ProgressCallback, RestoreError, UnsafeContent
from dbplay_desktop.engines.chroma.payload import BATCH_BYTES, MAX_COLLECTION_FILE, read_limited
from dbplay_desktop.engines.chroma.safety import (
    Declared,
    PayloadRefused,
    check_finite,
    check_layout,
    open_embeddings,
    parse_collection,
    read_records,
)


def restore_into(client: Any, source: PayloadSource,
                 progress: ProgressCallback | None = None) -> None:
    """Restore ``source`` into the store ``client`` reaches, which must hold no collection."""
    _Restore(client, source, progress).run()


class _Restore:
    def __init__(self, client: Any, source: PayloadSource,
                 progress: ProgressCallback | None) -> None:
        self.client = client
        self.source = source
        self.progress = progress
        self.paths = list(source.paths())
        sizes = [source.size(p) for p in self.paths]
        self.total = None if None in sizes else sum(s or 0 for s in sizes)
        self.done = 0

    def run(self) -> None:
        try:
            existing = len(self.client.list_collections())
            max_batch = int(self.client.get_max_batch_size())
        except Exception as exc:
            raise RestoreError(f"cannot reach the Chroma store: {_one_line(exc)}") from None
        if existing:
            raise RestoreError(f"the Chroma store is not empty ({existing} collections); "
                               "dbplay never restores into a store that holds data")
        for finding in check_layout(self.paths):
            raise UnsafeContent(f"{finding.path}: refused: {finding.message}")
        names: set[str] = set()
        for start in range(0, len(self.paths), 3):
            meta_path, records_path, npy_path = self.paths[start:start + 3]
            declared = self._declared(meta_path)
            if declared.name in names:
                raise UnsafeContent(f"{meta_path}: refused: collection {declared.name!r} is "
                                    "listed twice", line=1)
            names.add(declared.name)
            self._records(meta_path, declared, records_path, npy_path, max_batch)
            self.done += sum(self.source.size(p) or 0 for p in self.paths[start:start + 3])
            self._tick(self.done)

    def _tick(self, done: int) -> None:
        if self.progress is not None and self.progress(done, self.total):
            raise RestoreError("restore cancelled")

    def _declared(self, path: str) -> Declared:
        try:
            with self.source.open(path) as stream:
                try:
                    data = read_limited(stream, MAX_COLLECTION_FILE, "the file")
                except ValueError as exc:
                    raise PayloadRefused(str(exc), 1) from None
            return parse_collection(data)
        except PayloadRefused as exc:
            raise UnsafeContent(f"{path}: refused: {exc}", line=exc.line or 1) from None

    def _create(self, path: str, declared: Declared) -> Any:
        configuration = {key: dict(value) for key, value in declared.configuration.items()
                         if value is not None}
        try:
            return self.client.create_collection(
                name=declared.name,
                metadata=declared.metadata or None,
                configuration=configuration or None,
                embedding_function=None,
            )
        except Exception as exc:
            raise RestoreError(f"{path}: cannot create collection {declared.name!r}: "
                               f"{_one_line(exc)}") from None

    def _records(self, meta_path: str, declared: Declared, records_path: str,
                 npy_path: str, max_batch: int) -> None:
        where = npy_path
        try:
            with self.source.open(records_path) as text, self.source.open(npy_path) as raw:
                # The header is checked before the collection is made.
                rows = open_embeddings(raw, declared, self.source.size(npy_path))
                collection = self._create(meta_path, declared)
                size = max(1, min(max_batch, BATCH_BYTES // rows.row_bytes))
                records = read_records(text, declared.count, records_path)
                first = 1
                for block in rows.blocks(size):
                    where = npy_path
                    check_finite(block, rows)
                    where = records_path
                    batch = list(islice(records, len(block)))
                    self._add(collection, declared, records_path, batch, block, first)
                    first += len(block)
                    self._tick(self.done + first * rows.row_bytes)
                where = records_path
                for _ in records:  # the count check at the end of the file
                    pass
        except PayloadRefused as exc:
            raise UnsafeContent(f"{where}: refused: {exc}", line=exc.line or None) from None

    def _add(self, collection: Any, declared: Declared, path: str,
             batch: list[dict[str, Any]], block: Any, first: int) -> None:
        if len(batch) != len(block):  # read_records raises first; kept as a guard
            raise PayloadRefused(f"fewer records than the collection's count "
                                 f"({declared.count})", first + len(batch))
        documents = [record.get("document") for record in batch]
        metadatas = [record.get("metadata") for record in batch]
        uris = [record.get("uri") for record in batch]
        last = first + len(batch) - 1
        try:
            collection.add(
                ids=[record["id"] for record in batch],
                embeddings=block,
                documents=documents if any(d is not None for d in documents) else None,
                metadatas=metadatas if any(m is not None for m in metadatas) else None,
                uris=uris if any(u is not None for u in uris) else None,
            )
        except Exception as exc:
            raise RestoreError(f"{path}: records {first}-{last} of collection "
                               f"{declared.name!r}: {_one_line(exc)}", line=first) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500] or type(exc).__name__
