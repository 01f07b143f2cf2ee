"""Saves and restores of many batches against a real server: the read-ahead dump and the
pipelined restore keep every document in order and report failures where they happened."""

from __future__ import annotations

import pytest

pymongo = pytest.importorskip("pymongo")

from bson import encode  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

from dbplay_desktop.engines.base import DumpError, RestoreError, UnsafeContent  # noqa: E402
from dbplay_desktop.engines.mongo import restore as restore_module  # noqa: E402
from dbplay_desktop.engines.mongo.dump import write_dump  # noqa: E402
from dbplay_desktop.engines.mongo.restore import restore_into  # noqa: E402
from dbplay_desktop.engines.mongo.safety import scan_payload  # noqa: E402
from tests.engines.mongo.payloads import MemorySink, MemorySource  # noqa: E402

RAW = CodecOptions(document_class=RawBSONDocument)
COUNT = 1200






def _raws(client, database: str, collection: str) -> list[bytes]:
    coll = client[database].get_collection(collection, codec_options=RAW)
    return [doc.raw for doc in coll.find({}, sort=[("$natural", 1)])]


@pytest.fixture
def saved(client, databases) -> tuple[MemorySink, list[bytes]]:
    source = databases[0]
    documents = [{"_id": n, "z": n % 7, "a": "x" * (n % 50)} for n in range(COUNT)]
    client[source]["events"].insert_many(documents)
    client[source]["small"].insert_one({"_id": 1})
    client[source]["events"].create_index("z")
    sink = MemorySink()
    seen: list[tuple[int, int | None]] = []
    info = write_dump(client, source, sink, lambda done, total: seen.append((done, total)))
    assert info.stats["documents"] == COUNT + 1
    assert seen[-1] == (COUNT + 1, COUNT + 1)
    return sink, _raws(client, source, "events")


def test_many_batches_round_trip_in_order(client, databases, saved, monkeypatch):
    sink, raws = saved
    assert sink.files["events.bson"] == b"".join(raws)
    monkeypatch.setattr(restore_module, "BATCH_DOCUMENTS", 100)
    payload = MemorySource(sink.files)
    assert scan_payload(payload) == []
    progress: list[tuple[int, int | None]] = []
    restore_into(client, databases[1], payload,
                 lambda done, total: progress.append((done, total)))
    assert _raws(client, databases[1], "events") == raws
    assert _raws(client, databases[1], "small") == [encode({"_id": 1})]
    assert [i["key"] for i in client[databases[1]]["events"].list_indexes()][-1] == {"z": 1}
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_a_failing_batch_names_its_document_and_nothing_runs_after_it(client, databases,
                                                                       saved, monkeypatch):
    sink, raws = saved
    monkeypatch.setattr(restore_module, "BATCH_DOCUMENTS", 100)
    files = dict(sink.files)
    duplicate = raws[10]
    files["events.bson"] = b"".join(raws[:450]) + duplicate + b"".join(raws[450:])
    with pytest.raises(RestoreError, match=r"events.bson: document 451: .*duplicate key"):
        restore_into(client, databases[1], MemorySource(files))
    # The batch that failed was the last one sent: later batches never reached the server.
    assert client[databases[1]]["events"].count_documents({}) == 450


def test_a_framing_error_after_batches_waits_for_the_insert_under_way(client, databases,
                                                                      saved, monkeypatch):
    sink, raws = saved
    monkeypatch.setattr(restore_module, "BATCH_DOCUMENTS", 100)
    files = dict(sink.files)
    files["events.bson"] = b"".join(raws[:350]) + b"\x03\x00"
    with pytest.raises(UnsafeContent, match="stray bytes"):
        restore_into(client, databases[1], MemorySource(files))
    assert client[databases[1]]["events"].count_documents({}) == 300


def test_cancelling_a_dump_or_a_restore_mid_way(client, databases, saved, monkeypatch):
    sink, _ = saved
    with pytest.raises(DumpError, match="cancelled"):
        write_dump(client, databases[0], MemorySink(), lambda done, total: done > 0)
    monkeypatch.setattr(restore_module, "BATCH_DOCUMENTS", 100)
    calls = []

    def stop_at_third(done: int, total: int | None) -> bool:
        calls.append(done)
        return len(calls) == 3

    with pytest.raises(RestoreError, match="cancelled"):
        restore_into(client, databases[2], MemorySource(sink.files), stop_at_third)
    assert client[databases[2]]["events"].count_documents({}) <= 400
