"""Cloning a PostgreSQL sandbox (what a playground's fast reset is made of), for real.

A clone is ``CREATE DATABASE ... TEMPLATE`` of a restored sandbox: the same role, the same
objects, the sandbox grants and mark of its own. The role is dropped with the last
database that uses it, the pristine copy takes no sessions once cloned, and a clone that
fails leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.engines.postgres.engine import PostgresEngine
from dbplay_desktop.engines.sandbox_journal import SandboxJournal
from tests.engines.test_sandbox_wall import databases, restore, role_of, sandbox_roles
from tests.helpers import craft_template, with_database

SHOP = b"""
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items VALUES (1, 'pen'), (2, 'ink'), (3, 'paper');
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return craft_template(tmp_path / "shop.dbtpl", SHOP)


def rows(engine: PostgresEngine, database: str, sql: str) -> list[tuple]:
    fetched: list[tuple] = []
    with engine.connect(database) as session:
        for result in session.execute(sql):
            if result.error is not None:
                raise result.error
            fetched = result.fetch_all()
    return fetched


def test_a_clone_has_the_sandbox_state_and_role_and_the_role_goes_with_the_last(
    pg_engine, pg_admin_uri, template
):
    roles_before, databases_before = sandbox_roles(pg_admin_uri), databases(pg_admin_uri)
    pristine = restore(pg_engine, template)
    role = role_of(pg_engine, pristine)
    first = pg_engine.clone_sandbox(pristine)
    second = pg_engine.clone_sandbox(pristine)
    assert role_of(pg_engine, first) == role_of(pg_engine, second) == role
    assert rows(pg_engine, first, "SELECT current_user, count(*) FROM items") == [(role, 3)]
    rows(pg_engine, first, "DELETE FROM items; SELECT 1")
    # The other clone and the pristine copy are untouched by what ran in the first.
    assert rows(pg_engine, second, "SELECT count(*) FROM items") == [(3,)]
    with psycopg.connect(with_database(pg_admin_uri, pristine)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (3,)
    # Each clone is a playground sandbox of its own: the admin owns it, the role may not
    # change it.
    with pytest.raises(Exception, match="must be owner"):
        rows(pg_engine, second, f"ALTER DATABASE \"{second}\" SET work_mem = '64MB'")

    pg_engine.drop_sandbox(first)
    assert role in sandbox_roles(pg_admin_uri)  # the pristine copy and a clone still use it
    assert rows(pg_engine, second, "SELECT count(*) FROM items") == [(3,)]
    pg_engine.drop_sandbox(pristine)
    assert role in sandbox_roles(pg_admin_uri)
    pg_engine.drop_sandbox(second)
    assert sandbox_roles(pg_admin_uri) == roles_before
    assert databases(pg_admin_uri) == databases_before


def test_the_pristine_copy_takes_no_sessions_once_cloned(pg_engine, template):
    pristine = restore(pg_engine, template)
    clone = None
    try:
        assert rows(pg_engine, pristine, "SELECT 1") == [(1,)]  # an ordinary sandbox
        clone = pg_engine.clone_sandbox(pristine)
        with pytest.raises(EngineError, match=r"permission denied|CONNECT"):
            rows(pg_engine, pristine, "SELECT 1")
    finally:
        for database in (clone, pristine):
            if database is not None:
                pg_engine.drop_sandbox(database)


def test_a_clone_that_fails_leaves_nothing_and_keeps_the_source_usable(
    pg_engine, pg_admin_uri, template
):
    pristine = restore(pg_engine, template)
    try:
        before = databases(pg_admin_uri)
        # A session on the source: PostgreSQL refuses to copy a database in use.
        with (
            psycopg.connect(with_database(pg_admin_uri, pristine)),
            pytest.raises(EngineError, match=f"cannot clone sandbox '{pristine}'"),
        ):
            pg_engine.clone_sandbox(pristine)
        assert databases(pg_admin_uri) == before
        assert rows(pg_engine, pristine, "SELECT count(*) FROM items") == [(3,)]
        with pytest.raises(EngineError, match="not a dbplay sandbox"):
            pg_engine.clone_sandbox("postgres")
    finally:
        pg_engine.drop_sandbox(pristine)


def test_role_defaults_a_session_set_do_not_outlive_its_clone(pg_engine, template):
    pristine = restore(pg_engine, template)
    made = [pristine]
    try:
        working = pg_engine.clone_sandbox(pristine)
        made.append(working)
        rows(pg_engine, working, "ALTER ROLE CURRENT_USER SET work_mem = '77MB'; SELECT 1")
        fresh = pg_engine.clone_sandbox(pristine)
        made.append(fresh)
        assert rows(pg_engine, fresh, "SHOW work_mem") != [("77MB",)]
        assert rows(pg_engine, fresh, "SHOW lock_timeout") == [("1min",)]
    finally:
        for database in reversed(made):
            pg_engine.drop_sandbox(database)


def test_abandoned_clones_are_dropped_at_the_next_start_but_not_while_in_use(
    pg_admin_uri, template, tmp_path
):
    engine = PostgresEngine(pg_admin_uri, journal=SandboxJournal(tmp_path / "drops.json"))
    roles_before = sandbox_roles(pg_admin_uri)
    pristine = restore(engine, template)
    ready = engine.clone_sandbox(pristine)
    working = engine.clone_sandbox(pristine)
    session = engine.connect(working)
    try:
        # Another start while the playground is open: its pristine copy and ready clone
        # have no session of their own, but the working clone's session holds them.
        dropped = engine.drop_abandoned_playgrounds()
        assert not {pristine, ready, working} & set(dropped)
        assert {pristine, ready, working} <= databases(pg_admin_uri)
    finally:
        session.close()
    # The window crashed: the next start drops all three and the role.
    dropped = engine.drop_abandoned_playgrounds()
    assert {pristine, ready, working} <= set(dropped)
    assert not {pristine, ready, working} & databases(pg_admin_uri)
    assert sandbox_roles(pg_admin_uri) == roles_before


def test_a_pending_drop_keeps_the_role_its_clones_still_use(pg_admin_uri, template, tmp_path):
    journal = SandboxJournal(tmp_path / "drops.json")
    engine = PostgresEngine(pg_admin_uri, journal=journal)
    pristine = restore(engine, template)
    role = role_of(engine, pristine)
    working = engine.clone_sandbox(pristine)
    engine.drop_sandbox(working)
    # A drop journaled while the database was busy, done since by someone else.
    journal.add(engine.server_key, working, role)
    engine.retry_pending_drops(force=True)
    assert journal.pending(engine.server_key) == []
    assert role in sandbox_roles(pg_admin_uri)
    clone = engine.clone_sandbox(pristine)
    assert rows(engine, clone, "SELECT count(*) FROM items") == [(3,)]
    engine.drop_sandbox(clone)
    engine.drop_sandbox(pristine)
    assert role not in sandbox_roles(pg_admin_uri)
