"""PostgreSQL templates: save, restore, reset and verify against pg_dump, psql, sha256.

A private cluster is started with dbplay's own :class:`EmbeddedPostgres` in a /tmp folder,
filled server side with ``generate_series`` (an ``events`` table with a jsonb column and
a ``users`` table), and every baseline uses the programs of that same PostgreSQL, so the
comparison is between dbplay's code and the stock tools on identical data.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import Context, Result, Skipped, alternate, fill, guarded, human_count

FILL_SQL = """
CREATE TABLE users (
    id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL,
    created_at timestamptz NOT NULL);
INSERT INTO users
SELECT g, 'user ' || g, 'user' || g || '@example.com',
       timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, {users}) g;
CREATE TABLE events (
    id bigint PRIMARY KEY, user_id integer NOT NULL REFERENCES users,
    kind text NOT NULL, created_at timestamptz NOT NULL, payload jsonb NOT NULL);
INSERT INTO events
SELECT g, 1 + g % {users}, (ARRAY['view','click','buy','leave'])[1 + g % 4],
       timestamptz '2026-01-01' + g * interval '1 second',
       jsonb_build_object('page', '/p/' || (g % 500), 'ms', g % 997,
                          'tags', jsonb_build_array('a' || g % 13, 'b' || g % 7))
FROM generate_series(1, {events}) g;
CREATE INDEX events_user ON events (user_id);
ANALYZE;
"""


@dataclass
class PgSetup:
    """The running server, the filled database and its template, shared by the jobs
    (the UI streaming jobs use its server too)."""

    server: Any
    root: Path
    events: int
    users: int
    database: str = "bench"
    template: Path = field(default_factory=Path)
    plain: Path = field(default_factory=Path)
    counter: int = 0

    @property
    def admin_uri(self) -> str:
        return str(self.server.admin_uri)

    def uri(self, database: str) -> str:
        return str(self.server.uri(database, with_password=True))

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": str(self.server.password)}

    def program(self, name: str) -> str:
        programs = self.server.programs()
        if programs is not None:
            return str(programs.program(name))
        return str(Path(self.server.pg_dump_path()).with_name(name))

    def fresh_name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as connection:
            connection.execute(sql)

    def drop(self, database: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def size_label(self) -> str:
        return f"{human_count(self.events)} events + {human_count(self.users)} users"


_SETUP: dict[str, PgSetup] = {}


def setup(ctx: Context) -> PgSetup:
    """Start the private server and fill the database once per run (cleaned up at exit)."""
    if "pg" in _SETUP:
        return _SETUP["pg"]
    try:
        import psycopg

        from dbplay_desktop.servers.postgres import EmbeddedPostgres
    except ImportError as exc:
        raise Skipped(f"PostgreSQL engine not installed ({exc})") from None
    root = ctx.scratch("pg", 0o711)  # as root the server runs as an unprivileged account
    server = EmbeddedPostgres(root / "data")
    server.start()
    ctx.at_exit(server.stop)
    found = PgSetup(server, root, ctx.size(1_000_000, 20_000), ctx.size(200_000, 4_000))
    found.template, found.plain = root / "bench.dbtpl", root / "bench.sql"
    found.admin(f'CREATE DATABASE "{found.database}"')
    with psycopg.connect(found.uri(found.database), autocommit=True) as connection:
        for statement in FILL_SQL.format(events=found.events, users=found.users).split(";"):
            if statement.strip():
                connection.execute(statement)
    _SETUP["pg"] = found
    return found


def server_version() -> str:
    found = _SETUP.get("pg")
    return found.server.server_version() if found is not None else ""


def _run(argv: list[str], pg: PgSetup) -> None:
    done = subprocess.run(argv, env=pg.env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name}: {done.stderr.strip()[-300:]}")


def _pg_dump(pg: PgSetup) -> None:
    _run([pg.program("pg_dump"), "--no-owner", "-f", str(pg.plain),
          "-d", pg.uri(pg.database)], pg)


def _psql_restore(pg: PgSetup, database: str) -> None:
    _run([pg.program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.admin_uri,
          "-c", f'CREATE DATABASE "{database}"'], pg)
    _run([pg.program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(pg.plain),
          "-d", pg.uri(database)], pg)


def _engine(pg: PgSetup) -> Any:
    from dbplay_desktop.engines.registry import engine_for_uri

    return engine_for_uri(pg.admin_uri)


def job_save(ctx: Context, pg: PgSetup, result: Result) -> Result:
    from dbplay_desktop.templates.operations import save_template

    out = pg.root / "saved.dbtpl"

    def dbplay() -> None:
        save_template(pg.uri(pg.database), out, name="bench")

    mine, theirs = alternate(dbplay, lambda: _pg_dump(pg), ctx.repeat,
                             setup=lambda: out.unlink(missing_ok=True),
                             baseline_setup=lambda: None)
    shutil.copyfile(out, pg.template)  # the template the later jobs restore
    sizes = f"template {pg.template.stat().st_size / 1e6:.1f} MB, " \
            f"plain dump {pg.plain.stat().st_size / 1e6:.1f} MB"
    result.note = sizes
    return fill(result, mine, theirs)


def job_restore(ctx: Context, pg: PgSetup, result: Result) -> Result:
    from dbplay_desktop.templates.operations import restore_template

    made: list[str] = []

    def dbplay() -> None:
        name = pg.fresh_name("restored")
        made.append(name)
        restore_template(pg.template, pg.uri(name))

    def baseline() -> None:
        name = pg.fresh_name("psql")
        made.append(name)
        _psql_restore(pg, name)

    def cleanup() -> None:
        while made:
            pg.drop(made.pop())

    return fill(result, *alternate(dbplay, baseline, ctx.repeat, cleanup=cleanup))


def job_reset(ctx: Context, pg: PgSetup, result: Result) -> Result:
    """A playground's reset (ui/playground/playground.py ``reset`` -> ``reset_from_clone``)
    adopts the clone of the pristine copy made in the background after the playground
    opened (or was last reset): it connects a session to it and reads its catalog, which
    is what is timed. Making the next clone and closing and dropping the old database
    happen in the background after the reset, off the user's clock: untimed here."""
    import time

    from dbplay_desktop.templates.container import TemplateReader

    engine = _engine(pg)
    with TemplateReader(pg.template) as reader:
        pristine = str(engine.restore(reader))
    working: list[tuple[str, Any]] = []  # the playground's database and session
    retired: list[tuple[str, Any]] = []
    ready: list[str] = []
    made: list[str] = []
    clone_times: list[float] = []

    def clone() -> str:
        started = time.perf_counter()
        name = str(engine.clone_sandbox(pristine))
        clone_times.append(time.perf_counter() - started)
        return name

    def before() -> None:  # the background part of the previous reset
        if not working:
            database = clone()
            working.append((database, engine.connect(database)))
        if not ready:
            ready.append(clone())

    def dbplay() -> None:
        database = ready.pop()
        session = engine.connect(database)
        session.catalog()
        retired.append(working.pop())
        working.append((database, session))

    def baseline() -> None:
        name = pg.fresh_name("psql")
        made.append(name)
        _psql_restore(pg, name)

    def cleanup() -> None:
        while retired:
            database, session = retired.pop()
            session.close()
            engine.drop_sandbox(database)
        while made:
            pg.drop(made.pop())

    try:
        mine, theirs = alternate(dbplay, baseline, ctx.repeat, setup=before,
                                 baseline_setup=lambda: None, cleanup=cleanup)
    finally:
        cleanup()
        for database, session in working:
            session.close()
            engine.drop_sandbox(database)
        for database in [*ready, pristine]:
            engine.drop_sandbox(database)
        engine.close()
    clone_median = sorted(clone_times)[len(clone_times) // 2] if clone_times else 0.0
    result.note = (
        "dbplay: adopt the ready clone (connect + catalog); the next clone "
        f"(CREATE DATABASE ... TEMPLATE, median {clone_median:.2f} s, also what a reset "
        "pays before it exists) and the old database's drop run in the background"
    )
    return fill(result, mine, theirs)


def job_verify(ctx: Context, pg: PgSetup, result: Result) -> Result:
    from dbplay_desktop.templates.operations import verify_template

    def dbplay() -> None:
        problems = verify_template(pg.template)
        if problems:
            raise RuntimeError(problems[0])

    # The baseline hashes the payload as plain files on disk (what sha256sum of a plain
    # dump does): hashing the archive's members as stored would hash compressed bytes.
    from dbplay_desktop.templates.container import TemplateReader

    plain = ctx.scratch("pg-verify")
    paths: list[Path] = []
    with TemplateReader(pg.template) as reader:
        for index, name in enumerate(reader.paths()):
            target = plain / f"payload-{index}"
            with reader.open(name) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            paths.append(target)

    def baseline() -> None:
        for path in paths:
            digest = hashlib.sha256()
            with path.open("rb") as member:
                while chunk := member.read(1 << 20):
                    digest.update(chunk)

    return fill(result, *alternate(dbplay, baseline, ctx.repeat))


def run(ctx: Context, wanted: set[str] | None) -> list[Result]:
    """The PostgreSQL template jobs, in order (save first: the others use its template)."""
    label = f"{human_count(ctx.size(1_000_000, 20_000))} events + " \
            f"{human_count(ctx.size(200_000, 4_000))} users"
    rows = {
        "pg-save": Result("PostgreSQL save template", label, "≤ 1.2×", max_ratio=1.2,
                          baseline_name="pg_dump to a plain file"),
        "pg-restore": Result("PostgreSQL restore template", label, "≤ 1.0×", max_ratio=1.0,
                             baseline_name="createdb + psql -f"),
        "pg-reset": Result("PostgreSQL reset playground", label, "≤ 0.1×", max_ratio=0.1,
                           baseline_name="createdb + psql -f from scratch"),
        "pg-verify": Result(".dbtpl verify (PostgreSQL)", label, "≤ 1.5×", max_ratio=1.5,
                            baseline_name="sha256 of the payload"),
    }
    jobs = {"pg-save": job_save, "pg-restore": job_restore, "pg-reset": job_reset,
            "pg-verify": job_verify}
    out: list[Result] = []
    saved: list[bool] = []
    for name, job in jobs.items():
        if wanted is not None and name not in wanted:
            continue
        row = rows[name]

        def make(job: Any = job, row: Result = row, name: str = name) -> list[Result]:
            pg = setup(ctx)
            if name != "pg-save" and not saved:
                raise Skipped("no template: the save job did not run")
            done = job(ctx, pg, row)
            if name == "pg-save":
                saved.append(True)
            return [done]

        got = guarded(make, [row])
        if wanted is None or name in wanted:
            out.extend(got)
            yield_row(got)
    return out


def yield_row(rows: list[Result]) -> None:
    """Print rows as jobs finish (the report module knows the format)."""
    from benchmarks.report import print_rows

    print_rows(rows)
