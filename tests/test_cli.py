"""The ``dbplay`` command line: exact surface, exit codes, one-line errors, streamed output."""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from dbplay_desktop import __version__, cli
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


def run_dbplay(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m dbplay_desktop ARGS`` in a fresh process, as a script would run it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "dbplay_desktop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def assert_one_line_error(stderr: str, *fragments: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- no server


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dbplay {__version__}"


def test_version_subprocess() -> None:
    result = run_dbplay("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"dbplay {__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["template"],
        ["template", "save", "--out", "x.dbtpl"],
        ["template", "restore", "x.dbtpl"],
        ["template", "info"],
        ["template", "bogus", "x"],
        ["query"],
        ["query", "--source", "postgresql://h/db", "--format", "xml", "select 1"],
        ["query", "--source", "postgresql://h/db", "--limit", "-1", "select 1"],
        ["query", "--source", "postgresql://h/db", "--limit", "many", "select 1"],
        ["query", "--source", "postgresql://h/db", "--file", "q.sql", "select 1"],
        ["--no-such-flag"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert "Traceback" not in err


def test_usage_error_subprocess() -> None:
    result = run_dbplay("template", "save", "--source", "postgresql://h/db")
    assert result.returncode == 2
    assert "--out" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_commands_and_query_formats() -> None:
    assert "template" in run_dbplay("--help").stdout
    help_text = run_dbplay("query", "--help").stdout
    assert "JSON Lines" in help_text
    assert "stderr" in help_text


def test_info_human_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = craft_template(tmp_path / "t.dbtpl")
    assert cli.main(["template", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "crafted" in out and "PostgreSQL 15.4" in out and "dump.sql" in out

    assert cli.main(["template", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["engine"] == "postgresql"
    assert info["name"] == "crafted"
    assert info["files"][0]["size"] == len(SAFE_SQL)


@pytest.mark.parametrize("command", ["info", "verify"])
def test_garbage_file_is_one_line_error(tmp_path: Path, command: str) -> None:
    garbage = tmp_path / "garbage.dbtpl"
    garbage.write_bytes(os.urandom(300))
    result = run_dbplay("template", command, str(garbage))
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "garbage.dbtpl")


def test_missing_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["template", "info", str(tmp_path / "nope.dbtpl")]) == 1
    assert_one_line_error(capsys.readouterr().err, "nope.dbtpl")


def test_unreadable_query_file_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.sql"
    assert cli.main(["query", "--source", "postgresql://h/db", "--file", str(missing)]) == 1
    assert_one_line_error(capsys.readouterr().err, "missing.sql")
    binary = tmp_path / "binary.sql"
    binary.write_bytes(b"select '\xff\xfe'")
    assert cli.main(["query", "--source", "postgresql://h/db", "--file", str(binary)]) == 1
    assert_one_line_error(capsys.readouterr().err, "UTF-8")


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.dbtpl"
    garbage.write_bytes(b"junk")
    for argv in (["--debug", "template", "info"], ["template", "info", "--debug"]):
        result = run_dbplay(*argv, str(garbage))
        assert result.returncode == 1
        assert "Traceback" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_unknown_scheme_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["query", "--source", "nosuchdb://h/x", "select 1"]) == 1
    assert_one_line_error(capsys.readouterr().err, "nosuchdb")


def test_verify_exit_codes(tmp_path: Path) -> None:
    clean = craft_template(tmp_path / "clean.dbtpl")
    result = run_dbplay("template", "verify", str(clean))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout

    unsafe = craft_template(tmp_path / "unsafe.dbtpl", UNSAFE_SQL)
    result = run_dbplay("template", "verify", str(unsafe))
    assert result.returncode == 1
    findings = result.stdout.strip().splitlines()
    assert len(findings) == 1 and findings[0].startswith("dump.sql:2:")
    assert_one_line_error(result.stderr, "1 problem")

    altered = craft_template(tmp_path / "altered.dbtpl")
    tamper(altered, SAFE_SQL + b"DROP TABLE t;\n")
    result = run_dbplay("template", "verify", str(altered))
    assert result.returncode == 1
    assert "dump.sql" in result.stdout


def test_engine_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = craft_template(tmp_path / "m.dbtpl", b"", engine="sqlite")
    assert cli.main(["template", "restore", str(path), "--target", "postgresql://u@h:1/x"]) == 1
    assert_one_line_error(capsys.readouterr().err, "SQLite", "PostgreSQL")


def test_engine_not_installed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A template of an engine this installation lacks: named, with what is installed."""
    path = craft_template(tmp_path / "m.dbtpl", b"{}", engine="nosuchengine")
    assert cli.main(["template", "restore", str(path), "--target", "postgresql://u@h:1/x"]) == 1
    assert_one_line_error(capsys.readouterr().err, "'nosuchengine' engine", "not installed",
                          "postgresql", "sqlite")


def test_files_open_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[list[str], bool]] = []

    def run_app(files: list[str], debug: bool = False) -> int:
        opened.append((files, debug))
        return 0

    window = types.ModuleType("dbplay_desktop.ui.app")
    window.run_app = run_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dbplay_desktop.ui.app", window)
    assert cli.main(["shop.dbtpl", "q.sql"]) == 0
    assert cli.main(["--debug"]) == 0
    assert opened == [(["shop.dbtpl", "q.sql"], False), ([], True)]


def test_window_missing_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dbplay_desktop.ui.app", None)
    assert cli.main(["some.dbtpl"]) == 1
    assert_one_line_error(capsys.readouterr().err, "window")


def test_interrupted_command_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_info", interrupted)
    assert cli.main(["template", "info", str(tmp_path / "x.dbtpl")]) == 130
    assert_one_line_error(capsys.readouterr().err, "interrupted")


def test_progress_only_on_a_terminal() -> None:
    from dbplay_desktop.progress import TerminalProgress, terminal_progress

    assert terminal_progress("Saving", io.StringIO()) is None

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = terminal_progress("Saving", stream, min_interval=0)
    assert isinstance(progress, TerminalProgress)
    progress(1536, None)
    progress(2048, 4096)
    progress.finish()
    text = stream.getvalue()
    assert "Saving: 1.5 KiB" in text and "(50%)" in text
    assert text.endswith("\r")


# --------------------------------------------------------------------------- real server


@pytest.fixture
def shop_db(pg_admin_uri: str) -> Iterator[str]:
    with scratch_database(
        pg_admin_uri,
        "cli_shop",
        "CREATE TABLE item (id int PRIMARY KEY, label text, price numeric(8,2), tags jsonb);"
        "INSERT INTO item VALUES (1, 'plain', 1.50, '{\"a\": [1, 2]}'),"
        " (2, E'two\\nlines', NULL, NULL), (3, 'comma, \"quote\"', 3, '[]');",
    ) as uri:
        yield uri


SELECT_ITEMS = "SELECT id, label, price, tags FROM item ORDER BY id"


def test_save_info_verify_restore_round_trip(
    tmp_path: Path, pg_admin_uri: str, shop_db: str
) -> None:
    out = tmp_path / "shop.dbtpl"
    result = run_dbplay("template", "save", "--source", shop_db, "--out", str(out),
                        "--name", "Shop", "--description", "three items")
    assert result.returncode == 0, result.stderr
    assert out.is_file()
    assert result.stderr == ""  # not a terminal: no progress line

    info = json.loads(run_dbplay("template", "info", str(out), "--json").stdout)
    assert (info["name"], info["description"], info["engine"]) == ("Shop", "three items",
                                                                   "postgresql")
    assert run_dbplay("template", "verify", str(out)).returncode == 0

    copy = f"cli_copy_{secrets.token_hex(4)}"
    try:
        result = run_dbplay("template", "restore", str(out), "--target",
                            with_database(pg_admin_uri, copy))
        assert result.returncode == 0, result.stderr
        assert copy in result.stdout
        original = run_dbplay("query", "--source", shop_db, "--format", "json", SELECT_ITEMS)
        restored = run_dbplay("query", "--source", with_database(pg_admin_uri, copy),
                              "--format", "json", SELECT_ITEMS)
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["rows"] == json.loads(original.stdout)["rows"]
    finally:
        drop_sandbox(pg_admin_uri, copy)


def test_restore_into_non_empty_database_refused(
    tmp_path: Path, shop_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = craft_template(tmp_path / "t.dbtpl")
    assert cli.main(["template", "restore", str(path), "--target", shop_db]) == 1
    assert_one_line_error(capsys.readouterr().err, "not empty")


def test_restore_of_unsafe_template_refused(tmp_path: Path, pg_admin_uri: str) -> None:
    marker = Path(f"/tmp/dbplay-cli-{secrets.token_hex(4)}")
    payload = f"CREATE TABLE t (id int);\nCOPY (select 1) TO PROGRAM 'touch {marker}';\n"
    path = craft_template(tmp_path / "evil.dbtpl", payload.encode())
    target = f"cli_evil_{secrets.token_hex(4)}"
    result = run_dbplay("template", "restore", str(path), "--target",
                        with_database(pg_admin_uri, target))
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "dump.sql:2")
    assert not marker.exists()
    assert not database_exists(pg_admin_uri, target)


def test_query_table(shop_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["query", "--source", shop_db, SELECT_ITEMS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("|")[0].strip() == "id"
    assert set(out[1]) <= {"-", "+"}
    assert "two\\nlines" in out[3] and "NULL" in out[3]
    assert out[-1] == "(3 rows)"


def test_query_csv(shop_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["query", "--source", shop_db, "--format", "csv", SELECT_ITEMS]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["id", "label", "price", "tags"]
    # Documents are compact JSON text, as in the grid and its copies (dbplay_desktop.values).
    assert rows[1] == ["1", "plain", "1.50", '{"a":[1,2]}']
    assert rows[2] == ["2", "two\nlines", "", ""]
    assert rows[3][1] == 'comma, "quote"'


def test_query_json_lines(shop_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = "UPDATE item SET price = price WHERE id < 3; " + SELECT_ITEMS + " LIMIT 2"
    assert cli.main(["query", "--source", shop_db, "--format", "json", text]) == 0
    captured = capsys.readouterr()
    # Decimals are exact JSON numbers, as in the grid's JSON copy: 1.50 keeps its scale.
    update, select = (json.loads(line, parse_float=Decimal)
                      for line in captured.out.splitlines())
    assert update["statement"] == 1 and update["columns"] is None
    assert update["status"].startswith("UPDATE") and update["rowcount"] == 2
    assert select["columns"][0]["name"] == "id" and select["columns"][0]["type"]
    assert select["rows"] == [[1, "plain", Decimal("1.50"), {"a": [1, 2]}],
                              [2, "two\nlines", None, None]]
    assert str(select["rows"][0][2]) == "1.50"
    assert "UPDATE 2" in captured.err


def test_query_limit(shop_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["query", "--source", shop_db, "--format", "json", "--limit", "2",
                     SELECT_ITEMS]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["rows"]) == 2 and document["truncated"] is True
    assert cli.main(["query", "--source", shop_db, "--limit", "1", SELECT_ITEMS]) == 0
    assert "limited to 1" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_failing_second_statement(shop_db: str, fmt: str) -> None:
    text = "SELECT 1 AS first;\n\nSELECT * FROM no_such_table;\nSELECT 3 AS third;"
    result = run_dbplay("query", "--source", shop_db, "--format", fmt, text)
    assert result.returncode == 1
    line = assert_one_line_error(result.stderr, "statement 2", "no_such_table")
    assert line.startswith("error: statement 2 (line 3, column "), line
    assert "first" in result.stdout  # statement 1's result came out before the error
    assert "third" not in result.stdout  # nothing ran after the failing statement
    if fmt == "json":
        first, failed = (json.loads(doc) for doc in result.stdout.splitlines())
        assert first["rows"] == [[1]]
        assert failed["statement"] == 2 and "no_such_table" in failed["error"]["message"]


def test_query_from_file_and_stdin(tmp_path: Path, shop_db: str) -> None:
    script = tmp_path / "q.sql"
    script.write_text("SELECT count(*) AS n FROM item;", encoding="utf-8")
    result = run_dbplay("query", "--source", shop_db, "--format", "csv", "--file", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "3"]
    result = run_dbplay("query", "--source", shop_db, "--format", "csv",
                        stdin="SELECT 42 AS answer")
    assert result.stdout.splitlines() == ["answer", "42"]


def test_query_into_a_closed_pipe(shop_db: str) -> None:
    """``dbplay query ... | head -1``: stops quietly when the reader goes away."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dbplay_desktop", "query", "--source", shop_db, "--format", "csv",
         "SELECT g FROM generate_series(1, 300000) AS g"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == "g\n"
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=60)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_ctrl_c_stops_a_running_query(shop_db: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dbplay_desktop", "query", "--source", shop_db,
         "SELECT 1 AS started; SELECT pg_sleep(60)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    while "(1 row)" not in process.stdout.readline():
        pass
    time.sleep(0.5)  # let pg_sleep start
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert_one_line_error(err, "interrupted")


def test_save_and_restore_show_progress_on_a_terminal(
    tmp_path: Path, pg_admin_uri: str, shop_db: str
) -> None:
    import pty

    def run_with_terminal_stderr(*args: str) -> tuple[int, str]:
        primary, secondary = pty.openpty()
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "dbplay_desktop", *args],
                stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, timeout=120,
            )
            os.close(secondary)
            secondary = -1
            chunks = []
            while True:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the terminal's other end is closed: all read
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return completed.returncode, b"".join(chunks).decode()
        finally:
            os.close(primary)
            if secondary >= 0:
                os.close(secondary)

    out = tmp_path / "shop.dbtpl"
    code, terminal = run_with_terminal_stderr("template", "save", "--source", shop_db,
                                              "--out", str(out))
    assert code == 0, terminal
    assert "Saving: " in terminal
    copy = f"cli_tty_{secrets.token_hex(4)}"
    try:
        code, terminal = run_with_terminal_stderr("template", "restore", str(out), "--target",
                                                  with_database(pg_admin_uri, copy))
        assert code == 0, terminal
        assert "Restoring: " in terminal
    finally:
        drop_sandbox(pg_admin_uri, copy)


def test_table_cuts_long_values_with_an_ellipsis(
    shop_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every line of the grid is as wide as its rule: long values end in "…", also
    those of later batches that are wider than the first rows."""
    sql = ("SELECT g, CASE WHEN g < 3000 THEN 'a' ELSE repeat('b', 30) END AS short_first,"
           " repeat('x', 100) AS long FROM generate_series(1, 3001) g")
    assert cli.main(["query", "--source", shop_db, sql]) == 0
    lines = capsys.readouterr().out.splitlines()
    rule = lines[1]
    grid = [line for line in lines[:-1] if line]
    assert all(len(line) <= len(rule) for line in grid), max(grid, key=len)
    assert lines[2].endswith("x" * 59 + "…")
    # The column is as wide as its name (the first rows held one letter).
    assert lines[-2].split("|")[1].strip() == "b" * 10 + "…"
    assert lines[-1] == "(3001 rows)"


def test_refused_connection_reads_as_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"postgresql://nobody@127.0.0.1:{port}/x?connect_timeout=5"
    assert cli.main(["query", "--source", uri, "select 1"]) == 1
    line = assert_one_line_error(capsys.readouterr().err, "Connection refused")
    assert "Connection refused. Is the server running" in line


def test_counts_are_proper_plurals() -> None:
    assert cli.plural(1, "payload file") == "1 payload file"
    assert cli.plural(2, "problem") == "2 problems"
    assert cli.plural(0, "problem") == "0 problems"


def test_info_lists_a_templates_scripts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dbplay_desktop.templates.container import TemplateWriter

    path = tmp_path / "scripted.dbtpl"
    with TemplateWriter(path, engine="postgresql", name="scripted") as writer:
        with writer.open("dump.sql") as out:
            out.write(SAFE_SQL)
        writer.add_script("playground.sql", "select 1;\n")
        writer.commit("15.4", {"tables": 1})
    assert cli.main(["template", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "scripts:\n  scripts/playground.sql  10 B  sha256 " in out
    assert cli.main(["template", "info", str(craft_template(tmp_path / "plain.dbtpl"))]) == 0
    assert "scripts:     none" in capsys.readouterr().out
