"""Save, restore, verify and describe templates through the operations the CLI and UI share."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbplay_desktop.engines.base import EngineError, RestoreError, UnsupportedUri
from dbplay_desktop.templates.container import TemplateError
from dbplay_desktop.templates.operations import (
    database_from_uri,
    restore_template,
    save_template,
    template_info,
    verify_template,
)
from tests.helpers import (
    SAFE_SQL,
    UNSAFE_SQL,
    craft_template,
    database_exists,
    drop_sandbox,
    scratch_database,
    tamper,
    with_database,
)

# --------------------------------------------------------------------------- no server


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("postgresql://u:p@localhost:5432/shop", "shop"),
        ("postgres://u@h/My%20Db", "My Db"),
        ("postgresql:///shop?host=/var/run/postgresql", "shop"),
        ("postgresql://u@h/?dbname=shop", "shop"),
        ("sqlite:///abs/file.db", "/abs/file.db"),
    ],
)
def test_database_from_uri(uri: str, database: str) -> None:
    assert database_from_uri(uri) == database


@pytest.mark.parametrize("uri", ["postgresql://u:secret@localhost:5432/", "postgresql://h"])
def test_database_from_uri_refuses_a_uri_without_database(uri: str) -> None:
    with pytest.raises(UnsupportedUri) as info:
        database_from_uri(uri)
    assert "names no database" in str(info.value)
    assert "secret" not in str(info.value)


def test_template_info(tmp_path: Path) -> None:
    path = craft_template(tmp_path / "t.dbtpl")
    info = template_info(path)
    assert info["engine"] == "postgresql"
    assert info["engine_display_name"] == "PostgreSQL"
    assert info["name"] == "crafted"
    assert info["description"] == "made by a test"
    assert info["engine_version"] == "15.4"
    assert info["stats"] == {"tables": 1}
    assert info["payload_size"] == len(SAFE_SQL)
    assert [entry["path"] for entry in info["files"]] == ["dump.sql"]
    assert info["file_size"] == path.stat().st_size


def test_template_info_refuses_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.dbtpl"
    garbage.write_bytes(b"\x00not a zip at all" * 10)
    with pytest.raises(TemplateError):
        template_info(garbage)


def test_verify_clean_template(tmp_path: Path) -> None:
    assert verify_template(craft_template(tmp_path / "t.dbtpl")) == []


def test_verify_reports_unsafe_statement_with_its_line(tmp_path: Path) -> None:
    problems = verify_template(craft_template(tmp_path / "t.dbtpl", UNSAFE_SQL))
    assert len(problems) == 1
    assert problems[0].startswith("dump.sql:2:")
    assert "PROGRAM" in problems[0].upper()


def test_verify_reports_altered_payload(tmp_path: Path) -> None:
    path = craft_template(tmp_path / "t.dbtpl")
    tamper(path, SAFE_SQL.replace(b"'a'", b"'b'"))
    problems = verify_template(path)
    assert len(problems) == 1
    assert "SHA-256" in problems[0]


def test_restore_refuses_a_template_of_another_engine(tmp_path: Path) -> None:
    path = craft_template(tmp_path / "m.dbtpl", b"", engine="sqlite")
    with pytest.raises(TemplateError) as info:
        restore_template(path, "postgresql://nobody@127.0.0.1:1/copy")
    message = str(info.value)
    assert "SQLite template" in message and "PostgreSQL" in message
    assert "\n" not in message


def test_restore_of_an_engine_not_installed_says_so(tmp_path: Path) -> None:
    path = craft_template(tmp_path / "m.dbtpl", b"{}", engine="nosuchengine")
    with pytest.raises(UnsupportedUri) as info:
        restore_template(path, "postgresql://nobody@127.0.0.1:1/copy")
    message = str(info.value)
    assert "'nosuchengine' engine" in message and "not installed" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- real server


@pytest.fixture
def source_db(pg_admin_uri: str) -> Iterator[str]:
    """A small database with a table, a view and a sequence; dropped afterwards."""
    with scratch_database(
        pg_admin_uri,
        "ops_src",
        "CREATE TABLE item (id serial PRIMARY KEY, label text NOT NULL, price numeric(8,2));"
        "INSERT INTO item (label, price) VALUES ('tab\there', 1.50), (E'line\\nbreak', NULL),"
        " ('\\N literal', 3);"
        "CREATE VIEW cheap AS SELECT * FROM item WHERE price < 2;",
    ) as uri:
        yield uri


def _rows(uri: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT id, label, price FROM item ORDER BY id").fetchall()


def test_save_and_restore_round_trip(tmp_path: Path, pg_admin_uri: str, source_db: str) -> None:
    out = tmp_path / "shop.dbtpl"
    seen: list[tuple[int, int | None]] = []
    manifest = save_template(
        source_db, out, description="three items", progress=lambda d, t: seen.append((d, t))
    )
    assert out.is_file()
    assert manifest.name == database_from_uri(source_db)
    assert manifest.description == "three items"
    assert manifest.engine == "postgresql"
    assert seen, "the dump reported progress"
    assert verify_template(out) == []

    copy = f"ops_copy_{secrets.token_hex(4)}"
    try:
        assert restore_template(out, with_database(pg_admin_uri, copy)) == copy
        assert _rows(with_database(pg_admin_uri, copy)) == _rows(source_db)
    finally:
        drop_sandbox(pg_admin_uri, copy)


def test_interrupted_save_leaves_no_file(tmp_path: Path, source_db: str) -> None:
    out = tmp_path / "never.dbtpl"

    def interrupt(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_template(source_db, out, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_restore_of_unsafe_template_is_refused_and_creates_nothing(
    tmp_path: Path, pg_admin_uri: str
) -> None:
    marker = Path(f"/tmp/dbplay-ops-{secrets.token_hex(4)}")
    payload = (
        b"CREATE TABLE t (id int);\n"
        + f"COPY (select 1) TO PROGRAM 'touch {marker}';\n".encode()
    )
    path = craft_template(tmp_path / "evil.dbtpl", payload)
    target = f"ops_evil_{secrets.token_hex(4)}"
    with pytest.raises(RestoreError) as info:
        restore_template(path, with_database(pg_admin_uri, target))
    assert "dump.sql:2" in str(info.value)
    assert not marker.exists()
    assert not database_exists(pg_admin_uri, target)


def test_restore_into_non_empty_database_is_refused(
    tmp_path: Path, pg_admin_uri: str, source_db: str
) -> None:
    path = craft_template(tmp_path / "t.dbtpl")
    with pytest.raises(EngineError) as info:
        restore_template(path, source_db)
    assert "not empty" in str(info.value)
    assert len(_rows(source_db)) == 3


def test_failed_restore_drops_the_database_it_created(tmp_path: Path, pg_admin_uri: str) -> None:
    path = craft_template(tmp_path / "broken.dbtpl", b"CREATE TABLE t (id int);\nSELECT nope;\n")
    target = f"ops_broken_{secrets.token_hex(4)}"
    with pytest.raises(RestoreError) as info:
        restore_template(path, with_database(pg_admin_uri, target))
    assert "dump.sql:2" in str(info.value)
    assert not database_exists(pg_admin_uri, target)


def test_a_failed_restore_names_the_template_once(tmp_path: Path, pg_admin_uri: str) -> None:
    """Runtime and scan errors both start with the template's file name, never twice."""
    broken = craft_template(tmp_path / "shop.dbtpl", b"CREATE TABLE t (id int);\nSELECT nope;\n")
    evil = craft_template(tmp_path / "evil.dbtpl", b"CREATE TABLE t (id int);\nLOAD 'x';\n")
    for path, error in ((broken, RestoreError), (evil, RestoreError)):
        target = f"ops_named_{secrets.token_hex(4)}"
        with pytest.raises(error) as info:
            restore_template(path, with_database(pg_admin_uri, target))
        message = str(info.value)
        assert message.startswith(f"{path.name}: "), message
        assert "dump.sql:2: " in message
        assert message.count(path.name) == 1, message
        assert not database_exists(pg_admin_uri, target)


def test_a_driver_error_at_commit_is_a_named_restore_error(
    tmp_path: Path, pg_admin_uri: str
) -> None:
    """A deferred constraint trigger fails inside COMMIT; the error still names the file."""
    payload = b"""CREATE TABLE t (id int);
CREATE FUNCTION no() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
CREATE CONSTRAINT TRIGGER late AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION no();
INSERT INTO t VALUES (1);
"""
    path = craft_template(tmp_path / "late.dbtpl", payload)
    target = f"ops_late_{secrets.token_hex(4)}"
    with pytest.raises(EngineError) as info:
        restore_template(path, with_database(pg_admin_uri, target))
    message = str(info.value)
    assert message.startswith("late.dbtpl: "), message
    assert "refused at commit" in message
    assert "RaiseException" not in message
    assert not database_exists(pg_admin_uri, target)


def test_a_verify_reports_progress_and_can_be_cancelled(tmp_path):
    from dbplay_desktop.engines.base import RestoreError
    from dbplay_desktop.templates.operations import verify_template
    from tests.helpers import craft_template

    payload = b"".join(b"INSERT INTO t VALUES (%d);\n" % i for i in range(30_000))
    path = craft_template(tmp_path / "big.dbtpl", b"CREATE TABLE t (x int);\n" + payload)
    heard: list[tuple[int, int | None]] = []

    def listen(done: int, total: int | None) -> bool:
        heard.append((done, total))
        return False

    assert verify_template(path, progress=listen) == []
    assert heard and heard[-1][1] is not None and heard[-1][0] <= heard[-1][1]
    with pytest.raises(RestoreError, match="cancelled"):
        verify_template(path, progress=lambda done, total: done > 100_000)
