"""The .dbtpl container on real files: round trips, atomic saves and every refusal."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dbplay_desktop.templates.container import (
    DEFAULT_MAX_SIZE,
    Manifest,
    TemplateError,
    TemplateReader,
    TemplateWriter,
    read_manifest,
)
from dbplay_desktop.templates.limits import format_size, max_template_size, parse_size
from dbplay_desktop.templates.reader import _CheckedStream

SCHEMA = "CREATE TABLE café (name text);\n".encode()
DATA = "INSERT INTO café VALUES ('naïve ☕ 日本語');\n".encode() * 200


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_dict(files: dict[str, bytes], /, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "dbtpl",
        "format_version": 1,
        "engine": "postgresql",
        "engine_version": "15.4",
        "name": "Shop",
        "description": "",
        "created_at": "2024-05-01T12:00:00Z",
        "app_version": "0.1.0",
        "files": [{"path": p, "sha256": sha(b), "size": len(b)} for p, b in files.items()],
        "stats": {"tables": 1},
    }
    data.update(overrides)
    return data


def build_zip(
    path: Path,
    entries: list[tuple[str, bytes]],
    manifest: dict[str, Any] | str | bytes | None = None,
) -> Path:
    """A ZIP with exactly these entries (names unchecked) and the given manifest.json."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            if manifest is not None:
                text = json.dumps(manifest) if isinstance(manifest, dict) else manifest
                zf.writestr("manifest.json", text)
            for name, data in entries:
                zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def build_template(path: Path, files: dict[str, bytes], **overrides: Any) -> Path:
    return build_zip(path, list(files.items()), manifest_dict(files, **overrides))


def patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make the ZIP headers of ``name`` lie about its uncompressed size (no zip64)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
        central_start = zf.start_dir
    blob = bytearray(path.read_bytes())
    local = info.header_offset
    assert blob[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", blob, local + 22, size)
    pos = central_start
    while blob[pos : pos + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", blob, pos + 28)
        if blob[pos + 46 : pos + 46 + name_len].decode() == name:
            struct.pack_into("<I", blob, pos + 24, size)
        pos += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(blob))


def refusal(path: Path, **kwargs: Any) -> str:
    with pytest.raises(TemplateError) as info:
        TemplateReader(path, **kwargs).close()
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- round trips


def test_round_trip_two_files_with_unicode(tmp_path: Path) -> None:
    target = tmp_path / "boutique café.dbtpl"
    with TemplateWriter(
        target, engine="postgresql", name="Café ☕", description="naïve 日本語"
    ) as writer:
        with writer.open("schema/01-schéma.sql") as stream:
            stream.write(SCHEMA)
        with io.TextIOWrapper(writer.open("02-data.sql"), encoding="utf-8") as text:
            text.write(DATA.decode())
        written = writer.commit("15.4 (Debian)", {"tables": 1, "rows": 200})

    assert sorted(os.listdir(tmp_path)) == [target.name]
    with TemplateReader(target) as reader:
        assert reader.manifest == written
        assert reader.paths() == ["schema/01-schéma.sql", "02-data.sql"]
        assert reader.manifest.name == "Café ☕"
        assert reader.manifest.description == "naïve 日本語"
        assert reader.manifest.stats == {"tables": 1, "rows": 200}
        assert reader.manifest.total_size == len(SCHEMA) + len(DATA)
        assert reader.size("02-data.sql") == len(DATA)
        assert reader.size("missing.sql") is None
        assert reader.manifest.created is not None
        with reader.open("schema/01-schéma.sql") as stream:
            assert stream.read() == SCHEMA
        with io.TextIOWrapper(reader.open("02-data.sql"), encoding="utf-8") as text:
            assert text.read() == DATA.decode()
        assert reader.verify() == []
    assert read_manifest(target) == written
    with zipfile.ZipFile(target) as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())


def test_unknown_manifest_keys_are_kept(tmp_path: Path) -> None:
    files = {"data.sql": b"SELECT 1;\n"}
    data = manifest_dict(files, future={"nested": [1, 2]}, source="https://example.org")
    data["files"][0]["compression_hint"] = "none"
    path = build_zip(tmp_path / "t.dbtpl", list(files.items()), data)

    manifest = read_manifest(path)
    assert manifest.extra == {"future": {"nested": [1, 2]}, "source": "https://example.org"}
    assert manifest.files[0].extra == {"compression_hint": "none"}
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest
    assert json.loads(manifest.to_json()) == data


def test_writer_extra_keys_reach_the_manifest(tmp_path: Path) -> None:
    target = tmp_path / "x.dbtpl"
    with TemplateWriter(target, engine="sqlite", name="x", extra={"origin": "test"}) as writer:
        writer.commit("3.45", {})
    assert read_manifest(target).extra == {"origin": "test"}


def test_empty_payload_file_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "empty.dbtpl"
    with TemplateWriter(target, engine="postgresql", name="empty") as writer:
        writer.open("empty.sql").close()
        writer.commit("15", {})
    with TemplateReader(target) as reader, reader.open("empty.sql") as stream:
        assert stream.read() == b""


# --------------------------------------------------------------------------- atomic writer


def test_exception_inside_with_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), TemplateWriter(
        tmp_path / "x.dbtpl", engine="postgresql", name="x"
    ) as writer:
        with writer.open("a.sql") as stream:
            stream.write(b"SELECT 1;\n")
        raise RuntimeError("dump failed")
    assert os.listdir(tmp_path) == []


def test_no_commit_leaves_nothing(tmp_path: Path) -> None:
    with TemplateWriter(tmp_path / "x.dbtpl", engine="postgresql", name="x") as writer:
        writer.open("a.sql").write(b"half")
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "shop.dbtpl"
    target.write_bytes(b"old template")
    with pytest.raises(KeyboardInterrupt), TemplateWriter(
        target, engine="postgresql", name="x"
    ) as writer:
        writer.open("a.sql").write(b"SELECT 1;")
        raise KeyboardInterrupt
    with pytest.raises(TemplateError, match="stats"), TemplateWriter(
        target, engine="postgresql", name="x"
    ) as writer:
        with writer.open("a.sql") as stream:
            stream.write(b"SELECT 1;")
        writer.commit("15", {"tables": "many"})  # type: ignore[dict-item]
    assert target.read_bytes() == b"old template"
    assert os.listdir(tmp_path) == [target.name]


def test_successful_save_replaces_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "shop.dbtpl"
    target.write_bytes(b"old template")
    target.chmod(0o640)
    with TemplateWriter(target, engine="postgresql", name="new") as writer:
        writer.commit("15", {})
    assert read_manifest(target).name == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_writer_refuses_bad_use(tmp_path: Path) -> None:
    for bad in ("Oracle DB", "", "../x", "x" * 41):
        with pytest.raises(TemplateError, match="not an engine name"):
            TemplateWriter(tmp_path / "x.dbtpl", engine=bad, name="x")
    with TemplateWriter(tmp_path / "x.dbtpl", engine="postgresql", name="x") as writer:
        for bad in ("/etc/passwd", "../x.sql", "a\\b.sql", "C:/x.sql", "manifest.json", "d/"):
            with pytest.raises(TemplateError):
                writer.open(bad)
        first = writer.open("a.sql")
        with pytest.raises(TemplateError, match=r"finish writing a\.sql"):
            writer.open("b.sql")
        with pytest.raises(TemplateError, match="still open"):
            writer.commit("15", {})
        first.close()
        with pytest.raises(TemplateError, match="already written"):
            writer.open("a.sql")
    assert os.listdir(tmp_path) == []


def test_writer_enforces_size_limit(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="size limit of 100 bytes"), TemplateWriter(
        tmp_path / "x.dbtpl", engine="postgresql", name="x", max_size=100
    ) as writer, writer.open("a.sql") as stream:
        stream.write(b"x" * 60)
        stream.write(b"x" * 60)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- refusals


def test_refuses_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "shop.dbtpl"
    path.write_text("CREATE TABLE t (x int);\n")
    assert refusal(path).startswith("not a .dbtpl file: shop.dbtpl")
    path.write_bytes(b"")
    assert refusal(path).startswith("not a .dbtpl file: shop.dbtpl")
    assert "no such file" in refusal(tmp_path / "missing.dbtpl")


def test_refuses_missing_manifest(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "shop.dbtpl", [("data.sql", b"x")])
    assert refusal(path) == "not a .dbtpl file: shop.dbtpl has no manifest.json"


def test_refuses_bad_json(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "shop.dbtpl", [], '{"format": "dbtpl",')
    assert refusal(path).startswith("shop.dbtpl: manifest.json is not valid JSON (line 1")
    path = build_zip(tmp_path / "list.dbtpl", [], "[1, 2]")
    assert "must hold a JSON object" in refusal(path)
    dup = '{"format": "dbtpl", "format": "dbtpl"}'
    path = build_zip(tmp_path / "dup.dbtpl", [], dup)
    assert "has the key 'format' twice" in refusal(path)


@pytest.mark.parametrize("key", ["format", "format_version", "engine", "name", "files"])
def test_refuses_missing_key(tmp_path: Path, key: str) -> None:
    data = manifest_dict({})
    del data[key]
    path = build_zip(tmp_path / "shop.dbtpl", [], data)
    assert refusal(path) == f"shop.dbtpl: manifest.json has no {key!r} key"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"format": "zip"}, "key 'format' is 'zip'"),
        ({"format_version": "1"}, "key 'format_version' must be a positive integer"),
        ({"name": 7}, "key 'name' must be a string, not a number"),
        ({"created_at": "yesterday"}, "key 'created_at' is not an ISO 8601 timestamp"),
        ({"stats": {"rows": 1.5}}, "key 'stats.rows' must be an integer"),
        ({"files": [{"path": "a.sql", "sha256": "zz", "size": 1}]}, "files[0].sha256"),
        ({"files": [{"path": "a.sql", "sha256": "0" * 64, "size": -1}]}, "files[0].size"),
    ],
)
def test_refuses_wrong_key(tmp_path: Path, overrides: dict[str, Any], expected: str) -> None:
    path = build_zip(tmp_path / "shop.dbtpl", [], manifest_dict({}, **overrides))
    assert expected in refusal(path)


def test_refuses_malformed_engine_name(tmp_path: Path) -> None:
    path = build_template(tmp_path / "shop.dbtpl", {}, engine="Oracle\x1b[31m")
    assert "key 'engine' must be an engine name" in refusal(path)


def test_accepts_any_engine_name(tmp_path: Path) -> None:
    """The manifest knows no list of engines: a plugin's engine reads like any other.

    Whether it is installed is decided at restore time (tests/test_cli.py).
    """
    path = build_template(tmp_path / "shop.dbtpl", {}, engine="oracle")
    assert read_manifest(path).engine == "oracle"


def test_refuses_future_format_version(tmp_path: Path) -> None:
    path = build_template(tmp_path / "shop.dbtpl", {}, format_version=4, engine="duckdb")
    assert refusal(path) == (
        "shop.dbtpl: template format version 4 is newer than this dbplay understands (3); "
        "update dbplay"
    )


def test_refuses_unlisted_entry(tmp_path: Path) -> None:
    files = {"data.sql": b"SELECT 1;"}
    path = build_zip(
        tmp_path / "shop.dbtpl", [*files.items(), ("run.sh", b"rm -rf ~")], manifest_dict(files)
    )
    assert refusal(path) == "shop.dbtpl: archive entry run.sh is not listed in manifest.json"


def test_directory_entries_are_allowed(tmp_path: Path) -> None:
    files = {"sql/data.sql": b"SELECT 1;"}
    path = build_zip(
        tmp_path / "shop.dbtpl", [("sql/", b""), *files.items()], manifest_dict(files)
    )
    with TemplateReader(path) as reader:
        assert reader.paths() == ["sql/data.sql"]
        assert reader.verify() == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("../evil.sql", "'..' component"),
        ("sql/../../evil.sql", "'..' component"),
        ("sql\\evil.sql", "backslash"),
        ("C:/evil.sql", "drive letter"),
        ("a//b.sql", "'empty' component"),
    ],
)
def test_refuses_unsafe_entry_names(tmp_path: Path, name: str, reason: str) -> None:
    path = build_zip(tmp_path / "shop.dbtpl", [(name, b"x")], manifest_dict({}))
    message = refusal(path)
    assert message.startswith("shop.dbtpl: archive entry")
    assert reason in message
    # The same path listed in the manifest is refused as well.
    listed = build_zip(tmp_path / "listed.dbtpl", [], manifest_dict({name: b"x"}))
    assert reason in refusal(listed)


def test_refuses_duplicate_entries(tmp_path: Path) -> None:
    files = {"data.sql": b"SELECT 1;"}
    path = build_zip(
        tmp_path / "shop.dbtpl", [*files.items(), ("data.sql", b"DROP x;")], manifest_dict(files)
    )
    assert refusal(path) == "shop.dbtpl: archive entry data.sql appears twice"
    data = manifest_dict(files)
    data["files"] *= 2
    path = build_zip(tmp_path / "twice.dbtpl", list(files.items()), data)
    assert "lists the payload file 'data.sql' twice" in refusal(path)


def test_refuses_listed_but_missing_file(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "shop.dbtpl", [], manifest_dict({"data.sql": b"x"}))
    assert refusal(path) == (
        "shop.dbtpl: payload file data.sql is listed in manifest.json but missing from the archive"
    )


def test_refuses_size_mismatch(tmp_path: Path) -> None:
    data = manifest_dict({"data.sql": b"x" * 100})
    path = build_zip(tmp_path / "shop.dbtpl", [("data.sql", b"x" * 120)], data)
    assert refusal(path) == "shop.dbtpl: payload file data.sql is 120 bytes, manifest says 100"


def test_hash_mismatch_is_found_when_the_stream_ends(tmp_path: Path) -> None:
    good, altered = b"SELECT 1;\n" * 1000, b"SELECT 2;\n" * 1000
    data = manifest_dict({"data.sql": good})
    path = build_zip(tmp_path / "shop.dbtpl", [("data.sql", altered)], data)
    with TemplateReader(path) as reader:
        with reader.open("data.sql") as stream:
            assert stream.read(10) == b"SELECT 2;\n"  # streaming: no check before the end
            with pytest.raises(TemplateError) as info:
                stream.read()
            assert str(info.value) == (
                "shop.dbtpl: payload file data.sql does not match its SHA-256 in manifest.json "
                "(damaged or altered)"
            )
            with pytest.raises(TemplateError):  # keeps failing, never a quiet end of file
                stream.read()
        assert reader.verify() == [str(info.value)]
        with pytest.raises(TemplateError, match=r"no payload file named 'other\.sql'"):
            reader.open("other.sql")


def test_damaged_archives_are_refused(tmp_path: Path) -> None:
    payload = os.urandom(20_000)
    path = build_template(tmp_path / "shop.dbtpl", {"data.bin": payload})
    blob = path.read_bytes()
    truncated = tmp_path / "cut.dbtpl"
    truncated.write_bytes(blob[: len(blob) // 2])
    assert refusal(truncated) == (
        "not a .dbtpl file: cut.dbtpl is not a ZIP archive (or it is truncated)"
    )
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("data.bin")
    middle = info.header_offset + 30 + len("data.bin") + info.compress_size // 2
    flipped = bytearray(blob)
    flipped[middle] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with TemplateReader(path) as reader:
        [problem] = reader.verify()
    assert problem.startswith("shop.dbtpl: payload file data.bin ")


def test_refuses_manifest_over_its_cap(tmp_path: Path) -> None:
    data = manifest_dict({}, padding="x" * (1024**2))
    path = build_zip(tmp_path / "shop.dbtpl", [], data)
    assert refusal(path) == "shop.dbtpl: manifest.json is larger than 1 MiB"


# --------------------------------------------------------------------------- size limits


def test_size_limit_refuses_before_reading(tmp_path: Path) -> None:
    files = {"a.sql": b"a" * 600, "b.sql": b"b" * 600}
    path = build_template(tmp_path / "shop.dbtpl", files)
    assert refusal(path, max_size=1000) == (
        "shop.dbtpl: the payload is 1.2 KiB, over the template size limit of 1000 bytes "
        "(set DBPLAY_MAX_TEMPLATE_SIZE to allow more)"
    )
    with TemplateReader(path, max_size=1200) as reader:
        assert reader.verify() == []


def test_size_limit_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_template(tmp_path / "shop.dbtpl", {"a.sql": b"a" * 2000})
    monkeypatch.setenv("DBPLAY_MAX_TEMPLATE_SIZE", "1K")
    assert "over the template size limit of 1 KiB" in refusal(path)
    monkeypatch.setenv("DBPLAY_MAX_TEMPLATE_SIZE", "lots")
    assert refusal(path).startswith("DBPLAY_MAX_TEMPLATE_SIZE: 'lots' is not a size")
    monkeypatch.delenv("DBPLAY_MAX_TEMPLATE_SIZE")
    assert max_template_size() == DEFAULT_MAX_SIZE == 4 * 1024**3


def test_parse_and_format_sizes() -> None:
    assert parse_size("1048576") == 1024**2
    assert parse_size("500M") == 500 * 1024**2
    assert parse_size("4G") == parse_size("4GiB") == parse_size("4 gb") == 4 * 1024**3
    assert parse_size("1.5k") == 1536
    for bad in ("", "G", "-1", "0", "4X", "1.2.3M"):
        with pytest.raises(TemplateError):
            parse_size(bad)
    assert format_size(4 * 1024**3) == "4 GiB"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(120) == "120 bytes"


def test_compressible_payload_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    zeros = b"\0" * (64 * 1024**2)
    path = build_template(tmp_path / "bomb.dbtpl", {"bomb.sql": zeros})
    assert path.stat().st_size < 1024**2
    started = time.monotonic()
    assert "over the template size limit of 1 MiB" in refusal(path, max_size=1024**2)
    assert time.monotonic() - started < 0.5


def test_bomb_behind_lying_headers_stops_while_streaming(tmp_path: Path) -> None:
    """Headers and manifest claim 1000 bytes; the deflated stream holds 64 MiB of zeros."""
    zeros = b"\0" * (64 * 1024**2)
    data = manifest_dict({"bomb.sql": zeros[:1000]})
    path = build_zip(tmp_path / "bomb.dbtpl", [("bomb.sql", zeros)], data)
    patch_declared_size(path, "bomb.sql", 1000)
    with TemplateReader(path, max_size=1024**2) as reader, reader.open("bomb.sql") as stream:
        with pytest.raises(TemplateError) as info:
            while stream.read(4096):
                pass
        assert str(info.value) == (
            "bomb.dbtpl: payload file bomb.sql is damaged (Bad CRC-32 for file 'bomb.sql')"
        )
        assert stream.raw.bytes_read <= 1000 + 128 * 1024  # type: ignore[attr-defined]


def test_stream_stops_past_declared_size_without_reading_everything(tmp_path: Path) -> None:
    """The counting guard on its own, over a real gzip bomb that has no ZIP headers to trust."""
    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as out:
        chunk = b"\0" * (1024**2)
        for _ in range(64):
            out.write(chunk)
    entry = Manifest.from_dict(manifest_dict({"bomb.sql": b"\0" * 1000})).files[0]
    with gzip.open(bomb, "rb") as raw:
        guarded = _CheckedStream(raw, entry, "bomb.dbtpl")
        with io.BufferedReader(guarded) as stream, pytest.raises(TemplateError) as info:
            stream.read()
    assert str(info.value).startswith("bomb.dbtpl: payload file bomb.sql is at least ")
    assert str(info.value).endswith("bytes, manifest says 1000")
    assert guarded.bytes_read <= 1000 + 128 * 1024


def test_stream_reports_short_file(tmp_path: Path) -> None:
    entry = Manifest.from_dict(manifest_dict({"a.sql": b"x" * 100})).files[0]
    guarded = _CheckedStream(io.BytesIO(b"x" * 60), entry, "shop.dbtpl")
    with io.BufferedReader(guarded) as stream, pytest.raises(TemplateError) as info:
        stream.read()
    assert str(info.value) == "shop.dbtpl: payload file a.sql is 60 bytes, manifest says 100"
    long = _CheckedStream(io.BytesIO(b"x" * 120), entry, "shop.dbtpl")
    with io.BufferedReader(long) as stream, pytest.raises(TemplateError) as info:
        stream.read()
    assert str(info.value) == "shop.dbtpl: payload file a.sql is 120 bytes, manifest says 100"
