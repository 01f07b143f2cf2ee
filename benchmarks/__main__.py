"""``python -m benchmarks [--quick] [--only JOB ...] [--repeat N] [--out PATH]``.

Runs the jobs area by area, prints each row as it finishes, writes the page at the end,
and cleans up every server, database and folder it made, also on Ctrl+C. Exits 0 even
when goals are missed: benchmarks inform, the test suite decides.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks import chroma, mongo, postgres, sqlite, ui
from benchmarks.harness import Context, Result
from benchmarks.report import HEADER, write

JOBS = ["pg-save", "pg-restore", "pg-reset", "pg-verify", "ui-stream", "ui-first-rows",
        "ui-stall", "ui-launch", "sqlite-save", "sqlite-restore", "mongo-save",
        "mongo-restore", "chroma-save", "chroma-restore"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--only", nargs="+", choices=JOBS, metavar="JOB",
                        help=f"run only these jobs: {', '.join(JOBS)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (default 3)")
    parser.add_argument("--out", type=Path, default=Path("docs/PERFORMANCE.md"))
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    ctx = Context(quick=args.quick, repeat=max(1, args.repeat))
    wanted = set(args.only) if args.only else None
    if wanted and wanted & {"ui-stream", "ui-first-rows", "ui-stall"}:
        wanted.add("pg-save")  # the streaming jobs read the template's database
    rows: list[Result] = []
    start = time.perf_counter()
    print(HEADER, flush=True)
    try:
        for area in (postgres, ui, sqlite, mongo, chroma):
            rows.extend(area.run(ctx, wanted))
        pg_version = postgres.server_version()
    except KeyboardInterrupt:
        print("benchmarks: interrupted; cleaning up, no page written")
        return 0
    finally:
        ctx.close()
    write(rows, args.out, quick=args.quick, repeat=ctx.repeat, pg_version=pg_version,
          elapsed=time.perf_counter() - start)
    print(f"benchmarks: wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
