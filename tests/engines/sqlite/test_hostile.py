"""Untrusted payloads: refused by the scan and at restore, with file and line, nothing left."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbplay_desktop.engines.base import RestoreError, UnsafeContent
from dbplay_desktop.templates.container import TemplateReader
from dbplay_desktop.templates.operations import verify_template
from tests.helpers import craft_template

HEAD = "CREATE TABLE t (x);\nINSERT INTO t VALUES (1);\n"


def _hostile(tmp_path: Path) -> dict[str, str]:
    victim = tmp_path / "victim.db"
    return {
        "attach": f"ATTACH DATABASE '{victim}' AS v;\nCREATE TABLE v.t (x);",
        "attach expression": f"ATTACH '{tmp_path}' || '/victim.db' AS v;",
        "attach in a comment-split": f"/* ; */ attach\n'{victim}'\nas v;",
        "detach": "DETACH DATABASE main;",
        "vacuum into": f"VACUUM INTO '{victim}';",
        "vacuum": "VACUUM;",
        "writable_schema": "PRAGMA writable_schema = ON;",
        "writable_schema quoted": "PRAGMA \"writable_schema\" = 1;",
        "schema pragma": "PRAGMA temp.user_version = 3;",
        "journal pragma": "PRAGMA journal_mode = OFF;",
        "load_extension": "SELECT load_extension('/tmp/evil.so');",
        "load_extension quoted": "SELECT \"load_extension\"('/tmp/evil.so');",
        "load_extension in a view": "CREATE VIEW v AS SELECT load_extension('/tmp/evil.so');",
        "readfile": "INSERT INTO t VALUES (readfile('/etc/passwd'));",
        "writefile in a trigger": (
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT writefile('/tmp/x', 'y'); END;"
        ),
        "fts3_tokenizer": "SELECT fts3_tokenizer('simple');",
        "virtual table": "CREATE VIRTUAL TABLE f USING fts5(body);",
        "rollback": "ROLLBACK;",
        "savepoint": "SAVEPOINT s;",
        "schema write": (
            "INSERT INTO sqlite_schema VALUES ('table', 'x', 'x', 0, 'CREATE TABLE x (y)');"
        ),
    }


def _cases(tmp_path: Path):
    return sorted(_hostile(tmp_path).items())


@pytest.mark.parametrize("case", sorted(_hostile(Path("/x"))))
def test_hostile_payload_is_refused_by_verify_and_restore(case, engine, tmp_path, data_dir):
    statement = _hostile(tmp_path)[case]
    template = craft_template(tmp_path / "bad.dbtpl", (HEAD + statement + "\n").encode(),
                              engine="sqlite")
    problems = verify_template(template)
    if case != "schema write":  # SQLite itself refuses it (table may not be modified)
        assert problems and problems[0].startswith("dump.sql:3: "), problems
    target = tmp_path / "restored.db"
    with TemplateReader(template) as reader, pytest.raises(RestoreError) as caught:
        engine.restore(reader, str(target))
    message = str(caught.value)
    assert "dump.sql:3" in message and "\n" not in message
    if case != "schema write":
        assert isinstance(caught.value, UnsafeContent), message
    assert not target.exists()
    assert not (tmp_path / "victim.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.dbtpl"] + (
        ["data"] if data_dir.exists() else []
    )
    with TemplateReader(template) as reader, pytest.raises(RestoreError):
        engine.restore(reader)
    assert engine.list_databases() == []


def test_a_trigger_cannot_attach_when_fired(engine, tmp_path):
    victim = tmp_path / "victim.db"
    payload = (
        HEAD + f"CREATE TRIGGER tr AFTER INSERT ON t BEGIN ATTACH '{victim}' AS v; END;\n"
        "INSERT INTO t VALUES (2);\n"
    )
    template = craft_template(tmp_path / "bad.dbtpl", payload.encode(), engine="sqlite")
    target = tmp_path / "restored.db"
    with TemplateReader(template) as reader, pytest.raises(RestoreError, match=r"dump\.sql:3"):
        engine.restore(reader, str(target))
    assert not target.exists() and not victim.exists()


def test_a_failing_statement_is_located_and_leaves_nothing(engine, tmp_path):
    payload = HEAD + "\nINSERT INTO nowhere VALUES (1);\n"
    template = craft_template(tmp_path / "bad.dbtpl", payload.encode(), engine="sqlite")
    target = tmp_path / "restored.db"
    with TemplateReader(template) as reader, \
            pytest.raises(RestoreError, match=r"dump.sql:4: no such table: nowhere"):
        engine.restore(reader, str(target))
    assert not target.exists()
    assert verify_template(template) == []  # not unsafe, only wrong


def test_a_runaway_statement_is_stopped_by_cancel(engine, tmp_path):
    payload = HEAD + (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"
        " INSERT INTO t SELECT i FROM n;\n"
    )
    template = craft_template(tmp_path / "slow.dbtpl", payload.encode(), engine="sqlite")
    calls = []

    def progress(done, total):
        calls.append(done)
        return len(calls) > 3  # let it start, then stop it while the statement runs

    target = tmp_path / "restored.db"
    with TemplateReader(template) as reader, pytest.raises(RestoreError, match="cancelled"):
        engine.restore(reader, str(target), progress)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sqlite3_shell_dump_with_its_transaction_restores(engine, tmp_path):
    payload = (
        "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE t (x);\n"
        "INSERT INTO t VALUES(1);\nCOMMIT;\n"
    )
    template = craft_template(tmp_path / "shell.dbtpl", payload.encode(), engine="sqlite")
    assert verify_template(template) == []
    with TemplateReader(template) as reader:
        engine.restore(reader, str(tmp_path / "shell.db"))
    assert (tmp_path / "shell.db").stat().st_size > 0


def test_a_payload_that_is_not_utf8_is_refused(engine, tmp_path):
    template = craft_template(tmp_path / "bin.dbtpl", b"SELECT '\xff\xfe';", engine="sqlite")
    assert any("UTF-8" in p for p in verify_template(template))
    with TemplateReader(template) as reader, pytest.raises(UnsafeContent, match="UTF-8"):
        engine.restore(reader, str(tmp_path / "bin.db"))
    assert not (tmp_path / "bin.db").exists()


@pytest.mark.parametrize(
    "statement",
    [
        "ATTACH '{victim}' AS v",
        "VACUUM INTO '{victim}'",
        "PRAGMA writable_schema = ON",
        "PRAGMA main.journal_mode = OFF",
        "SELECT load_extension('{victim}')",
        "CREATE VIRTUAL TABLE f USING fts5(body)",
        "SAVEPOINT s",
    ],
)
def test_the_authorizer_alone_refuses_what_the_word_check_refuses(statement, tmp_path):
    """The second layer: SQLite's own parser asks the guard, whatever the words said."""
    import sqlite3

    from dbplay_desktop.engines.sqlite.safety import Guard, harden

    victim = tmp_path / "victim.db"
    conn = sqlite3.connect(tmp_path / "guarded.db", isolation_level=None)
    harden(conn)
    guard = Guard()
    conn.set_authorizer(guard)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute(statement.format(victim=victim))
    assert guard.denied
    conn.execute("PRAGMA user_version = 7")
    assert conn.execute("PRAGMA user_version").fetchone() == (7,)
    conn.close()
    assert not victim.exists()


def test_a_payload_cannot_fill_the_disk(engine, tmp_path):
    payload = HEAD + (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)"
        " INSERT INTO t SELECT zeroblob(100000) FROM n;\n"
    )
    template = craft_template(tmp_path / "big.dbtpl", payload.encode(), engine="sqlite")
    target = tmp_path / "restored.db"
    with TemplateReader(template) as reader, pytest.raises(RestoreError, match="full"):
        engine.restore(reader, str(target))
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
