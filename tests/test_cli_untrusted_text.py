"""The command line prints template and server text escaped, and names the failing template.

A template's name, description and payload and a server's messages must not reach the
terminal as control sequences: no retitling, no cleared screen, no ``\\r`` that overwrites
an error with a fake ``ok``.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbplay_desktop import cli
from dbplay_desktop.templates.container import TemplateWriter
from tests.helpers import craft_template, drop_sandbox, scratch_database, with_database
from tests.test_cli import assert_one_line_error, run_dbplay

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rshop.dbtpl: ok\n\x9b31m\u202eexe.txt\x00\x08"
# What a terminal must never receive from dbplay.
RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\x00", "\x08")


def assert_no_raw_controls(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal: {text!r}"


def hostile_template(path: Path, payload: bytes = b"SELECT 1;\n") -> Path:
    with TemplateWriter(path, engine="postgresql", name=f"Shop{HOSTILE}",
                        description=f"line one\n{HOSTILE}") as writer:
        with writer.open("dump.sql") as out:
            out.write(payload)
        writer.commit("15.4\x1b[5m", {f"rows{HOSTILE}": 1})
    return path


def test_info_escapes_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = hostile_template(tmp_path / "shop.dbtpl")
    assert cli.main(["template", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert_no_raw_controls(out)
    lines = out.splitlines()
    assert lines[0].startswith("name:        Shop\\x1b]0;pwned\\x07\\x1b[2J\\rshop.dbtpl: ok\\n")
    assert "\\u202eexe.txt" in lines[0]
    assert lines[1].startswith("description: line one\\n\\x1b]0;pwned")
    # Each field keeps its one line: nothing injected a line of its own.
    assert [line.split(":")[0] for line in lines[:7]] == [
        "name", "description", "engine", "created", "app version", "format", "size",
    ]
    assert not any(line.startswith("shop.dbtpl: ok") for line in lines)


def test_info_json_is_exact_data_and_safe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_template(tmp_path / "shop.dbtpl")
    assert cli.main(["template", "info", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert_no_raw_controls(out)
    info = json.loads(out)
    assert info["name"] == f"Shop{HOSTILE}"
    assert info["description"] == f"line one\n{HOSTILE}"


def test_verify_escapes_findings(tmp_path: Path) -> None:
    payload = f"COPY (SELECT 1) TO PROGRAM 'x{HOSTILE}';\n".encode()
    path = hostile_template(tmp_path / "shop.dbtpl", payload)
    result = run_dbplay("template", "verify", str(path))
    assert result.returncode == 1
    assert_no_raw_controls(result.stdout + result.stderr)
    [finding] = result.stdout.splitlines()
    assert finding.startswith("dump.sql:1:")
    assert "\\x1b]0;pwned\\x07" in finding
    assert_one_line_error(result.stderr, "shop.dbtpl: 1 problem found")


def test_error_lines_escape_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "bad\x1b[2Jname.dbtpl"
    path.write_bytes(b"not a zip")
    result = run_dbplay("template", "info", str(path))
    assert result.returncode == 1
    assert_no_raw_controls(result.stderr)
    assert_one_line_error(result.stderr, "bad\\x1b[2Jname.dbtpl")


def test_progress_label_is_escaped() -> None:
    from dbplay_desktop.progress import TerminalProgress

    assert TerminalProgress("Restoring \x1b]0;x\x07").describe(1, None) == (
        "Restoring \\x1b]0;x\\x07: 1 B"
    )


def test_a_driver_error_shows_its_message_not_its_class() -> None:
    assert cli._one_line(psycopg.errors.RaiseException("boom\nCONTEXT: at COMMIT")) == "boom"
    assert cli._one_line(ValueError("odd")).startswith("unexpected ValueError: odd")


# --------------------------------------------------------------------------- real server

RAISE = "DO $$ BEGIN RAISE EXCEPTION E'failed\\x1b]0;pwned\\x07\\rshop.dbtpl: ok\\u202e'; END $$;"


@pytest.fixture
def odd_db(pg_admin_uri: str) -> Iterator[str]:
    with scratch_database(
        pg_admin_uri,
        "cli_odd",
        "CREATE TABLE t (\"c\x1b[2J\" text);"
        "INSERT INTO t VALUES (E'a\\x1b]0;pwned\\x07\\rok\\u202e\\x01');",
    ) as uri:
        yield uri


def test_server_error_from_a_live_connection_shows_its_message(pg_admin_uri: str) -> None:
    with (
        psycopg.connect(pg_admin_uri, autocommit=True) as conn,
        pytest.raises(psycopg.Error) as info,
    ):
        conn.execute("DO $$ BEGIN RAISE EXCEPTION 'at commit'; END $$")
    assert cli._one_line(info.value) == "at commit"


def test_query_table_escapes_values_and_names(odd_db: str) -> None:
    result = run_dbplay("query", "--source", odd_db, "SELECT * FROM t")
    assert result.returncode == 0, result.stderr
    assert_no_raw_controls(result.stdout)
    header, _rule, row, footer = result.stdout.splitlines()
    assert header.strip() == "c\\x1b[2J"
    assert row.strip() == "a\\x1b]0;pwned\\x07\\rok\\u202e\\x01"
    assert footer == "(1 row)"


def test_query_csv_stays_exact_and_json_decodes_exact(odd_db: str) -> None:
    value = "a\x1b]0;pwned\x07\rok\u202e\x01"
    csv_out = subprocess.run(
        [sys.executable, "-m", "dbplay_desktop", "query", "--source", odd_db, "--format", "csv",
         "SELECT * FROM t"], capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert csv_out.returncode == 0, csv_out.stderr
    rows = list(csv.reader(io.StringIO(csv_out.stdout.decode(), newline="")))
    assert rows == [["c\x1b[2J"], [value]]
    json_out = run_dbplay("query", "--source", odd_db, "--format", "json", "SELECT * FROM t")
    assert json_out.returncode == 0, json_out.stderr
    assert_no_raw_controls(json_out.stdout)
    document = json.loads(json_out.stdout)
    assert document["rows"] == [[value]]
    assert document["columns"][0]["name"] == "c\x1b[2J"


@pytest.mark.parametrize("debug", [False, True])
def test_query_errors_and_notices_are_escaped(odd_db: str, debug: bool) -> None:
    notice = "DO $$ BEGIN RAISE NOTICE E'note\\x1b]0;t\\x07'; END $$;"
    args = ["--debug"] if debug else []
    result = run_dbplay("query", *args, "--source", odd_db, notice + "\n" + RAISE)
    assert result.returncode == 1
    assert_no_raw_controls(result.stdout + result.stderr)
    assert "note\\x1b]0;t\\x07" in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: statement 2 (line 2, column 1): failed\\x1b]0;pwned\\x07")
    assert "\\u202e" in last
    if not debug:
        assert "Traceback" not in result.stderr


def test_a_failed_restore_names_the_template_once(tmp_path: Path, pg_admin_uri: str) -> None:
    path = craft_template(tmp_path / "shop.dbtpl", f"CREATE TABLE t (id int);\n{RAISE}\n".encode())
    target = f"cli_raise_{secrets.token_hex(4)}"
    try:
        result = run_dbplay("template", "restore", str(path), "--target",
                            with_database(pg_admin_uri, target))
    finally:
        drop_sandbox(pg_admin_uri, target)
    assert result.returncode == 1
    assert_no_raw_controls(result.stderr)
    line = assert_one_line_error(result.stderr, "error: shop.dbtpl: dump.sql:2: failed\\x1b]0;")
    assert line.count("shop.dbtpl") == 2  # the prefix, and the text the payload raised
    assert "RaiseException" not in line
