"""Importing mongodump folders and archives and Mongo Playground text as templates."""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
from pathlib import Path

import pytest

pymongo = pytest.importorskip("pymongo")

from bson import SON, encode  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.objectid import ObjectId  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

from dbplay_desktop.engines import registry  # noqa: E402
from dbplay_desktop.engines.base import DumpError, UnsafeContent  # noqa: E402
from dbplay_desktop.engines.mongo import safety  # noqa: E402
from dbplay_desktop.engines.mongo.descriptor import DESCRIPTOR  # noqa: E402
from dbplay_desktop.engines.mongo.dump import write_dump  # noqa: E402
from dbplay_desktop.engines.mongo.importers import import_source  # noqa: E402
from dbplay_desktop.engines.mongo.restore import restore_into  # noqa: E402
from dbplay_desktop.engines.mongo.sniff import ARCHIVE_MAGIC, can_import  # noqa: E402
from dbplay_desktop.templates.container import TemplateReader  # noqa: E402
from dbplay_desktop.templates.operations import import_template  # noqa: E402
from tests.engines.mongo.payloads import MemorySink, MemorySource  # noqa: E402
from tests.test_cli import assert_one_line_error, run_dbplay  # noqa: E402

RAW = CodecOptions(document_class=RawBSONDocument)
END = b"\xff\xff\xff\xff"






def sample(client, database) -> MemorySink:
    db = client[database]
    db.create_collection("people", validator={"age": {"$gte": 0}})
    db.people.insert_many([SON([("_id", i), ("age", i), ("big", Int64(1) << 40)])
                           for i in range(5)])
    db.people.create_index("age", unique=True)
    db.create_collection("empty")
    db.create_collection("adults", viewOn="people", pipeline=[{"$match": {"age": {"$gte": 3}}}])
    sink = MemorySink()
    write_dump(client, database, sink)
    return sink


def write_folder(folder: Path, files: dict[str, bytes], gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        if gz:
            (folder / (path + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / path).write_bytes(data)


def restored(client, database, sink: MemorySink) -> dict[str, list[bytes]]:
    payload = MemorySource(sink.files)
    assert safety.scan_payload(payload) == []
    restore_into(client, database, payload)
    db = client[database]
    return {name: [d.raw for d in db.get_collection(name, codec_options=RAW).find().sort("_id")]
            for name in sorted(db.list_collection_names())}


def test_a_mongodump_folder_imports(client, databases, tmp_path):
    source, target = databases[:2]
    dumped = sample(client, source)
    folder = tmp_path / "dump" / source
    write_folder(folder, dumped.files)
    (folder / "prelude.json").write_text("{}")
    for given in (folder, tmp_path / "dump"):  # the database's folder, or the dump's
        assert can_import(given)
        sink = MemorySink()
        info = import_source(given, sink)
        assert sink.files == dumped.files
        assert info.stats == {"collections": 2, "documents": 5, "indexes": 3, "views": 1}
    assert restored(client, target, sink)["people"] == [
        d.raw for d in client[source].get_collection("people", codec_options=RAW).find()
        .sort("_id")]


def test_gzip_folders_old_metadata_and_missing_metadata(tmp_path):
    folder = tmp_path / "gz"
    docs = b"".join(encode({"_id": i}) for i in range(3))
    old = {"options": {}, "indexes": [{"v": 1, "key": {"_id": 1}, "name": "_id_",
                                        "ns": "shop.orders"}]}
    write_folder(folder, {"orders.bson": docs, "orders.metadata.json": json.dumps(old).encode(),
                          "bare.bson": encode({"_id": 1})}, gz=True)
    sink = MemorySink()
    import_source(folder, sink)
    assert list(sink.files) == ["bare.metadata.json", "bare.bson", "orders.metadata.json",
                                "orders.bson"]
    metadata = json.loads(sink.files["orders.metadata.json"])
    assert "ns" not in metadata["indexes"][0]
    assert metadata["collectionName"] == "orders" and metadata["type"] == "collection"
    assert sink.files["orders.bson"] == docs
    assert safety.scan_payload(MemorySource(sink.files)) == []


def test_a_dump_of_several_databases_needs_one(tmp_path):
    for name in ("shop", "school", "admin"):
        write_folder(tmp_path / name, {"a.bson": b"", "a.metadata.json": b"{}"})
    with pytest.raises(DumpError, match=r"holds dumps of 3 databases \(admin, school, shop\)"):
        import_source(tmp_path, MemorySink())
    (tmp_path / "school" / "a.bson").unlink()
    (tmp_path / "school" / "a.metadata.json").unlink()
    sink = MemorySink()
    import_source(tmp_path, sink)  # admin is left out: shop is the only one
    assert list(sink.files) == ["a.metadata.json", "a.bson"]


def test_broken_bson_in_a_folder_is_a_clear_error(tmp_path):
    write_folder(tmp_path, {"a.bson": encode({"_id": 1})[:-2]})
    with pytest.raises(DumpError, match=r"collection 'a': not a BSON document sequence"):
        import_source(tmp_path, MemorySink())


def archive(collections: dict[str, tuple[dict, list[bytes]]], db: str = "shop",
            gz: bool = False, extra_db: str | None = None) -> bytes:
    """A mongodump archive by the format's specification, documents interleaved."""
    out = [ARCHIVE_MAGIC, encode(SON([("concurrent_collections", 4), ("version", "0.1"),
                                       ("server_version", "8.0.1"),
                                       ("tool_version", "100.9.0")]))]
    names = [(db, n) for n in collections] + ([(extra_db, "x")] if extra_db else [])
    for database, name in names:
        metadata = collections.get(name, ({}, []))[0] if database == db else {}
        out.append(encode(SON([("db", database), ("collection", name),
                               ("metadata", json.dumps(metadata)), ("size", 0)])))
    out.append(END)
    # Interleave: one document of each collection per round.
    pending = {n: list(docs) for n, (_m, docs) in collections.items()}
    while any(pending.values()):
        for name, docs in pending.items():
            if docs:
                out.append(encode(SON([("db", db), ("collection", name), ("EOF", False),
                                       ("CRC", Int64(0))])))
                out.append(docs.pop(0))
                out.append(END)
    for name in collections:
        out.append(encode(SON([("db", db), ("collection", name), ("EOF", True),
                               ("CRC", Int64(0))])))
        out.append(END)
    data = b"".join(out)
    return gzip.compress(data) if gz else data


@pytest.mark.parametrize("gz", [False, True])
def test_a_mongodump_archive_imports(tmp_path, gz):
    meta = {"options": {"capped": True, "size": 4096},
            "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
            "collectionName": "log", "type": "collection"}
    view = {"options": {"viewOn": "log", "pipeline": []}, "indexes": [], "type": "view"}
    log = [encode({"_id": i, "x": "y" * i}) for i in range(4)]
    other = [encode({"_id": ObjectId()}) for _ in range(2)]
    path = tmp_path / ("shop.archive.gz" if gz else "shop.archive")
    path.write_bytes(archive({"log": (meta, log), "other": ({}, other), "v": (view, [])},
                             gz=gz))
    assert can_import(path)
    sink = MemorySink()
    info = import_source(path, sink)
    assert list(sink.files) == ["log.metadata.json", "log.bson", "other.metadata.json",
                                "other.bson", "v.metadata.json"]
    assert sink.files["log.bson"] == b"".join(log)
    assert sink.files["other.bson"] == b"".join(other)
    assert json.loads(sink.files["log.metadata.json"])["options"] == {
        "capped": True, "size": {"$numberInt": "4096"}}
    assert info.engine_version == "8.0.1"
    assert info.stats == {"collections": 2, "documents": 6, "indexes": 2, "views": 1}
    assert safety.scan_payload(MemorySource(sink.files)) == []


def test_archives_that_are_broken_or_hold_several_databases(tmp_path):
    path = tmp_path / "two.archive"
    path.write_bytes(archive({"a": ({}, [encode({"_id": 1})])}, extra_db="other"))
    with pytest.raises(DumpError, match=r"holds 2 databases \(other, shop\)"):
        import_source(path, MemorySink())
    path.write_bytes(archive({"a": ({}, [encode({"_id": 1})])})[:-30])
    with pytest.raises(DumpError, match="not a mongodump archive"):
        import_source(path, MemorySink())


PLAYGROUND_DB = """db={
  // Mongo Playground's configuration
  "orders": [
    {_id: ObjectId("65a1b2c3d4e5f60718293a4b"), item: 'book', qty: NumberLong(3),
     at: ISODate("2024-05-01T12:00:00Z"), tags: ["a", "b",]},
    {"_id": 2, "item": "pen", "nested": {"deep": [1, 2.5, null, true]}}
  ],
  inventory: []
}
"""


def test_mongo_playground_text_in_both_forms(client, databases, tmp_path):
    pytest.importorskip("dbplay_desktop.engines.mongo.shell.literals")
    target = databases[0]
    path = tmp_path / "playground.txt"
    path.write_text(PLAYGROUND_DB)
    assert can_import(path)
    sink = MemorySink()
    info = import_source(path, sink)
    assert info.stats == {"collections": 2, "documents": 2, "indexes": 2, "views": 0}
    found = restored(client, target, sink)
    assert set(found) == {"orders", "inventory"}
    orders = list(client[target].orders.find())
    by_item = {d["item"]: d for d in orders}
    assert by_item["book"]["_id"] == ObjectId("65a1b2c3d4e5f60718293a4b")
    assert by_item["book"]["qty"] == 3 and isinstance(by_item["book"]["qty"], Int64)
    assert by_item["book"]["at"] == datetime.datetime(2024, 5, 1, 12,
                                                      tzinfo=datetime.timezone.utc)
    assert list(by_item["pen"]) == ["_id", "item", "nested"]  # field order kept
    array = tmp_path / "array.json"
    array.write_text('[{"a": 1}, {"a": 2, "b": {"$oid": "65a1b2c3d4e5f60718293a4b"}}]')
    sink = MemorySink()
    import_source(array, sink)
    assert list(sink.files) == ["collection.metadata.json", "collection.bson"]


@pytest.mark.parametrize("text, words", [
    ("db={orders: [{a: 1}]}; db.orders.drop()", "expected one configuration"),
    ("db={orders: [{$where: 'sleep(1)'}]}", "$where"),
    ("db={orders: [{a: process.exit()}]}", ""),
    ("db={orders: {a: 1}}", "must be a list of documents"),
    ("db={orders: [1, 2]}", "document 1: not a document"),
    ("[{a: 1}", "syntax error"),
])
def test_playground_text_that_is_refused(tmp_path, text, words):
    pytest.importorskip("dbplay_desktop.engines.mongo.shell.literals")
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(Exception) as caught:
        import_source(path, MemorySink())
    assert isinstance(caught.value, DumpError), caught.value
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_oversized_and_deeply_nested_documents_are_clear_errors(tmp_path):
    pytest.importorskip("dbplay_desktop.engines.mongo.shell.literals")
    big = tmp_path / "big.json"
    big.write_text('[{"blob": "' + "x" * (17 * 1024 * 1024) + '"}]')
    with pytest.raises(DumpError, match="larger than the 16 MiB"):
        import_source(big, MemorySink())
    deep = tmp_path / "deep.json"
    deep.write_text("[" + '{"a": ' * 150 + "1" + "}" * 150 + "]")
    with pytest.raises(DumpError, match="nest more than 100"):
        import_source(deep, MemorySink())


def test_an_unknown_source_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert not can_import(path)
    with pytest.raises(DumpError, match=r"notes\.txt"):
        import_source(path, MemorySink())


class _ScanOnly:
    """Stands in for the MongoDB engine class while it is not registered yet."""

    @classmethod
    def scan_payload(cls, source, progress=None):
        return safety.scan_payload(source, progress)


@pytest.fixture
def mongo_registered(monkeypatch) -> None:
    """The mongodb engine in the registry: the real one once it is registered."""
    if "mongodb" in registry.engine_names():
        return
    descriptor = dataclasses.replace(DESCRIPTOR,
                                     engine=f"{__name__}:_ScanOnly")
    found = {**registry._descriptors(), "mongodb": descriptor}
    monkeypatch.setattr(registry, "_descriptors", lambda: found)


def test_import_template_writes_a_scanned_template(client, databases, tmp_path,
                                                   mongo_registered):
    source, _target = databases[:2]
    dumped = sample(client, source)
    folder = tmp_path / "shop"
    write_folder(folder, dumped.files)
    out = tmp_path / "shop.dbtpl"
    manifest = import_template(folder, out)  # found by can_import
    assert manifest.engine == "mongodb" and manifest.name == "shop"
    assert manifest.stats["documents"] == 5
    with TemplateReader(out) as reader:
        assert list(reader.paths()) == list(dumped.files)
    again = import_template(folder, tmp_path / "named.dbtpl", name="Named", engine="mongodb")
    assert again.name == "Named"


def test_import_template_refuses_an_unsafe_payload_and_writes_nothing(tmp_path,
                                                                      mongo_registered):
    folder = tmp_path / "evil"
    meta = {"options": {"validator": {"$where": "while(1){}"}}, "indexes": []}
    write_folder(folder, {"a.bson": b"", "a.metadata.json": json.dumps(meta).encode()})
    out = tmp_path / "evil.dbtpl"
    with pytest.raises(UnsafeContent, match=r"a\.metadata\.json:1: \$where runs"):
        import_template(folder, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [folder]


def test_import_template_without_a_matching_engine(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    from dbplay_desktop.templates.container import TemplateError

    with pytest.raises(TemplateError, match="no engine recognises it; give --engine"):
        import_template(path, tmp_path / "x.dbtpl")
    with pytest.raises(TemplateError, match="no such file or folder"):
        import_template(tmp_path / "missing", tmp_path / "x.dbtpl")


def test_the_import_command_in_process(client, databases, tmp_path, capsys,
                                       mongo_registered):
    from dbplay_desktop.cli import main

    folder = tmp_path / "shop"
    write_folder(folder, sample(client, databases[0]).files)
    out = tmp_path / "shop.dbtpl"
    assert main(["template", "import", str(folder), "--out", str(out), "--engine",
                 "mongodb"]) == 0
    assert f"as template 'shop' to {out}" in capsys.readouterr().out
    (folder / "a.metadata.json").write_text('{"options": {"storageEngine": {}}}')
    (folder / "a.bson").write_bytes(b"")
    assert main(["template", "import", str(folder), "--out", str(tmp_path / "b.dbtpl")]) == 1
    error = capsys.readouterr().err
    assert_one_line_error(error, "a.metadata.json:1: option 'storageEngine'")
    assert not (tmp_path / "b.dbtpl").exists()


@pytest.mark.skipif("mongodb" not in registry.engine_names(),
                    reason="the mongodb engine is not registered yet")
def test_dbplay_template_import_on_the_command_line(client, databases, tmp_path):
    source, _target = databases[:2]
    folder = tmp_path / "shop"
    write_folder(folder, sample(client, source).files)
    out = tmp_path / "shop.dbtpl"
    result = run_dbplay("template", "import", str(folder), "--out", str(out), "--name", "Shop")
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout and out.is_file()
    verify = run_dbplay("template", "verify", str(out))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    result = run_dbplay("template", "import", str(bad), "--out", str(tmp_path / "n.dbtpl"))
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "no engine recognises it")
