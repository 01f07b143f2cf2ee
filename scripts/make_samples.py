"""Build the sample templates shipped in ``resources/samples`` (PostgreSQL and SQLite).

Run with ``.venv/bin/python scripts/make_samples.py [OUTPUT_DIR]``. The script starts a
private embedded PostgreSQL in a temporary folder, builds each sample database from the
schema and rows in ``sample_data.py`` (a seeded random generator: no downloads, the same
data on every run), saves it with the same code the app uses for "Save state as
template", then restores every new file into a fresh sandbox and compares row counts, so
a sample that would not open in the app is never shipped.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sample_data import SAMPLES, Sample

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing


# --------------------------------------------------------------------------- building


def database_uri(admin_uri: str, database: str) -> str:
    parts = urlsplit(admin_uri)
    return urlunsplit(parts._replace(path="/" + database))


def build_database(admin_uri: str, database: str, sample: Sample) -> None:
    """Create ``database`` and fill it with the sample's schema and generated rows."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(database)
            )
        )
    with psycopg.connect(database_uri(admin_uri, database)) as conn:
        conn.execute(sample.schema)
        for table, (columns, rows) in sample.rows(random.Random(sample.seed)).items():
            statement = sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({})").format(
                sql.Identifier(table),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in columns),
            )
            with conn.cursor() as cur:
                cur.executemany(statement, rows)
        # Identity columns were given explicit values: move their sequences past them.
        conn.execute(
            """
            DO $$
            DECLARE r record;
            BEGIN
              FOR r IN SELECT c.table_name, c.column_name FROM information_schema.columns c
                       WHERE c.table_schema = 'public' AND c.is_identity = 'YES' LOOP
                EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L),
                                 coalesce((SELECT max(%I) FROM %I), 0) + 1, false)',
                               r.table_name, r.column_name, r.column_name, r.table_name);
              END LOOP;
            END $$;
            """
        )
        if sample.after:
            conn.execute(sample.after)
        conn.execute("ANALYZE")


def check_restores(admin_uri: str, path: Path) -> dict[str, int]:
    """Restore ``path`` into a throwaway sandbox as the app would; return its stats."""
    from dbplay_desktop.engines.postgres.catalog import database_stats
    from dbplay_desktop.templates.operations import engine_for_template
    from dbplay_desktop.templates.reader import TemplateReader

    with TemplateReader(path) as reader:
        engine = engine_for_template(reader.manifest, admin_uri)
        try:
            database = engine.restore(reader)
            try:
                import psycopg

                with psycopg.connect(database_uri(admin_uri, database)) as conn:
                    return database_stats(conn)
            finally:
                engine.drop_sandbox(database)
        finally:
            engine.close()


def make_samples(out_dir: Path, admin_uri: str, *, check: bool = True) -> list[Path]:
    from dbplay_desktop.templates.operations import save_template

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in SAMPLES:
        database = "sample_" + Path(sample.file_name).stem.replace("-", "_")
        build_database(admin_uri, database, sample)
        target = out_dir / sample.file_name
        manifest = save_template(
            database_uri(admin_uri, database),
            target,
            name=sample.name,
            description=sample.description,
        )
        restored = check_restores(admin_uri, target) if check else manifest.stats
        if restored.get("rows") != manifest.stats.get("rows"):
            raise SystemExit(
                f"{target.name}: restored {restored.get('rows')} rows, "
                f"saved {manifest.stats.get('rows')}"
            )
        summary = ", ".join(f"{v} {k}" for k, v in manifest.stats.items() if v)
        print(f"{target.relative_to(REPO) if target.is_relative_to(REPO) else target}: "
              f"{target.stat().st_size:,} bytes ({summary})")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out_dir", nargs="?", type=Path, default=REPO / "resources" / "samples",
        help="where to write the .dbtpl files (default: resources/samples)",
    )
    parser.add_argument(
        "--no-check", action="store_true",
        help="skip restoring each new file into a sandbox to prove it opens",
    )
    args = parser.parse_args(argv)

    from dbplay_desktop.servers.postgres import EmbeddedPostgres

    scratch = Path(tempfile.mkdtemp(prefix="dbplay-samples-"))
    scratch.chmod(0o711)  # as root the server account must pass; dbplay does not chmod it
    server = EmbeddedPostgres(scratch / "data")
    try:
        server.start()
        make_samples(args.out_dir, server.admin_uri, check=not args.no_check)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    from sqlite_samples import make_sqlite_sample

    target = make_sqlite_sample(args.out_dir)
    print(f"{target.name}: {target.stat().st_size:,} bytes")
    return 0

if __name__ == "__main__":
    sys.exit(main())
