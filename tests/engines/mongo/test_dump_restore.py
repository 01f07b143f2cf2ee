"""MongoDB dump and restore against a real server: bytes, options, indexes, views."""

from __future__ import annotations

import datetime
import json
import re
import uuid

import pytest

pymongo = pytest.importorskip("pymongo")

from bson import SON, encode  # noqa: E402
from bson.binary import Binary  # noqa: E402
from bson.code import Code  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.decimal128 import Decimal128  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.max_key import MaxKey  # noqa: E402
from bson.min_key import MinKey  # noqa: E402
from bson.objectid import ObjectId  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402
from bson.regex import Regex  # noqa: E402
from bson.timestamp import Timestamp  # noqa: E402

from dbplay_desktop.engines.base import RestoreError, UnsafeContent  # noqa: E402
from dbplay_desktop.engines.mongo.dump import write_dump  # noqa: E402
from dbplay_desktop.engines.mongo.payload import escape_name, unescape_name  # noqa: E402
from dbplay_desktop.engines.mongo.restore import restore_into  # noqa: E402
from dbplay_desktop.engines.mongo.safety import scan_payload  # noqa: E402
from tests.engines.mongo.payloads import MemorySink, MemorySource  # noqa: E402

RAW = CodecOptions(document_class=RawBSONDocument)






def every_type(n: int) -> bytes:
    return encode(SON([
        ("_id", n),
        ("double", 1.5),
        ("string", "héllo\u202e"),
        ("doc", SON([("z", 1), ("a", 2)])),
        ("array", [1, "two", [3.0]]),
        ("bin0", Binary(b"\x00\x01\xff", 0)),
        ("bin4", Binary(uuid.UUID(int=n).bytes, 4)),
        ("oid", ObjectId("65a1b2c3d4e5f60718293a4b")),
        ("bool", True),
        ("date", datetime.datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=datetime.timezone.utc)),
        ("null", None),
        ("regex", Regex("^a.*b$", "im")),
        ("int32", 2**31 - 1),
        ("ts", Timestamp(1700000000, 7)),
        ("int64", Int64(2**62)),
        ("dec", Decimal128("1234.5600")),
        ("min", MinKey()),
        ("max", MaxKey()),
        ("code", Code("function () { return 1; }")),
    ]))


def dump(client, database) -> MemorySink:
    sink = MemorySink()
    write_dump(client, database, sink)
    return sink


def raw_documents(client, database, collection) -> list[bytes]:
    coll = client[database].get_collection(collection, codec_options=RAW)
    return [doc.raw for doc in coll.find({}).sort("_id", 1)]


def test_every_bson_type_round_trips_byte_for_byte(client, databases):
    source, target = databases[:2]
    raws = [every_type(n) for n in range(1, 4)]
    client[source].get_collection("things", codec_options=RAW).insert_many(
        [RawBSONDocument(r) for r in raws])
    sink = MemorySink()
    info = write_dump(client, source, sink)
    assert list(sink.files) == ["things.metadata.json", "things.bson"]
    assert sink.files["things.bson"] == b"".join(raws)  # as stored, field order kept
    assert info.stats == {"collections": 1, "documents": 3, "indexes": 1, "views": 0}
    assert info.engine_version
    metadata = json.loads(sink.files["things.metadata.json"])
    assert set(metadata) == {"options", "indexes", "uuid", "collectionName", "type"}
    assert metadata["collectionName"] == "things" and metadata["type"] == "collection"
    assert re.fullmatch(r"[0-9a-f]{32}", metadata["uuid"])
    assert metadata["indexes"][0]["key"] == {"_id": {"$numberInt": "1"}}  # canonical
    payload = MemorySource(sink.files)
    assert scan_payload(payload) == []
    progress: list[tuple[int, int | None]] = []
    restore_into(client, target, payload, lambda done, total: progress.append((done, total)))
    assert raw_documents(client, target, "things") == raws
    assert progress[-1] == (len(b"".join(sink.files.values())),) * 2


def test_options_indexes_views_and_empty_collections(client, databases):
    source, target = databases[:2]
    db = client[source]
    db.create_collection("checked", validator={"$jsonSchema": {"required": ["x"]}},
                         validationLevel="moderate", validationAction="error")
    db.create_collection("ring", capped=True, size=8192, max=5)
    db.create_collection("french", collation={"locale": "fr", "strength": 2})
    db.create_collection("empty")
    db.create_collection("odd name/with%chars")
    db.checked.insert_one({"x": 1})
    for i in range(8):
        db.ring.insert_one({"_id": i})
    db.create_collection("big_x", viewOn="checked", pipeline=[{"$match": {"x": {"$gt": 0}}}])
    db.create_collection("on_view", viewOn="big_x", pipeline=[{"$project": {"x": 1}}])
    kinds = [
        dict(keys=[("x", 1), ("y", -1)], name="compound", unique=True),
        dict(keys=[("p", 1)], name="partial", partialFilterExpression={"p": {"$gt": 5}}),
        dict(keys=[("t", 1)], name="ttl", expireAfterSeconds=3600),
        dict(keys=[("s", 1)], name="sparse", sparse=True),
        dict(keys=[("c", 1)], name="coll", collation={"locale": "de", "strength": 1}),
        dict(keys=[("loc", "2dsphere")], name="geo"),
        dict(keys=[("$**", 1)], name="wild"),
        dict(keys=[("h", 1)], name="hide", hidden=True),
        dict(keys=[("flat", "2d")], name="flat"),
    ]
    for kind in kinds:
        db.checked.create_index(**kind)
    sink = dump(client, source)
    order = list(sink.files)
    assert order[-2:] == ["big_x.metadata.json", "on_view.metadata.json"]  # views last
    escaped = escape_name("odd name/with%chars")
    assert escaped == "odd+name%2Fwith%25chars" and unescape_name(escaped) == "odd name/with%chars"
    assert f"{escaped}.bson" in order and "empty.bson" in order
    assert scan_payload(MemorySource(sink.files)) == []
    restore_into(client, target, MemorySource(sink.files))
    restored = {c["name"]: c for c in client[target].list_collections()}
    original = {c["name"]: c for c in client[source].list_collections()}
    assert set(restored) == set(original)
    for name, info in original.items():
        assert restored[name]["options"] == info["options"], name
        assert restored[name]["type"] == info["type"]
    def specs(db_name):
        return {i["name"]: {k: v for k, v in i.items() if k != "ns"}
                for i in client[db_name].checked.list_indexes()}
    assert specs(target) == specs(source)
    assert raw_documents(client, target, "ring") == raw_documents(client, source, "ring")
    assert list(client[target].on_view.find({}, {"_id": 0})) == [{"x": 1}]
    assert client[target].empty.count_documents({}) == 0


def test_time_series_and_clustered_collections(client, databases):
    source, target = databases[:2]
    db = client[source]
    try:
        db.create_collection("ts", timeseries={"timeField": "t", "metaField": "m"})
        db.create_collection("clustered", clusteredIndex={"key": {"_id": 1}, "unique": True})
    except pymongo.errors.OperationFailure as exc:
        pytest.skip(f"the server has no time series or clustered collections: {exc}")
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    db.ts.insert_many([{"t": now, "m": "a", "v": i} for i in range(3)])
    db.clustered.insert_many([{"_id": i} for i in range(3)])
    sink = dump(client, source)
    assert json.loads(sink.files["ts.metadata.json"])["type"] == "timeseries"
    restore_into(client, target, MemorySource(sink.files))
    options = {c["name"]: c["options"] for c in client[target].list_collections()}
    assert options["ts"]["timeseries"]["timeField"] == "t"
    assert "clusteredIndex" in options["clustered"]
    assert sorted(d["v"] for d in client[target].ts.find()) == [0, 1, 2]


@pytest.mark.parametrize("spec", [
    {"key": {"body": "text"}, "name": "body_text", "weights": {"body": 2},
     "default_language": "english"},
    {"key": {"h": "hashed"}, "name": "h_hashed"},
    {"key": {"$**": 1}, "name": "wild_projection", "wildcardProjection": {"a": 1}},
    {"key": {"loc": "2d"}, "name": "flat_bits", "bits": 20, "min": -10.0, "max": 10.0},
])
def test_index_kinds_round_trip_or_fail_clearly(client, databases, spec):
    """Each kind round-trips where the server builds it; where it does not, the restore
    fails naming the collection, the index and the server's reason."""
    source, target = databases[:2]
    client[source].create_collection("docs")
    sink = dump(client, source)
    metadata = json.loads(sink.files["docs.metadata.json"])
    metadata["indexes"].append({"v": 2, **spec})
    sink.files["docs.metadata.json"] = json.dumps(metadata).encode()
    assert scan_payload(MemorySource(sink.files)) == []
    options = {k: v for k, v in spec.items() if k not in ("key", "name")}
    try:
        client[source].docs.create_index(list(spec["key"].items()), name=spec["name"],
                                         **options)
    except pymongo.errors.OperationFailure as exc:
        with pytest.raises(RestoreError) as caught:
            restore_into(client, target, MemorySource(sink.files))
        message = str(caught.value)
        assert "'docs'" in message and repr(spec["name"]) in message
        assert " ".join(str(exc.details["errmsg"]).split()) in message
        assert "\n" not in message
    else:  # the server builds it: it round-trips with its options
        restore_into(client, target, MemorySource(sink.files))
        built = client[target].docs.index_information()[spec["name"]]
        for key, value in options.items():
            assert built[key] == value, key


def test_a_non_empty_target_is_refused(client, databases):
    source, target = databases[:2]
    client[source].create_collection("a")
    client[target].create_collection("already")
    with pytest.raises(RestoreError, match="not empty"):
        restore_into(client, target, MemorySource(dump(client, source).files))
    assert client[target].list_collection_names() == ["already"]


def test_a_failing_restore_raises_and_the_caller_drops_everything(client, databases):
    source, target = databases[:2]
    client[source].a.insert_many([{"_id": 1}, {"_id": 2}])
    files = dump(client, source).files
    files["a.bson"] += files["a.bson"][: len(files["a.bson"]) // 2]  # a duplicate _id
    files["a.bson"] = files["a.bson"][:-1]  # and broken framing at the end
    with pytest.raises(RestoreError) as caught:
        restore_into(client, target, MemorySource(files))
    assert "a.bson" in str(caught.value)
    client.drop_database(target)  # the engine's part of the contract
    assert target not in client.list_database_names()
    files = dump(client, source).files
    files["a.bson"] += files["a.bson"]  # duplicate keys only
    with pytest.raises(RestoreError, match=r"a\.bson: document 3: .*duplicate key"):
        restore_into(client, target, MemorySource(files))


def test_the_restore_checks_metadata_again(client, databases):
    source, target = databases[:2]
    client[source].create_collection("a", validator={"x": 1})
    files = dump(client, source).files
    files["a.metadata.json"] = files["a.metadata.json"].replace(
        b'{"x"', b'{"$where": "sleep(100000)", "x"')
    with pytest.raises(UnsafeContent, match=r"a\.metadata\.json: refused: \$where"):
        restore_into(client, target, MemorySource(files))
    assert client[target].list_collection_names() == []


def test_large_documents_are_batched_by_bytes(client, databases):
    source, target = databases[:2]
    blob = "x" * (3 * 1024 * 1024)
    client[source].big.insert_many([{"_id": i, "blob": blob} for i in range(6)])
    files = dump(client, source).files
    restore_into(client, target, MemorySource(files))
    assert client[target].big.count_documents({}) == 6
