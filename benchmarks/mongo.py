"""MongoDB templates: save and restore against pymongo's raw BSON paths.

``find_raw_batches`` and ``insert_many`` of :class:`RawBSONDocument` move BSON without
decoding it into Python objects: the fastest thing a Python program can do with a
collection, so the ratio shows what dbplay's decoding, scan and checks cost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks.harness import Context, Result, Skipped, alternate, fill, guarded, human_count
from benchmarks.report import print_rows

URI_ENV = "DBPLAY_BENCH_MONGO_URI"


def _server(ctx: Context, root: Path) -> str:
    """The benchmark server's address: ``$DBPLAY_BENCH_MONGO_URI``, or an embedded one
    started as the tests start theirs (servers/mongo_local.py), stopped at exit."""
    try:
        import pymongo  # noqa: F401
    except ImportError as exc:
        raise Skipped(f"MongoDB engine not installed ({exc})") from None
    given = os.environ.get(URI_ENV, "").strip()
    if given:
        return given if given.endswith("/") else given + "/"
    from dbplay_desktop.servers.mongo_local import EmbeddedMongoServer

    server = EmbeddedMongoServer(root / "data")
    try:
        uri = str(server.start())
    except Exception as exc:
        raise Skipped(f"no MongoDB server could be started: {exc}") from None
    ctx.at_exit(server.stop)
    return uri if uri.endswith("/") else uri + "/"


def run(ctx: Context, wanted: set[str] | None) -> list[Result]:
    count = ctx.size(200_000, 5_000)
    label = f"{human_count(count)} documents"
    save = Result("MongoDB save template", label, "≤ 1.2×", max_ratio=1.2,
                  baseline_name="find_raw_batches to a file")
    restore = Result("MongoDB restore template", label, "≤ 1.2×", max_ratio=1.2,
                     baseline_name="insert_many of RawBSONDocument")
    if wanted is not None and not wanted & {"mongo-save", "mongo-restore"}:
        return []
    root = ctx.scratch("mongo")
    template, raw = root / "bench.dbtpl", root / "events.bson"
    state: dict[str, Any] = {}

    def job_save() -> list[Result]:
        import pymongo

        from dbplay_desktop.templates.operations import save_template

        base = _server(ctx, root)
        client: Any = pymongo.MongoClient(base)
        ctx.at_exit(client.close)
        state.update(base=base, client=client)
        ctx.at_exit(lambda: client.drop_database("bench"))
        events = client["bench"]["events"]
        events.drop()
        for start in range(0, count, 5000):
            events.insert_many([
                {"_id": n, "user": n % 4000, "kind": ["view", "click", "buy"][n % 3],
                 "payload": {"page": f"/p/{n % 500}", "ms": n % 997, "tags": [n % 13, n % 7]}}
                for n in range(start, min(count, start + 5000))])

        def dbplay() -> None:
            template.unlink(missing_ok=True)
            save_template(base + "bench", template, name="bench")

        def baseline() -> None:
            with raw.open("wb") as out:
                for batch in events.find_raw_batches():
                    out.write(batch)

        fill(save, *alternate(dbplay, baseline, ctx.repeat))
        return [save]

    def job_restore() -> list[Result]:
        import bson
        from bson.raw_bson import RawBSONDocument

        from dbplay_desktop.engines.registry import engine_for_uri
        from dbplay_desktop.templates.operations import restore_template

        if "client" not in state or not template.is_file():
            raise Skipped("no template: the MongoDB save job did not run")
        base, client = state["base"], state["client"]
        options = bson.CodecOptions(document_class=RawBSONDocument)
        made: list[str] = []
        counter = [0]

        def dbplay() -> None:
            counter[0] += 1
            made.append(f"restored_{counter[0]}")
            restore_template(template, base + made[-1])

        def baseline() -> None:
            counter[0] += 1
            made.append(f"raw_{counter[0]}")
            with raw.open("rb") as source:
                documents = list(bson.decode_file_iter(source, codec_options=options))
            client[made[-1]]["events"].insert_many(documents)

        engine = engine_for_uri(base)

        def cleanup() -> None:
            while made:
                name = made.pop()
                if name.startswith("restored_"):
                    engine.drop_sandbox(name)
                client.drop_database(name)

        try:
            fill(restore, *alternate(dbplay, baseline, ctx.repeat, cleanup=cleanup))
        finally:
            cleanup()
            engine.close()
        return [restore]

    out: list[Result] = []
    for made in (guarded(job_save, [save]), guarded(job_restore, [restore])):
        print_rows(made)
        out.extend(made)
    return out
