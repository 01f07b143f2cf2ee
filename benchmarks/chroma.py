"""Chroma templates: save and restore against the client's own paged get and batched add.

The baseline is what a script would do with chromadb alone: page through
``collection.get(include=[embeddings, documents, metadatas])`` into files, and ``add`` them
in the client's largest batches into a fresh ``PersistentClient``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from benchmarks.harness import Context, Result, Skipped, alternate, fill, guarded, human_count
from benchmarks.report import print_rows

DIMENSIONS = 384
PAGE = 5000


def _client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(path),
                                     settings=Settings(anonymized_telemetry=False))


def _add_all(collection: Any, client: Any, ids: list[str], embeddings: Any,
             documents: list[str], metadatas: list[dict[str, Any]]) -> None:
    step = max(1, int(client.get_max_batch_size()))
    for start in range(0, len(ids), step):
        end = start + step
        collection.add(ids=ids[start:end], embeddings=embeddings[start:end],
                       documents=documents[start:end], metadatas=metadatas[start:end])


def run(ctx: Context, wanted: set[str] | None) -> list[Result]:
    count = ctx.size(100_000, 2_000)
    label = f"{human_count(count)} × {DIMENSIONS} vectors"
    save = Result("Chroma save template", label, "≤ 1.2×", max_ratio=1.2,
                  baseline_name="paged get(include=embeddings…) to files")
    restore = Result("Chroma restore template", label, "≤ 1.2×", max_ratio=1.2,
                     baseline_name="add in max batches, fresh PersistentClient")
    if wanted is not None and not wanted & {"chroma-save", "chroma-restore"}:
        return []
    root = ctx.scratch("chroma")
    store, template = root / "store", root / "bench.dbtpl"
    vectors, side = root / "vectors.npy", root / "records.json"
    counter = [0]

    def job_save() -> list[Result]:
        try:
            import numpy
        except ImportError as exc:
            raise Skipped(f"Chroma engine not installed ({exc})") from None
        try:
            import chromadb  # noqa: F401
        except ImportError as exc:
            raise Skipped(f"Chroma engine not installed ({exc})") from None
        from dbplay_desktop.templates.operations import save_template

        client = _client(store)
        collection = client.create_collection("docs", embedding_function=None)
        generator = numpy.random.default_rng(12)
        embeddings = generator.random((count, DIMENSIONS), dtype=numpy.float32)
        ids = [f"doc-{n}" for n in range(count)]
        _add_all(collection, client, ids, embeddings, [f"document {n}" for n in range(count)],
                 [{"n": n, "kind": ["a", "b", "c"][n % 3]} for n in range(count)])
        del client, collection

        def dbplay() -> None:
            template.unlink(missing_ok=True)
            save_template(f"chroma://{store}", template, name="bench")

        def baseline() -> None:
            source = _client(store).get_collection("docs")
            parts, records = [], []
            for offset in range(0, count, PAGE):
                page = source.get(include=["embeddings", "documents", "metadatas"],
                                  limit=PAGE, offset=offset)
                parts.append(numpy.asarray(page["embeddings"], dtype=numpy.float32))
                records.extend(zip(page["ids"], page["documents"], page["metadatas"],
                                   strict=True))
            numpy.save(vectors, numpy.concatenate(parts))
            side.write_text(json.dumps(records), encoding="utf-8")

        fill(save, *alternate(dbplay, baseline, ctx.repeat))
        return [save]

    def job_restore() -> list[Result]:
        import numpy

        from dbplay_desktop.templates.operations import restore_template

        if not template.is_file():
            raise Skipped("no template: the Chroma save job did not run")

        def fresh(prefix: str) -> Path:
            counter[0] += 1
            return root / f"{prefix}{counter[0]}"

        def dbplay() -> None:
            restore_template(template, f"chroma://{fresh('restored')}")

        def baseline() -> None:
            client = _client(fresh("added"))
            collection = client.create_collection("docs", embedding_function=None)
            records = json.loads(side.read_text(encoding="utf-8"))
            _add_all(collection, client, [r[0] for r in records], numpy.load(vectors),
                     [r[1] for r in records], [r[2] for r in records])

        def cleanup() -> None:
            for prefix in ("restored", "added"):
                for path in root.glob(f"{prefix}*"):
                    shutil.rmtree(path, ignore_errors=True)

        fill(restore, *alternate(dbplay, baseline, ctx.repeat, cleanup=cleanup))
        return [restore]

    out: list[Result] = []
    for made in (guarded(job_save, [save]), guarded(job_restore, [restore])):
        print_rows(made)
        out.extend(made)
    return out
