"""dbplay killed (``kill -9``) in the middle of a restore or a reset, for every engine: the
next start finds no half-made database left over.

A child process does exactly what the window does (``engine.restore`` of a template into
a new sandbox; a reset's clone of the pristine copy) or what ``dbplay template restore``
does (a restore into a database the user named), and kills itself with SIGKILL from the
restore's progress callback, so the kill lands while rows are still arriving. Then a new
process makes the next start's cleanup (``drop_abandoned_playgrounds``) and the test
checks that the sandboxes are exactly those from before. Real servers and real files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The child: restore (or reset) and die of SIGKILL part-way. Arguments: a JSON job.
CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from dbplay_desktop.engines.registry import engine_for_uri
    from dbplay_desktop.templates.container import TemplateReader
    from dbplay_desktop.templates.operations import restore_template

    job = json.loads(sys.argv[1])
    calls = []

    def die_part_way(done, total):
        calls.append(done)
        if len(calls) >= 2:  # rows have reached the server; more are on their way
            print("killing", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    if job["mode"] == "named":
        restore_template(job["template"], job["target"], progress=die_part_way)
    else:
        engine = engine_for_uri(job["uri"])
        if job["mode"] == "window":
            with TemplateReader(job["template"]) as reader:
                engine.restore(reader, progress=die_part_way)
        else:  # a reset: a playground with its pristine copy and ready clone, then a clone
            with TemplateReader(job["template"]) as reader:
                pristine = engine.restore(reader)
            working = engine.clone_sandbox(pristine)
            ready = engine.clone_sandbox(pristine)
            session = engine.connect(working)
            engine.clone_sandbox(pristine)  # the reset's next clone, made
            print("killing", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    print("not killed", flush=True)
""")

#: The next start's cleanup, in a process of its own, as the app makes it: the pending
#: files first, then the engine's abandoned playgrounds. Argument: the engine's URI.
CLEANUP = textwrap.dedent("""
    import sys
    from dbplay_desktop.atomic_file import remove_abandoned
    from dbplay_desktop.engines.registry import engine_for_uri

    remove_abandoned()
    engine = engine_for_uri(sys.argv[1])
    print(",".join(engine.drop_abandoned_playgrounds()))
""")


@dataclass
class Case:
    """One engine: its URI, a template big enough to be killed in, and its sandboxes."""

    name: str
    uri: str
    template: Path
    sandboxes: Callable[[], set[str]]
    named_target: Callable[[str], str]
    clones: bool = True
    #: the file a named restore writes, for engines whose databases are files
    named_file: Callable[[str], Path] | None = None


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DBPLAY_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(code: str, args: list[str], data_dir: Path,
         timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], env=_env(data_dir),
                          capture_output=True, text=True, timeout=timeout)


def _save(engine, database: str, path: Path, engine_name: str) -> Path:
    from dbplay_desktop.templates.container import TemplateWriter

    with TemplateWriter(path, engine=engine_name, name="Big", description="for kills") as writer:
        info = engine.dump(database, writer)
        writer.commit(info.engine_version, info.stats)
    return path


def _fill(engine, database: str, text: str) -> None:
    with engine.connect(database) as session:
        for result in session.execute(text):
            assert result.error is None, result.error
            result.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data directory for the module: the templates are built once per engine."""
    folder = tmp_path_factory.mktemp("killed") / "dbplay-data"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBPLAY_DATA_DIR", str(folder))
        yield folder


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    pytest.importorskip("psycopg")
    from dbplay_desktop.engines.postgres.engine import SANDBOX_MARKS

    engine = request.getfixturevalue("pg_engine")
    admin_uri: str = request.getfixturevalue("pg_admin_uri")
    database = engine.create_sandbox()
    try:
        _fill(engine, database, "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS word "
                                "FROM generate_series(1, 60000) g;")
        template = _save(engine, database, tmp_path / "big-pg.dbtpl", "postgresql")
    finally:
        engine.drop_sandbox(database)

    def sandboxes() -> set[str]:
        import psycopg

        with psycopg.connect(admin_uri, autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database "
                "WHERE shobj_description(oid, 'pg_database') = ANY(%s) "
                "UNION ALL SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbplay\\_sbx\\_%%'",
                (list(SANDBOX_MARKS),)).fetchall()
        return {row[0] for row in rows}

    base = admin_uri.rsplit("/", 1)[0]
    return Case("postgresql", admin_uri, template, sandboxes, lambda name: f"{base}/{name}")


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    from dbplay_desktop.engines.sqlite.engine import SqliteEngine

    engine = SqliteEngine("sqlite://")
    database = engine.create_sandbox()
    try:
        _fill(engine, database,
              "CREATE TABLE big (id INTEGER PRIMARY KEY, word TEXT);\n"
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)"
              " INSERT INTO big SELECT i, hex(randomblob(16)) FROM n;")
        template = _save(engine, database, tmp_path / "big-sqlite.dbtpl", "sqlite")
    finally:
        engine.drop_sandbox(database)
    folder = engine.path_of("x").parent

    def sandboxes() -> set[str]:
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    return Case("sqlite", "sqlite://", template, sandboxes,
                lambda name: f"sqlite:///{tmp_path / (name + '.db')}",
                named_file=lambda name: tmp_path / (name + ".db"))


def _mongodb(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    pytest.importorskip("pymongo")
    import pymongo

    from dbplay_desktop.engines.mongo.engine import MongoEngine

    uri: str = request.getfixturevalue("mongo_uri")
    engine = MongoEngine(uri)
    database = engine.create_sandbox()
    try:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            client[database]["big"].insert_many(
                [{"_id": n, "word": f"w{n:06d}" * 4} for n in range(3000)])
        template = _save(engine, database, tmp_path / "big-mongo.dbtpl", "mongodb")
    finally:
        engine.drop_sandbox(database)
        engine.close()

    def sandboxes() -> set[str]:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            names = set(client.list_database_names())
            registered = {d["_id"] for d in client["dbplay_registry"]["sandboxes"].find({})}
        return (names - {"admin", "config", "local", "dbplay_registry"}) | {
            f"registered:{name}" for name in registered}

    base = uri.rstrip("/")
    return Case("mongodb", uri, template, sandboxes, lambda name: f"{base}/{name}",
                clones=False)


def _chroma(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    pytest.importorskip("chromadb")
    from dbplay_desktop.engines.chroma.engine import ChromaEngine

    engine = ChromaEngine("chroma://")
    database = engine.create_sandbox()
    try:
        ids = [f"{i:05d}" for i in range(3000)]
        vectors = [[float(i % 97), float(i % 13), 1.0, 0.5] for i in range(3000)]
        _fill(engine, database, 'get_or_create_collection("big")\n'
                                f"big.add(ids={json.dumps(ids)}, embeddings={vectors})\n")
        template = _save(engine, database, tmp_path / "big-chroma.dbtpl", "chroma")
    finally:
        engine.drop_sandbox(database)
        engine.close()
    folder = engine.path_of("x").parent

    def sandboxes() -> set[str]:
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    return Case("chroma", "chroma://", template, sandboxes,
                lambda name: f"chroma:///{tmp_path / name}", clones=False,
                named_file=lambda name: tmp_path / name)


BUILDERS = {"postgresql": _postgres, "sqlite": _sqlite, "mongodb": _mongodb,
            "chroma": _chroma}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         data_dir: Path) -> Iterator[Case]:
    yield BUILDERS[request.param](request, tmp_path_factory.mktemp(request.param))


def _cleaned_up(case: Case, before: set[str], data_dir: Path) -> set[str]:
    """Run the next start's cleanup until what the kill left is gone (the server may
    still be ending the killed client's session); returns what is left over."""
    deadline = time.monotonic() + 120
    while True:
        done = _run(CLEANUP, [case.uri], data_dir)
        assert done.returncode == 0, done.stderr
        left = case.sandboxes() - before
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


@pytest.mark.parametrize("mode", ["window", "named", "reset"])
def test_a_kill_part_way_leaves_nothing_after_the_next_start(
        case: Case, mode: str, data_dir: Path) -> None:
    if mode == "reset" and not case.clones:
        pytest.skip(f"{case.name} resets by restoring again: the window case covers it")
    before = case.sandboxes()
    name = f"kept_{os.getpid()}_{mode}"
    job = {"mode": mode, "uri": case.uri, "template": str(case.template),
           "target": case.named_target(name)}
    child = _run(CHILD, [json.dumps(job)], data_dir)
    assert child.returncode == -signal.SIGKILL, (child.stdout, child.stderr)
    assert "killing" in child.stdout
    assert _cleaned_up(case, before, data_dir) == set()
    if mode == "named" and case.named_file is not None:
        # The user's destination: nothing there, not even a partial or hidden file.
        target = case.named_file(name)
        assert not [p.name for p in target.parent.iterdir() if p.name.startswith(
            (name, f".{name}"))]
