"""The Chroma dump's pages, read ahead on their own thread, and its quick metadata check."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("chromadb")

from dbplay_desktop.engines.base import DumpError  # noqa: E402
from dbplay_desktop.engines.chroma import dump as dump_module  # noqa: E402
from dbplay_desktop.engines.chroma.dump import _plain_metadata, write_dump  # noqa: E402
from dbplay_desktop.engines.chroma.restore import restore_into  # noqa: E402
from dbplay_desktop.engines.chroma.safety import metadata_problem, scan_payload  # noqa: E402
from tests.engines.chroma.test_dump_restore import (  # noqa: E402
    MemorySink,
    MemorySource,
    client_at,
)


def test_pages_keep_every_record_and_its_exact_vector(tmp_path, monkeypatch):
    monkeypatch.setattr(dump_module, "DUMP_BATCH", 7)
    client = client_at(tmp_path / "src")
    col = client.create_collection("alpha", embedding_function=None)
    vectors = np.random.default_rng(3).standard_normal((53, 5)).astype(np.float32)
    ids = [f"r{n}" for n in range(53)]
    metadatas = [{"n": n, "tags": ["a", "b"], "x": n / 3, "ok": n % 2 == 0}
                 if n % 5 else None for n in range(53)]
    col.add(ids=ids, embeddings=vectors, metadatas=metadatas,
            documents=[f"doc {n}" if n % 4 else None for n in range(53)])
    sink = MemorySink()
    seen = []
    info = write_dump(client, sink, lambda done, total: seen.append(done))
    assert info.stats["records"] == 53 and seen[-1] == 53
    assert seen[:-1] == sorted(seen[:-1]) and len(seen) >= 8
    payload = MemorySource(sink.files)
    assert scan_payload(payload) == []
    restored = client_at(tmp_path / "dst")
    restore_into(restored, payload)
    got = restored.get_collection("alpha").get(include=["embeddings", "metadatas",
                                                        "documents"])
    by_id = {i: n for n, i in enumerate(got["ids"])}
    assert sorted(by_id) == sorted(ids)
    for n, record_id in enumerate(ids):
        row = by_id[record_id]
        assert np.array_equal(np.asarray(got["embeddings"][row], np.float32), vectors[n])
        assert (got["metadatas"][row] or None) == metadatas[n]
        assert got["documents"][row] == (f"doc {n}" if n % 4 else None)


@pytest.mark.parametrize("metadata", [
    {"a": 1}, {"a": "x", "b": True, "c": 1.5}, {"hnsw:space": "l2"}, {"a": 2**63 - 1},
    {"a": -(2**63)}, {"a": 2**63}, {"a": float("nan")}, {"a": float("inf")}, {"": 1},
    {"chroma:document": "x"}, {"a": None}, {"a": [1, 2]}, {"a": []}, {"a": [1, "x"]},
    {"a": {"b": 1}}, {1: 1}, {}, {"a": b"x"},
])
def test_the_quick_metadata_check_accepts_only_what_the_scan_accepts(metadata):
    if _plain_metadata(metadata):
        assert metadata_problem(metadata) is None


def test_metadata_the_scan_refuses_still_fails_the_dump(tmp_path, monkeypatch):
    client = client_at(tmp_path / "src")
    col = client.create_collection("alpha", embedding_function=None)
    col.add(ids=["a", "b"], embeddings=[[1.0, 2.0], [3.0, 4.0]],
            metadatas=[{"n": 1}, {"n": 2}])
    original = dump_module._Collection._get

    def with_bad_metadata(self, offset, count):
        page = original(self, offset, count)
        page["metadatas"][1] = {"n": float("nan")}
        return page

    monkeypatch.setattr(dump_module._Collection, "_get", with_bad_metadata)
    with pytest.raises(DumpError, match=r"record 'b': metadata: 'n': nan is not a finite"):
        write_dump(client, MemorySink())
