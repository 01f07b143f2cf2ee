"""Hostile ZIP archives: entries a template must not smuggle past the reader."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from dbplay_desktop.templates.container import TemplateReader
from dbplay_desktop.templates.manifest import TemplateError
from tests.helpers import craft_template


def _add_entry(path: Path, info: zipfile.ZipInfo, data: bytes) -> None:
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(info, data)


def test_symbolic_link_entries_are_refused(tmp_path: Path) -> None:
    path = craft_template(tmp_path / "link.dbtpl")
    link = zipfile.ZipInfo("docs/")
    link.filename = "docs"
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    _add_entry(path, link, b"../../etc/passwd")
    with pytest.raises(TemplateError, match="archive entry docs is a symbolic link"):
        TemplateReader(path)


def test_a_name_differing_only_in_case_is_an_unlisted_entry(tmp_path: Path) -> None:
    path = craft_template(tmp_path / "case.dbtpl")
    _add_entry(path, zipfile.ZipInfo("DUMP.sql"), b"COPY t FROM PROGRAM 'id';\n")
    with pytest.raises(TemplateError, match=r"archive entry DUMP\.sql is not listed"):
        TemplateReader(path)


def test_local_header_naming_another_file_is_damage(tmp_path: Path) -> None:
    """The central directory says dump.sql; the bytes read claim to be another file."""
    path = craft_template(tmp_path / "swap.dbtpl")
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x03\x04")  # the first local header: dump.sql
    name_at = at + 30
    assert data[name_at : name_at + 8] == b"dump.sql"
    data[name_at : name_at + 8] = b"evil.sql"
    path.write_bytes(bytes(data))
    with TemplateReader(path) as reader, pytest.raises(TemplateError, match="damaged"):
        reader.open("dump.sql").read()


# --------------------------------------------------------------------------- framing

SCRIPT = b"#!/bin/sh\necho pwned > /tmp/dbplay-polyglot\nexit 0\n"


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param(SCRIPT, id="shell-script"),
        pytest.param(b"\x00", id="one-byte"),
        pytest.param(b"MZ" + b"\x00" * 510, id="exe-stub"),
    ],
)
def test_data_before_the_zip_is_refused(tmp_path: Path, prefix: bytes) -> None:
    """Python's zipfile accepts leading data; a .dbtpl must be nothing but its ZIP."""
    path = craft_template(tmp_path / "shop.dbtpl")
    path.write_bytes(prefix + path.read_bytes())
    with zipfile.ZipFile(path) as archive:  # the premise: zipfile alone would take it
        assert "manifest.json" in archive.namelist()
    with pytest.raises(TemplateError) as info:
        TemplateReader(path)
    assert str(info.value) == (
        f"shop.dbtpl: refused: {len(prefix)} bytes of other data come before the ZIP "
        "archive (a .dbtpl file must start with it)"
    )


def test_leading_data_with_adjusted_offsets_is_refused(tmp_path: Path) -> None:
    """Like ``zip -A``: the offsets are rewritten so the archive is self-consistent."""
    inner = craft_template(tmp_path / "inner.dbtpl")
    path = tmp_path / "shop.dbtpl"
    with path.open("wb") as out:
        out.write(SCRIPT)
        with zipfile.ZipFile(out, "a") as archive, zipfile.ZipFile(inner) as source:
            for info in source.infolist():
                archive.writestr(info, source.read(info))
    with pytest.raises(TemplateError, match="bytes of other data come before the ZIP"):
        TemplateReader(path)


@pytest.mark.parametrize(
    "suffix",
    [
        pytest.param(b"x", id="one-byte"),
        pytest.param(b"\necho pwned\n", id="script"),
        pytest.param(b"\x00" * 4000, id="padding"),
    ],
)
def test_data_after_the_end_record_is_refused(tmp_path: Path, suffix: bytes) -> None:
    path = craft_template(tmp_path / "shop.dbtpl")
    path.write_bytes(path.read_bytes() + suffix)
    with pytest.raises(TemplateError) as info:
        TemplateReader(path)
    assert str(info.value) == (
        f"shop.dbtpl: refused: {len(suffix)} bytes of other data follow the end of the ZIP "
        "archive"
    )


def _with_comment(path: Path, comment: bytes) -> Path:
    craft_template(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.comment = comment
    return path


def test_a_zip_comment_is_allowed(tmp_path: Path) -> None:
    path = _with_comment(tmp_path / "shop.dbtpl", b"written by another tool")
    with TemplateReader(path) as reader:
        assert reader.manifest.name == "crafted"


@pytest.mark.parametrize(
    "comment",
    [
        pytest.param(b"PK\x05\x06" + b"\x00" * 18, id="end-record-at-the-end"),
        pytest.param(b"PK\x05\x06" + b"\x00" * 16 + b"\x05\x00tail!", id="end-record-inside"),
        pytest.param(b"see PK\x06\x06 here", id="zip64-end-record"),
        pytest.param(b"PK\x06\x07", id="zip64-locator"),
    ],
)
def test_a_second_end_record_in_the_comment_is_refused(tmp_path: Path, comment: bytes) -> None:
    """Readers would disagree on where the archive is; one framing check or another refuses."""
    path = _with_comment(tmp_path / "shop.dbtpl", comment)
    with pytest.raises(TemplateError, match=r"^shop\.dbtpl: refused: "):
        TemplateReader(path)


def test_too_many_archive_entries_are_refused(tmp_path: Path) -> None:
    from dbplay_desktop.templates.limits import MAX_ARCHIVE_ENTRIES

    path = craft_template(tmp_path / "shop.dbtpl")
    with zipfile.ZipFile(path, "a") as archive:
        for index in range(MAX_ARCHIVE_ENTRIES):
            archive.writestr(f"d{index}/", b"")
    with pytest.raises(TemplateError) as info:
        TemplateReader(path)
    assert str(info.value) == (
        f"shop.dbtpl: the archive has {MAX_ARCHIVE_ENTRIES + 2} entries; "
        f"at most {MAX_ARCHIVE_ENTRIES} are allowed"
    )
