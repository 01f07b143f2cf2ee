"""Format version 3: large payload files as zstd frames in stored entries.

Round trip, older (deflated) templates still open, and a damaged, oversized or
mislabelled zstd member is refused with one line naming the file; a failed save leaves
no file behind.
"""

from __future__ import annotations

import hashlib
import json
import random
import zipfile
from pathlib import Path

import pytest
import zstandard

from dbplay_desktop.templates import writer as template_writer
from dbplay_desktop.templates.container import TemplateError, TemplateReader, TemplateWriter
from dbplay_desktop.templates.operations import verify_template

ROW = b"42\tsome text\t{\"page\": \"/p/1\", \"ms\": 7}\n"
BIG = b"COPY t (a, b, c) FROM stdin;\n" + ROW * 60_000 + b"\\.\n"  # > ZSTD_FROM


def save(path: Path, payload: bytes, **kwargs: object) -> Path:
    with TemplateWriter(path, engine="postgresql", name="big", **kwargs) as writer:
        with writer.open("dump.sql") as stream:
            for at in range(0, len(payload), 65536):
                stream.write(payload[at : at + 65536])
        writer.commit("16.2", {"tables": 1})
    return path


def members(path: Path) -> tuple[dict, dict[str, zipfile.ZipInfo]]:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        return manifest, {info.filename: info for info in archive.infolist()}


def rewrite(path: Path, out: Path, payload: bytes, manifest: dict) -> Path:
    """The template at ``path`` with dump.sql's stored bytes and the manifest replaced."""
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("dump.sql", payload, compress_type=zipfile.ZIP_STORED)
        archive.writestr("manifest.json", json.dumps(manifest))
    return out


def refusal(path: Path) -> str:
    with (
        pytest.raises(TemplateError) as caught,
        TemplateReader(path) as reader,
        reader.open("dump.sql") as stream,
    ):
        while stream.read(1 << 20):
            pass
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_large_payload_round_trips_as_zstd(tmp_path: Path) -> None:
    path = save(tmp_path / "big.dbtpl", BIG)
    manifest, infos = members(path)
    assert manifest["format_version"] == 3
    assert manifest["files"] == [{
        "path": "dump.sql", "sha256": hashlib.sha256(BIG).hexdigest(), "size": len(BIG),
        "compression": "zstd",
    }]
    assert infos["dump.sql"].compress_type == zipfile.ZIP_STORED
    assert infos["dump.sql"].file_size < len(BIG) // 10
    with zipfile.ZipFile(path) as archive:
        frame = archive.read("dump.sql")
    assert zstandard.ZstdDecompressor().decompressobj().decompress(frame) == BIG
    with TemplateReader(path) as reader:
        assert reader.manifest.files[0].compression == "zstd"
        with reader.open("dump.sql") as stream:
            assert stream.read() == BIG
        assert reader.verify() == []
    assert verify_template(path) == []


def test_small_payload_stays_deflated_version_1(tmp_path: Path) -> None:
    path = save(tmp_path / "small.dbtpl", b"SELECT 1;\n")
    manifest, infos = members(path)
    assert manifest["format_version"] == 1 and "compression" not in manifest["files"][0]
    assert infos["dump.sql"].compress_type == zipfile.ZIP_DEFLATED


def test_large_payload_is_deflated_without_zstandard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(template_writer, "_zstd_compressor", lambda: None)
    path = save(tmp_path / "old.dbtpl", BIG)
    manifest, infos = members(path)
    assert manifest["format_version"] == 1
    assert infos["dump.sql"].compress_type == zipfile.ZIP_DEFLATED
    with TemplateReader(path) as reader, reader.open("dump.sql") as stream:
        assert stream.read() == BIG


def test_damaged_zstd_member_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path / "big.dbtpl", BIG)
    manifest, _ = members(path)
    with zipfile.ZipFile(path) as archive:
        frame = bytearray(archive.read("dump.sql"))
    flipped = bytearray(frame)
    flipped[len(flipped) // 2] ^= 0xFF
    bad = rewrite(path, tmp_path / "flip.dbtpl", bytes(flipped), manifest)
    message = refusal(bad)
    assert message.startswith("flip.dbtpl: payload file dump.sql ")
    assert "damaged" in message or "does not match its SHA-256" in message
    garbage = rewrite(path, tmp_path / "tail.dbtpl", bytes(frame) + b"junk" * 10, manifest)
    assert "tail.dbtpl: payload file dump.sql is damaged" in refusal(garbage)
    cut = rewrite(path, tmp_path / "cut.dbtpl", bytes(frame[: len(frame) // 2]), manifest)
    assert f"manifest says {len(BIG)}" in refusal(cut)
    assert verify_template(cut)[0].startswith("cut.dbtpl: payload file dump.sql is ")


def test_oversized_zstd_member_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path / "big.dbtpl", BIG)
    manifest, _ = members(path)
    bomb = zstandard.ZstdCompressor().compress(BIG + b"x" * 1_000_000)
    over = rewrite(path, tmp_path / "bomb.dbtpl", bomb, manifest)
    message = refusal(over)
    assert message.startswith("bomb.dbtpl: payload file dump.sql is at least ")
    assert message.endswith(f"bytes, manifest says {len(BIG)}")
    # More stored bytes than the declared size can compress to: refused on opening.
    manifest["files"][0]["size"] = 10
    manifest["files"][0]["sha256"] = hashlib.sha256(b"0123456789").hexdigest()
    noise = zstandard.ZstdCompressor().compress(random.Random(3).randbytes(300_000))
    huge = rewrite(path, tmp_path / "huge.dbtpl", noise, manifest)
    with pytest.raises(TemplateError, match=r"holds .* bytes of zstd data, more than 10 bytes"):
        TemplateReader(huge)


def test_zstd_needs_a_stored_entry_and_a_known_method(tmp_path: Path) -> None:
    path = save(tmp_path / "big.dbtpl", BIG)
    manifest, _ = members(path)
    with zipfile.ZipFile(path) as archive:
        frame = archive.read("dump.sql")
    deflated = tmp_path / "deflated.dbtpl"
    with zipfile.ZipFile(deflated, "w") as archive:
        archive.writestr("dump.sql", frame, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(TemplateError, match=r"declared zstd .* is not stored"):
        TemplateReader(deflated)
    manifest["files"][0]["compression"] = "xz"
    unknown = rewrite(path, tmp_path / "xz.dbtpl", frame, manifest)
    with pytest.raises(TemplateError, match="compression' is 'xz'; this dbplay knows only 'zstd'"):
        TemplateReader(unknown)
    # Before version 3 the key means nothing: the entry is read as ZIP says (and fails).
    manifest["files"][0]["compression"] = "zstd"
    manifest["format_version"] = 2
    older = rewrite(path, tmp_path / "v2.dbtpl", frame, manifest)
    with pytest.raises(TemplateError, match=f"is {len(frame)} bytes, manifest says"):
        TemplateReader(older)


def test_failed_zstd_save_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "big.dbtpl"
    with (
        pytest.raises(RuntimeError),
        TemplateWriter(target, engine="postgresql", name="x") as writer,
        writer.open("dump.sql") as stream,
    ):
        stream.write(BIG)
        raise RuntimeError("dump failed")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TemplateError, match="over the template size limit"):
        save(target, BIG, max_size=len(BIG) - 1)
    assert list(tmp_path.iterdir()) == []
