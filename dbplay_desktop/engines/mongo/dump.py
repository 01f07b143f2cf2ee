"""Write a MongoDB database as a template payload in mongodump's layout.

For each collection, in name order: ``<name>.metadata.json`` (options, indexes, uuid,
collectionName, type, canonical Extended JSON) then ``<name>.bson`` (the documents as the
server returns them, raw BSON batches written as they arrive: field order and every BSON
type kept byte for byte, never a whole collection in memory). Then each view's
``<name>.metadata.json`` alone, a view after the views it reads. ``system.*`` collections
are not written (a time series' buckets are dumped as its measurements instead). See
:mod:`.payload` for the names and the escaping.

The documents are never decoded: a reader thread takes the server's raw batches off the
socket while the caller's thread compresses the previous ones into the sink, a few
batches ahead at most. Progress counts documents without a total: counting first would
make a server without collection statistics read every collection twice.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from bson import SON
from bson.binary import Binary
from bson.raw_bson import RawBSONDocument
from pymongo.errors import PyMongoError

from dbplay_desktop.engines.base import DumpError, DumpInfo, PayloadSink, ProgressCallback
from dbplay_desktop.engines.mongo.payload import (
    CODEC,
    bson_path,
    count_documents,
    dumps_metadata,
    metadata_path,
    view_order,
)
from dbplay_desktop.engines.read_ahead import read_ahead

_RAW = CODEC.with_options(document_class=RawBSONDocument)


def _listing(database: Any, command: SON, collection: str) -> list[dict[str, Any]]:
    """A listing command's documents, decoded without losing a type (UUIDs stay Binary)."""
    reply = database.command(command, codec_options=CODEC)
    cursor = reply["cursor"]
    items = list(cursor.get("firstBatch", []))
    while cursor.get("id"):
        reply = database.command(SON([("getMore", cursor["id"]), ("collection", collection)]),
                                 codec_options=CODEC)
        cursor = reply["cursor"]
        items.extend(cursor.get("nextBatch", []))
    return items


def _collections(database: Any) -> list[dict[str, Any]]:
    infos = _listing(database, SON([("listCollections", 1), ("cursor", {})]),
                     "$cmd.listCollections")
    return [info for info in infos if not str(info.get("name", "")).startswith("system.")]


def _metadata(database: Any, info: dict[str, Any]) -> dict[str, Any]:
    name = info["name"]
    options = dict(info.get("options") or {})
    kind = info.get("type", "collection")
    if kind == "collection" and "timeseries" in options:
        kind = "timeseries"
    indexes: list[Any] = []
    if kind != "view":
        for spec in _listing(database, SON([("listIndexes", name), ("cursor", {})]), name):
            spec.pop("ns", None)
            indexes.append(spec)
    metadata: dict[str, Any] = {"options": options, "indexes": indexes}
    uuid = (info.get("info") or {}).get("uuid")
    if isinstance(uuid, Binary) and kind != "view":
        metadata["uuid"] = bytes(uuid).hex()
    metadata["collectionName"] = name
    metadata["type"] = kind
    return metadata


def write_dump(
    client: Any, database: str, sink: PayloadSink, progress: ProgressCallback | None = None
) -> DumpInfo:
    """Dump ``database`` into ``sink``; ``progress`` hears documents written so far."""
    try:
        version = str(client.server_info().get("version", ""))
        db = client[database]
        infos = _collections(db)
        collections = sorted((i for i in infos if i.get("type", "collection") != "view"),
                             key=lambda i: i["name"])
        views = {i["name"]: i for i in infos if i.get("type") == "view"}
        stats = {"collections": len(collections), "documents": 0, "indexes": 0,
                 "views": len(views)}
        for info in collections:
            metadata = _metadata(db, info)
            stats["indexes"] += len(metadata["indexes"])
            with sink.open(metadata_path(info["name"])) as out:
                out.write(dumps_metadata(metadata))
            with sink.open(bson_path(info["name"])) as out:
                raw = db.with_options(codec_options=_RAW)[info["name"]]
                with closing(read_ahead(raw.find_raw_batches({}))) as batches:
                    for batch in batches:
                        out.write(batch)
                        stats["documents"] += count_documents(batch)
                        if progress is not None and progress(stats["documents"], None):
                            raise DumpError("save cancelled")
        sources = {name: str((info.get("options") or {}).get("viewOn", ""))
                   for name, info in views.items()}
        for name in view_order(sources):
            with sink.open(metadata_path(name)) as out:
                out.write(dumps_metadata(_metadata(db, views[name])))
    except PyMongoError as exc:
        raise DumpError(f"cannot read database {database}: {_one_line(exc)}") from exc
    if progress is not None:
        progress(stats["documents"], stats["documents"])
    return DumpInfo(engine_version=version, stats=stats)


def _one_line(exc: BaseException) -> str:
    details = getattr(exc, "details", None)
    if isinstance(details, dict) and details.get("errmsg"):
        text = str(details["errmsg"])
    else:
        text = str(exc).split(", full error:")[0]
    return " ".join(text.split())
