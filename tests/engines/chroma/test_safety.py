"""The static scan of Chroma payloads: no chromadb, each refusal with its file and line."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import IO

import pytest

from dbplay_desktop.engines.base import PayloadSource
from dbplay_desktop.engines.chroma.safety import scan_payload

np = pytest.importorskip("numpy")
npy = np.lib.format

C, R, E = ("collections/0/collection.json", "collections/0/records.jsonl",
           "collections/0/embeddings.npy")


class MemorySource(PayloadSource):
    def __init__(self, files: dict[str, bytes], order: Sequence[str] | None = None,
                 sized: bool = True) -> None:
        self.files = dict(files)
        self.order = list(order if order is not None else files)
        self.sized = sized

    def paths(self) -> Sequence[str]:
        return list(self.order)

    def open(self, path: str) -> IO[bytes]:
        return io.BytesIO(self.files[path])

    def size(self, path: str) -> int | None:
        return len(self.files[path]) if self.sized else None


def npy_bytes(array, version=(1, 0)) -> bytes:
    out = io.BytesIO()
    header = {"descr": array.dtype.str, "fortran_order": False, "shape": array.shape}
    (npy.write_array_header_1_0 if version == (1, 0) else npy.write_array_header_2_0)(
        out, header)
    out.write(array.tobytes())
    return out.getvalue()


def collection(index=0, name="alpha", records=None, vectors=None, **changes):
    records = [{"id": "a", "document": "x", "metadata": {"k": 1, "l": [1.5, 2.0]}},
               {"id": "b"}] if records is None else records
    vectors = np.ones((len(records), 2), "<f4") if vectors is None else vectors
    meta = {"name": name, "metadata": {"m": True}, "dtype": "float32-le",
            "configuration": {"hnsw": {"space": "cosine", "ef_construction": 100}},
            "embedding_function": {"type": "known", "name": "default", "config": {}},
            "count": len(records), "dimension": 2, **changes}
    base = f"collections/{index}/"
    return {base + "collection.json": json.dumps(meta).encode(),
            base + "records.jsonl": b"".join(json.dumps(r).encode() + b"\n" for r in records),
            base + "embeddings.npy": npy_bytes(vectors)}


def findings(files, order=None, sized=True):
    return [(f.path, f.line, f.message) for f in scan_payload(MemorySource(files, order, sized))]


def one(files, order=None, sized=True):
    found = findings(files, order, sized)
    assert found, "nothing refused"
    return found[0]


def test_clean_payloads_have_no_findings():
    files = {**collection(0, "alpha"), **collection(1, "beta", records=[], dimension=None,
                                                     vectors=np.zeros((0, 0), "<f4"))}
    assert findings(files) == []
    assert findings(files, sized=False) == []
    two = collection(0)
    two[E] = npy_bytes(np.ones((2, 2), "<f4"), version=(2, 0))
    assert findings(two) == []


def test_progress_hears_bytes_and_can_stop():
    from dbplay_desktop.engines.base import RestoreError

    seen = []
    scan_payload(MemorySource(collection()), lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(RestoreError, match="cancelled"):
        scan_payload(MemorySource(collection()), lambda done, total: True)


@pytest.mark.parametrize("array, words", [
    (np.array([[{"x": 1}, 2]] * 2, dtype=object), "pickle"),
    (np.ones((2, 2), ">f4"), "'>f4' is not '<f4'"),
    (np.ones((2, 2), "<f8"), "is not '<f4'"),
    (np.ones((2, 3), "<f4"), "shape (2, 3)"),
    (np.ones((3, 2), "<f4"), "shape (3, 2)"),
    (np.array([[1, np.nan], [1, 2]], "<f4"), "row 1 holds a value that is not a finite"),
    (np.array([[1, 2], [np.inf, 2]], "<f4"), "row 2"),
])
def test_refused_embeddings(array, words):
    files = collection()
    if array.dtype.hasobject:
        out = io.BytesIO()
        np.save(out, array, allow_pickle=True)
        files[E] = out.getvalue()
    else:
        files[E] = npy_bytes(array)
    path, _, message = one(files)
    assert path == E and words in message, message


@pytest.mark.parametrize("sized", [True, False])
def test_huge_declared_rows_in_a_tiny_file(sized):
    files = collection()
    files[E] = files[E].replace(b"(2, 2)", b"(10000000, 2)")
    path, _, message = one(files, sized=sized)
    assert path == E and "shape (10000000, 2)" in message
    files = collection(count=10_000_000)
    files[E] = files[E].replace(b"(2, 2)", b"(10000000, 2)")
    found = findings(files, sized=sized)
    assert (R, 2, "2 records, but the collection's count is 10000000") in found
    assert any(p == E and ("declares" in m or "ends after 2 of" in m) for p, _, m in found)


def test_truncated_and_padded_npy():
    files = collection()
    files[E] = files[E][:-1]
    assert "declares" in one(files)[2]
    assert "ends after 1 of 2 rows" in one(files, sized=False)[2]
    files = collection()
    files[E] += b"\0"
    assert "declares" in one(files)[2]
    assert "bytes after its last row" in one(files, sized=False)[2]


def test_not_an_npy_file():
    files = collection()
    files[E] = b"\x80\x04\x95..."
    assert "not an .npy file" in one(files)[2]
    files[E] = b"\x93NUMPY\x03\x00" + b"\0" * 20
    assert "version 3.0" in one(files)[2]


@pytest.mark.parametrize("name", ["ab", "../etc", "-abc", "abc-", "a b c", "ünï", "x" * 513,
                                  5, None])
def test_bad_names(name):
    path, line, message = one(collection(name=name))
    assert (path, line) == (C, 1) and "not a Chroma collection name" in message


def test_duplicate_names():
    files = {**collection(0, "alpha"), **collection(1, "alpha")}
    assert one(files)[2] == "collection 'alpha' is listed twice"


@pytest.mark.parametrize("changes, words", [
    ({"configuration": {"hnsw": {"space": "l2", "num_lasers": 3}}},
     "unknown hnsw parameter 'num_lasers'"),
    ({"configuration": {"hnsw": {"space": "hamming"}}}, "is not l2, ip or cosine"),
    ({"configuration": {"hnsw": {"ef_search": 10**9}}}, "hnsw.ef_search 1000000000"),
    ({"configuration": {"hnsw": {"max_neighbors": True}}}, "hnsw.max_neighbors True"),
    ({"configuration": {"hnsw": {"resize_factor": 0.5}}}, "hnsw.resize_factor"),
    ({"configuration": {"spann": {"search_nprobe": -1}}}, "spann.search_nprobe"),
    ({"configuration": {"hnsw": {}, "spann": {}}}, "both hnsw and spann"),
    ({"configuration": {"embedding_function": {"name": "openai"}}}, "unknown key"),
    ({"schema": {}}, "unknown key 'schema'"),
    ({"dtype": "float16"}, "dtype 'float16'"),
    ({"count": -1}, "count -1"),
    ({"dimension": 0}, "dimension 0"),
    ({"dimension": 10**6}, "dimension 1000000"),
    ({"metadata": {"hnsw:space": "evil"}}, "hnsw:space 'evil'"),
    ({"metadata": {"hnsw:unknown": 1}}, "unknown index setting"),
    ({"metadata": {"x": {"nested": 1}}}, "a dict is not a Chroma metadata value"),
    ({"metadata": {}}, "is empty"),
    ({"embedding_function": {"type": "remote-code"}}, "type 'remote-code'"),
    ({"embedding_function": "default"}, "is not an object"),
])
def test_refused_collection_files(changes, words):
    path, line, message = one(collection(**changes))
    assert (path, line) == (C, 1) and words in message, message


def test_collection_file_limits():
    files = collection()
    files[C] = b"[" * 40 + b"]" * 40
    assert "more than 32 deep" in one(files)[2]
    files[C] = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'
    assert "larger than" in one(files)[2]
    files[C] = b"not json"
    assert "not JSON" in one(files)[2]
    files[C] = b'{"name": "alpha", "count": 2, "dimension": 2, "metadata": {"x": Infinity}}'
    assert "not JSON" in one(files)[2]


@pytest.mark.parametrize("line, words", [
    (b'{"id": "a", "metadata": {"k": NaN}}', "NaN is not a finite number"),
    (b'{"id": "a", "metadata": {"k": 1e999}}', "inf is not a finite number"),
    (b'{"id": "a", "metadata": {"k": 99999999999999999999}}', "does not fit in 64 bits"),
    (b'{"id": "a", "metadata": {"k": [1, "x"]}}', "all of one type"),
    (b'{"id": "a", "metadata": {"k": [true, 1]}}', "all of one type"),
    (b'{"id": "a", "metadata": {"k": []}}', "empty list"),
    (b'{"id": "a", "metadata": {"k": [[1]]}}', "all of one type"),
    (b'{"id": "a", "metadata": {"chroma:document": "x"}}', "reserved"),
    (b'{"id": "a", "embedding": [1, 2]}', "unknown key 'embedding'"),
    (b'{"id": 5}', "the id is not a non-empty string"),
    (b'{"id": ""}', "the id is not a non-empty string"),
    (b'{"id": "a", "document": 5}', "the document is not a string"),
    (b'["a"]', "not a JSON object"),
    (b"[" * 100000, "nests too deep"),
])
def test_refused_records(line, words):
    files = collection()
    files[R] = line + b'\n{"id": "b"}\n'
    path, number, message = one(files)
    assert (path, number) == (R, 1) and words in message, message


def test_duplicate_ids_and_counts():
    files = collection()
    files[R] = b'{"id": "a"}\n{"id": "a"}\n'
    assert one(files) == (R, 2, "line 2: id 'a' is repeated")
    files[R] = b'{"id": "a"}\n'
    assert one(files) == (R, 1, "1 records, but the collection's count is 2")
    files[R] = b'{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n'
    assert one(files) == (R, 3, "more records than the collection's count (2)")


def test_long_lines_are_refused_without_parsing():
    files = collection()
    files[R] = b'{"id": "a", "document": "' + b"x" * (16 * 1024 * 1024) + b'"}\n{"id": "b"}\n'
    path, number, message = one(files)
    assert (path, number) == (R, 1) and "longer than" in message


@pytest.mark.parametrize("extra, words", [
    ("collections/0/index.pkl", "pickle"),
    ("collections/0/data.pickle", "pickle"),
    ("collections/0/notes.txt", "not a Chroma payload file"),
    ("chroma.sqlite3", "not a Chroma payload file"),
    ("collections/1/collection.json", "missing"),
])
def test_unlisted_files(extra, words):
    files = collection()
    files[extra] = b"{}"
    assert any(words in message for _, _, message in findings(files)), findings(files)


def test_order_and_folders():
    files = collection()
    assert "out of order" in one(files, order=[R, C, E])[2]
    moved = {k.replace("collections/0/", "collections/01/"): v for k, v in files.items()}
    assert "not a Chroma payload file" in one(moved)[2]
    assert "missing" in one(files, order=[C, R])[2]
