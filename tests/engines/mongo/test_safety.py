"""The static scan of MongoDB payloads: no server, each refusal with its file and reason."""

from __future__ import annotations

import json
import struct

import pytest

pytest.importorskip("bson")

from bson import SON, encode

from dbplay_desktop.engines.mongo.payload import MAX_DOCUMENT_SIZE
from dbplay_desktop.engines.mongo.safety import scan_payload
from tests.engines.mongo.payloads import MemorySource

ID_INDEX = {"v": {"$numberInt": "2"}, "key": {"_id": {"$numberInt": "1"}}, "name": "_id_"}


def meta(name="a", *, options=None, indexes=None, kind="collection", **extra) -> bytes:
    data = {"options": options or {}, "indexes": [ID_INDEX] if indexes is None else indexes,
            "collectionName": name, "type": kind, **extra}
    return json.dumps(data).encode()


def collection(name="a", docs=(), **kwargs) -> dict[str, bytes]:
    return {f"{name}.metadata.json": meta(name, **kwargs),
            f"{name}.bson": b"".join(encode(d) for d in docs)}


def findings(files, order=None) -> list[tuple[str, str]]:
    return [(f.path, f.message) for f in scan_payload(MemorySource(files, order))]


def one(files, order=None) -> tuple[str, str]:
    found = findings(files, order)
    assert len(found) >= 1, found
    return found[0]


def test_a_clean_payload_has_no_findings():
    files = {**collection("a", [{"_id": 1}], options={"validator": {"x": {"$gt": 1}}}),
             "v.metadata.json": meta("v", kind="view", indexes=[],
                                     options={"viewOn": "a", "pipeline": [{"$match": {}}]})}
    assert findings(files) == []


@pytest.mark.parametrize("options, words", [
    ({"validator": {"$where": "sleep(1)"}}, "$where runs server-side JavaScript"),
    ({"validator": {"$expr": {"$function": {"body": "x", "args": [], "lang": "js"}}}},
     "$function runs server-side JavaScript"),
    ({"validator": {"x": {"$code": "function(){}"}}}, "JavaScript code"),
    ({"storageEngine": {"wiredTiger": {"configString": "x"}}}, "server's configuration"),
    ({"indexOptionDefaults": {}}, "server's configuration"),
    ({"encryptedFields": {}}, "server's configuration"),
    ({"noSuchOption": 1}, "unknown collection option 'noSuchOption'"),
])
def test_refused_collection_options(options, words):
    path, message = one(collection("a", options=options))
    assert path == "a.metadata.json"
    assert words in message


@pytest.mark.parametrize("pipeline, words", [
    ([{"$lookup": {"from": "b", "localField": "x", "foreignField": "y", "as": "z",
                   "db": "admin"}}], "names another database ('admin')"),
    ([{"$unionWith": {"coll": "x", "db": "other"}}], "another database"),
    ([{"$lookup": {"from": {"db": "local", "coll": "oplog.rs"}, "as": "x", "pipeline": []}}],
     "another database"),
    ([{"$out": "copy"}], "$out writes to a collection; refused in a view"),
    ([{"$merge": {"into": {"db": "x", "coll": "y"}}}], "$merge writes"),
    ([{"$group": {"_id": 1, "n": {"$accumulator": {"init": "function(){}"}}}}],
     "$accumulator runs server-side JavaScript"),
    ([{"$currentOp": {}}], "reads the server"),
])
def test_refused_view_pipelines(pipeline, words):
    files = {"v.metadata.json": meta("v", kind="view", indexes=[],
                                     options={"viewOn": "a", "pipeline": pipeline})}
    path, message = one(files)
    assert path == "v.metadata.json"
    assert words in message


@pytest.mark.parametrize("view_on", ["", "system.js", {"db": "x"}, "$cmd"])
def test_view_on_must_be_a_collection_of_this_database(view_on):
    files = {"v.metadata.json": meta("v", kind="view", indexes=[],
                                     options={"viewOn": view_on, "pipeline": []})}
    assert "viewOn" in one(files)[1]


@pytest.mark.parametrize("index, words", [
    ({"key": {"x": 1}, "name": "p", "partialFilterExpression": {"$where": "1"}}, "$where"),
    ({"key": {"x": 1}, "name": "s", "storageEngine": {}}, "storageEngine"),
    ({"key": {"x": 1}, "name": "u", "unknownOption": 1}, "unknown index option"),
    ({"key": {"x": "columnstore"}, "name": "k"}, "unknown index kind"),
    ({"key": {}, "name": "e"}, "key must be a non-empty object"),
])
def test_refused_indexes(index, words):
    assert words in one(collection("a", indexes=[ID_INDEX, index]))[1]


def test_unknown_metadata_keys_and_mismatched_names():
    assert "unknown metadata key 'shell'" in one(collection("a", shell="rm -rf"))[1]
    files = {"a.metadata.json": meta("b"), "a.bson": b""}
    assert "collectionName 'b'" in one(files)[1]
    assert "type 'weird'" in one(collection("a", kind="weird"))[1]


def test_files_must_come_in_pairs():
    files = collection("a")
    assert one(files, ["a.bson", "a.metadata.json"])[0] == "a.bson"
    assert "followed by its BSON file" in one({"a.metadata.json": meta("a")})[1]
    assert "not a MongoDB payload file" in one({**files, "evil.pickle": b"x"})[1]
    view = {"v.metadata.json": meta("v", kind="view", indexes=[],
                                    options={"viewOn": "a", "pipeline": []}), "v.bson": b""}
    assert one(view) == ("v.bson", "a view has no BSON file")
    assert "system.*" in one(collection("system.js"))[1]
    assert "listed twice" in one(files, ["a.metadata.json", "a.bson", "a.bson"])[1]


def test_metadata_must_be_extended_json_within_limits():
    assert "not Extended JSON" in one({"a.metadata.json": b"{nope", "a.bson": b""})[1]
    assert "not a JSON object" in one({"a.metadata.json": b"[]", "a.bson": b""})[1]
    deep = b'{"options": {"validator": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b"}}"
    assert "nests" in one({"a.metadata.json": deep, "a.bson": b""})[1]


def test_bson_framing_is_checked_document_by_document():
    good = encode({"_id": 1})
    def bson(data):
        return one({"a.metadata.json": meta("a"), "a.bson": data})
    path, message = bson(good + good[:-3])
    assert path == "a.bson" and "document 2 is cut short" in message
    assert "stray bytes at the end" in bson(good + b"\x01\x00")[1]
    assert "declares 3 bytes" in bson(struct.pack("<i", 3))[1]
    huge = struct.pack("<i", MAX_DOCUMENT_SIZE + 1) + b"\x00" * 16
    assert "16 MiB" in bson(huge)[1]
    assert "does not end with a NUL byte" in bson(good[:-1] + b"\x01")[1]
    assert "not valid BSON" in bson(b"\x0c\x00\x00\x00\x7fx\x00\x00\x00\x00\x00\x00")[1]
    found = scan_payload(MemorySource({"a.metadata.json": meta("a"),
                                       "a.bson": good + good[:-3]}))
    assert found[0].line == 2  # the document's number


def test_deeply_nested_documents_are_refused():
    value: object = 1
    for _ in range(150):
        value = SON([("x", value)])
    path, message = one({"a.metadata.json": meta("a"), "a.bson": encode({"d": value})})
    assert path == "a.bson"
    assert "nests documents or arrays more than 100 deep" in message
