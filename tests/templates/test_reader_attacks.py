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
