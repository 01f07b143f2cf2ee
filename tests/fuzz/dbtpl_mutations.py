"""Real ``.dbtpl`` templates and the ways the fuzz tests damage them.

Seeds are written by the project's own :class:`TemplateWriter` (format versions 1, 2 with
a script and 3 with zstd payload files, PostgreSQL and SQLite payloads) plus the sample
templates shipped in ``resources/samples/``. :func:`damaged_template` then takes one and
damages it at one of three levels, a few edits each:

* bytes: flipped, overwritten with ZIP signatures, inserted, deleted, cut short;
* the archive: entries renamed, doubled, dropped or added, their method, flags or mode
  changed, their data mutated, and the headers' sizes, CRCs, methods and name lengths
  patched after the archive was written (so the local and central headers disagree);
* the manifest: keys dropped or given values of other types, huge, unicode or nested;
  file items with wrong sizes, hashes, paths or compressions; the JSON text itself cut,
  doubled or garbled; payload data changed with the manifest kept in step, so the
  engine's scan reads the altered SQL.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import struct
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.support import mutated

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"

PG_DUMP = b"""--
-- PostgreSQL database dump
--
\\restrict abc123
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.t (id integer NOT NULL, name text, note text);
COPY public.t (id, name, note) FROM stdin;
1\tone\t\\N
2\tt\xc3\xa9l\xc3\xa9\tsemi; colon
3\t\\.x\t'quote'
\\.
CREATE FUNCTION public.f() RETURNS integer
    LANGUAGE sql
    AS $$ SELECT 1; $$;
ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);
\\unrestrict abc123
"""
PG_MORE = b"CREATE VIEW public.v AS SELECT id FROM public.t;\n"
SQLITE_DUMP = b"""PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO t VALUES(1,'one; two');
INSERT INTO t VALUES(2,'it''s');
CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO t VALUES (new.id + 100, 'x'); END;
CREATE INDEX t_name ON t (name);
COMMIT;
"""
SCRIPT = "SELECT * FROM t; -- the editor's text ☃\n"


@dataclass(frozen=True)
class Member:
    """One archive entry as the fuzzer rebuilds it (``data`` as stored or uncompressed)."""

    name: str
    data: bytes
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    mode: int = 0o100644


def _write(path: Path, engine: str, files: list[tuple[str, bytes]],
           script: str | None = None) -> bytes:
    from dbplay_desktop.templates.container import TemplateWriter

    with TemplateWriter(path, engine=engine, name="Fuzz seed", description="a\nb") as writer:
        for name, data in files:
            with writer.open(name) as stream:
                stream.write(data)
        if script is not None:
            writer.add_script("playground.sql", script)
        writer.commit("16.2", {"tables": 1})
    return path.read_bytes()


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """The seed templates' bytes: written here once per run, then only read."""
    import tempfile

    from dbplay_desktop.templates import writer as template_writer

    with tempfile.TemporaryDirectory(prefix="dbplay-fuzz-seeds-") as folder:
        base = Path(folder)
        made = [
            _write(base / "v1.dbtpl", "postgresql", [("dump.sql", PG_DUMP)]),
            _write(base / "v2.dbtpl", "postgresql", [("dump.sql", PG_DUMP)], SCRIPT),
            _write(base / "sqlite.dbtpl", "sqlite", [("dump.sql", SQLITE_DUMP)], SCRIPT),
        ]
        threshold = template_writer.ZSTD_FROM
        template_writer.ZSTD_FROM = 100  # the payload files below become zstd frames
        try:
            made.append(_write(base / "v3.dbtpl", "postgresql",
                               [("dump.sql", PG_DUMP), ("more.sql", PG_MORE)], SCRIPT))
            made.append(_write(base / "v3-sqlite.dbtpl", "sqlite",
                               [("dump.sql", SQLITE_DUMP)]))
        finally:
            template_writer.ZSTD_FROM = threshold
    made += [path.read_bytes() for path in sorted(SAMPLES.glob("*.dbtpl"))[:2]]
    return tuple(made)


def members(data: bytes) -> list[Member]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [Member(info.filename, archive.read(info), info.compress_type, info.flag_bits,
                       info.external_attr >> 16) for info in archive.infolist()]


def archive(entries: list[Member], comment: bytes = b"") -> bytes:
    """A ZIP of ``entries`` as Python's zipfile writes it (sizes and CRCs right)."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive_file:
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, (2024, 1, 2, 3, 4, 6))
            info.compress_type = entry.method
            info.external_attr = (entry.mode & 0xFFFF) << 16
            info.create_system = 3
            if entry.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                info.compress_type = zipfile.ZIP_STORED
            archive_file.writestr(info, entry.data)
            info.flag_bits |= entry.flags & ~0x8  # patched into the central directory
        archive_file.comment = comment[:0xFFFF]
    return out.getvalue()


def manifest_of(entries: list[Member]) -> dict[str, Any] | None:
    for entry in entries:
        if entry.name == "manifest.json":
            try:
                value = json.loads(entry.data)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def with_manifest(entries: list[Member], manifest: bytes) -> list[Member]:
    return [replace(entry, data=manifest) if entry.name == "manifest.json" else entry
            for entry in entries]


# --------------------------------------------------------------------------- values

NAMES = ["dump.sql", "more.sql", "manifest.json", "scripts/playground.sql", "scripts/",
         "scripts/a/b.sql", "../evil.sql", "/abs.sql", "a//b.sql", "a\\b.sql", "C:x.sql",
         "./dump.sql", "dir/", "DUMP.sql", "x\x00y", "é.sql", "\u202e.sql", "",
         "x" * 2000, "a/" * 300 + "z", "collections/0/collection.json", "t.bson"]

_leaf = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
         | st.floats(allow_nan=False, allow_infinity=False)
         | st.text(max_size=12) | st.sampled_from(NAMES)
         | st.sampled_from(["0" * 64, "f" * 64, "F" * 64, "g" * 64, "zstd", "deflate", "",
                            "postgresql", "sqlite", "mongodb", "chroma", "nope", "Postgres",
                            "2024-01-02T03:04:05Z", "2024-13-45", "\ud800", "\x00"]))
json_values = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(["path", "size", "sha256"]),
                      inner, max_size=4),
    max_leaves=10,
)
huge_values = st.one_of(
    st.integers(1000, 300_000).map(lambda n: "x" * n),
    st.integers(10, 400).map(lambda n: int("9" * n)),
    st.integers(1, 60).map(lambda n: functools.reduce(lambda v, _: [v], range(n), 0)),
    st.integers(100, 20_000).map(lambda n: list(range(n))),
    st.integers(257, 2000).map(lambda n: {f"k{i}": i for i in range(n)}),
)
KEYS = ["format", "format_version", "engine", "engine_version", "name", "description",
        "created_at", "app_version", "files", "stats", "scripts", "extra"]
FILE_KEYS = ["path", "sha256", "size", "compression", "other"]
JSON_TOKENS = ["{", "}", "[", "]", '"', ":", ",", "\\", "\\u0000", "\\ud800", "NaN",
               "Infinity", "-Infinity", "1e400", "-0", "9" * 40, '"format": "dbtpl"',
               '"files": []', '"size": 1', "null", "true", "[" * 40, "]" * 40, "\ufeff",
               "\ud800", "\x00", "é"]


@st.composite
def mutated_manifest(draw: st.DrawFn, manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with a few keys dropped or changed, at the top or in a file item."""
    manifest = json.loads(json.dumps(manifest))
    for _ in range(draw(st.integers(1, 3))):
        lists = [key for key in ("files", "scripts")
                 if isinstance(manifest.get(key), list) and manifest[key]]
        if lists and draw(st.booleans()):
            items = manifest[draw(st.sampled_from(lists))]
            index = draw(st.integers(0, len(items) - 1))
            if not isinstance(items[index], dict):
                items[index] = draw(json_values)
                continue
            item = items[index]
            key = draw(st.sampled_from(FILE_KEYS))
            choice = draw(st.integers(0, 4))
            if choice == 0:
                item.pop(key, None)
            elif choice == 1 and isinstance(item.get("size"), int):
                item["size"] += draw(st.sampled_from([-1, 1, -item["size"], 2**32, 2**62]))
            elif choice == 2:
                items.append(dict(item))  # the same path twice
            else:
                item[key] = draw(json_values | huge_values)
        else:
            key = draw(st.sampled_from(KEYS))
            if draw(st.integers(0, 3)) == 0:
                manifest.pop(key, None)
            else:
                manifest[key] = draw(json_values | huge_values)
    return manifest


# --------------------------------------------------------------------------- levels


@st.composite
def byte_damage(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, overwritten, inserted or deleted, or cut short."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(buffer) - 1)))
        choice = draw(st.integers(0, 5))
        if choice == 0 and buffer:
            buffer[at] ^= 1 << draw(st.integers(0, 7))
        elif choice == 1:
            piece = draw(st.sampled_from([b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06",
                                          b"PK\x06\x06", b"PK\x06\x07", b"\xff\xff\xff\xff",
                                          b"\x00\x00\x00\x00"]) | st.binary(max_size=8))
            buffer[at:at + len(piece)] = piece
        elif choice == 2:
            buffer[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif choice == 3:
            del buffer[at:at + draw(st.integers(1, 64))]
        elif choice == 4:
            del buffer[at:]
        else:
            end = draw(st.integers(at, min(len(buffer), at + 200)))
            buffer[end:end] = buffer[at:end]
    return bytes(buffer)


#: Fields of a local header (``PK\x03\x04``) and of a central one (``PK\x01\x02``):
#: (offset, struct format).
_LOCAL_FIELDS = [(6, "<H"), (8, "<H"), (14, "<I"), (18, "<I"), (22, "<I"), (26, "<H"),
                 (28, "<H")]
_CENTRAL_FIELDS = [(8, "<H"), (10, "<H"), (16, "<I"), (20, "<I"), (24, "<I"), (28, "<H"),
                   (30, "<H"), (32, "<H"), (38, "<I"), (42, "<I")]
_END_FIELDS = [(8, "<H"), (10, "<H"), (12, "<I"), (16, "<I"), (20, "<H")]


@st.composite
def header_patch(draw: st.DrawFn, data: bytes) -> bytes:
    """A header field (method, flags, CRC, sizes, name length, offset) set to another value."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind, fields = draw(st.sampled_from([(b"PK\x03\x04", _LOCAL_FIELDS),
                                             (b"PK\x01\x02", _CENTRAL_FIELDS),
                                             (b"PK\x05\x06", _END_FIELDS)]))
        places = [at for at in range(len(buffer)) if buffer.startswith(kind, at)]
        if not places:
            continue
        at = draw(st.sampled_from(places))
        offset, fmt = draw(st.sampled_from(fields))
        if at + offset + struct.calcsize(fmt) > len(buffer):
            continue
        (old,) = struct.unpack_from(fmt, buffer, at + offset)
        top = 0xFFFF if fmt == "<H" else 0xFFFFFFFF
        new = draw(st.sampled_from([0, 1, 8, 12, 93, 99, top, old + 1, old - 1, old * 2])
                   | st.integers(0, top))
        struct.pack_into(fmt, buffer, at + offset, new % (top + 1))
    return bytes(buffer)


def _recompressed(entry: Member, content: bytes) -> bytes:
    """``content`` as ``entry`` holds it: zstd frames when the entry holds frames."""
    if entry.data.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        return zstandard.ZstdCompressor(write_checksum=True).compress(content)
    return content


def _content(entry: Member) -> bytes:
    if entry.data.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(entry.data)
        except zstandard.ZstdError:
            return entry.data
    return entry.data


@st.composite
def archive_damage(draw: st.DrawFn, data: bytes) -> bytes:
    """The archive rebuilt with entries renamed, doubled, dropped, added or altered."""
    entries = members(data)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(entries) - 1)) if entries else 0
        choice = draw(st.integers(0, 7))
        if not entries or choice == 0:
            entries.insert(at, Member(draw(st.sampled_from(NAMES)), draw(st.binary(max_size=64)),
                                      draw(st.sampled_from([0, 8]))))
        elif choice == 1:
            entries[at] = replace(entries[at], name=draw(st.sampled_from(NAMES)))
        elif choice == 2:
            entries.insert(at, entries[at])
        elif choice == 3:
            del entries[at]
        elif choice == 4:
            entries[at] = replace(entries[at], method=draw(st.sampled_from([0, 8])),
                                  flags=draw(st.sampled_from([0, 1, 0x40, 0x800, 0x2000])))
        elif choice == 5:
            entries[at] = replace(entries[at], mode=draw(st.sampled_from(
                [0o120777, 0o040755, 0o100000, 0o010644])))
        elif choice == 6:
            # Data altered inside a valid archive; the manifest keeps its old hash and size.
            content = draw(byte_damage(entries[at].data))
            entries[at] = replace(entries[at], data=content)
        else:
            entries = _altered_payload(draw, entries)
    return archive(entries, draw(st.sampled_from([b"", b"a comment", b"PK\x05\x06"])))


def _altered_payload(draw: st.DrawFn, entries: list[Member]) -> list[Member]:
    """A payload file's text altered, with its hash and size in the manifest kept in step."""
    manifest = manifest_of(entries)
    files = manifest.get("files") if manifest else None
    if not manifest or not isinstance(files, list) or not files:
        return entries
    item = draw(st.sampled_from(files))
    if not isinstance(item, dict):
        return entries
    for index, entry in enumerate(entries):
        if entry.name == item.get("path"):
            text = _content(entry).decode("utf-8", "replace")
            changed = draw(mutated(st.just(text), ["COPY t FROM stdin;\n", "\\.\n", ";", "'",
                                                   "$$", "/*", "--", "\\connect x\n",
                                                   "CREATE TRIGGER", "BEGIN", "END;", "\x00",
                                                   "\ufeff", "\ud800"]))
            content = changed.encode("utf-8", "surrogatepass")
            item["size"] = len(content)
            item["sha256"] = hashlib.sha256(content).hexdigest()
            entries[index] = replace(entry, data=_recompressed(entry, content))
    return with_manifest(entries, json.dumps(manifest).encode())


@st.composite
def manifest_damage(draw: st.DrawFn, data: bytes) -> bytes:
    """The archive with its manifest's values or its JSON text altered."""
    entries = members(data)
    manifest = manifest_of(entries) or {}
    if draw(st.booleans()):
        text = json.dumps(draw(mutated_manifest(manifest)), ensure_ascii=draw(st.booleans()))
    else:
        text = draw(mutated(st.just(json.dumps(manifest, indent=2)), JSON_TOKENS))
    encoded = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        encoded = b"\xef\xbb\xbf" + encoded
    return archive(with_manifest(entries, encoded))


def engine_of(data: bytes) -> str | None:
    """The engine a seed's manifest names."""
    with zipfile.ZipFile(io.BytesIO(data)) as found:
        return json.loads(found.read("manifest.json")).get("engine")


@st.composite
def damaged_template(draw: st.DrawFn, engine: str | None = None) -> bytes:
    """A seed template (of ``engine``, or any) damaged at the byte, archive or manifest
    level (or not at all)."""
    data = draw(st.sampled_from([seed for seed in seeds()
                                 if engine is None or engine_of(seed) == engine]))
    level = draw(st.integers(0, 9))
    if level == 0:
        return data
    if level <= 2:
        return draw(byte_damage(data))
    if level <= 4:
        return draw(header_patch(data))
    if level <= 6:
        return draw(archive_damage(data))
    return draw(manifest_damage(data))
