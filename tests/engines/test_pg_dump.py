"""Finding a pg_dump that can dump the server: clear one-line errors when there is none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dbplay_desktop.engines.base import DumpError
from dbplay_desktop.engines.postgres.engine import find_pg_dump
from dbplay_desktop.servers import pg_binaries
from dbplay_desktop.servers.pg_binaries import find_postgres_bin_dirs

needs_pg_dump = pytest.mark.skipif(
    not any((directory / "pg_dump").is_file() for directory in find_postgres_bin_dirs()),
    reason="no pg_dump on this machine",
)


@needs_pg_dump
def test_a_server_newer_than_every_pg_dump_names_both_versions() -> None:
    with pytest.raises(DumpError) as info:
        find_pg_dump(99)
    message = str(info.value)
    assert "\n" not in message
    found = re.match(r"pg_dump (\d+) cannot dump a PostgreSQL 99 server; ", message)
    assert found is not None, message
    assert int(found.group(1)) < 99
    assert "DBPLAY_PG_BIN" in message


@needs_pg_dump
def test_an_installed_pg_dump_is_found() -> None:
    path = find_pg_dump(1)
    assert path.name == "pg_dump" and path.is_file()


def test_no_pg_dump_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBPLAY_PG_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_binaries, "_bundled_dirs", lambda: [])  # nothing came with the app
    with pytest.raises(DumpError) as info:
        find_pg_dump(15, tmp_path, search_system=False)
    message = str(info.value)
    assert message == (
        "pg_dump was not found; install the PostgreSQL client tools or set DBPLAY_PG_BIN"
    )
