"""A template dbplay saved itself verifies and restores, however deep its views are."""

from __future__ import annotations

from pathlib import Path

from dbplay_desktop.templates.container import TemplateReader, TemplateWriter
from tests.engines.test_postgres_roundtrip import load


def test_a_view_over_a_long_expression_round_trips(pg_engine, pg_sandbox, tmp_path: Path) -> None:
    terms = " + ".join(["a"] * 600)
    qualified = "DECLARE v app.pair := NULL; w app.pair[]; BEGIN RETURN a + 1; END"
    load(
        pg_engine,
        pg_sandbox,
        "CREATE SCHEMA app; CREATE TYPE app.pair AS (x int, y int);"
        f"CREATE TABLE t (a int); INSERT INTO t VALUES (1);"
        f"CREATE VIEW v AS SELECT {terms} AS total FROM t;"
        f"CREATE FUNCTION app.f(a int, p app.pair DEFAULT NULL) RETURNS int"
        f" LANGUAGE plpgsql AS $$ {qualified} $$;",
    )
    path = tmp_path / "deep.dbtpl"
    with TemplateWriter(path, engine="postgresql", name="deep") as writer:
        info = pg_engine.dump(pg_sandbox, writer)
        writer.commit(info.engine_version, info.stats)
    with TemplateReader(path) as reader:
        dump = b"".join(reader.open(p).read() for p in reader.paths())
        assert b"((((" in dump  # pg_dump writes the sum back fully parenthesized
        assert pg_engine.scan(reader) == []
        copy = pg_engine.restore(reader)
    try:
        with pg_engine.connect(copy) as session:
            rows = next(session.execute("SELECT total, app.f(1) FROM v")).fetch_all()
        assert rows == [(600, 2)]
    finally:
        pg_engine.drop_sandbox(copy)
