"""SQLite templates: save and restore against the standard library's own dump and load.

``sqlite3``'s ``iterdump`` and ``executescript`` are what anyone would write without
dbplay, on the same file, so the ratio is the price of the template format, the scan and
the safety checks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks.harness import Context, Result, alternate, fill, guarded, human_count
from benchmarks.report import print_rows

FILL_SQL = """
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL,
                     created_at TEXT NOT NULL, payload TEXT NOT NULL);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows})
INSERT INTO events SELECT n, n % 4000, 'kind' || (n % 4), datetime(1767225600 + n, 'unixepoch'),
       '{{"page": "/p/' || (n % 500) || '", "ms": ' || (n % 997) || '}}' FROM g;
CREATE INDEX events_user ON events (user_id);
"""


def _fill(path: Path, rows: int) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.executescript(FILL_SQL.format(rows=rows))
        connection.commit()
    finally:
        connection.close()


def run(ctx: Context, wanted: set[str] | None) -> list[Result]:
    rows = ctx.size(1_000_000, 50_000)
    label = f"{human_count(rows)} rows"
    save = Result("SQLite save template", label, "≤ 1.2×", max_ratio=1.2,
                  baseline_name="sqlite3 iterdump to a file")
    restore = Result("SQLite restore template", label, "≤ 1.2×", max_ratio=1.2,
                     baseline_name="sqlite3 executescript of that file")
    if wanted is not None and not wanted & {"sqlite-save", "sqlite-restore"}:
        return []
    root = ctx.scratch("sqlite")
    source, template, script = root / "bench.db", root / "bench.dbtpl", root / "bench.sql"
    counter = [0]

    def fresh(prefix: str) -> Path:
        counter[0] += 1
        return root / f"{prefix}{counter[0]}.db"

    def job_save() -> list[Result]:
        from dbplay_desktop.templates.operations import save_template

        _fill(source, rows)

        def dbplay() -> None:
            template.unlink(missing_ok=True)
            save_template(f"sqlite://{source}", template, name="bench")

        def baseline() -> None:
            connection = sqlite3.connect(source)
            try:
                with script.open("w", encoding="utf-8") as out:
                    for line in connection.iterdump():
                        out.write(line + "\n")
            finally:
                connection.close()

        fill(save, *alternate(dbplay, baseline, ctx.repeat))
        return [save]

    def job_restore() -> list[Result]:
        from dbplay_desktop.templates.operations import restore_template

        if not template.is_file():
            raise RuntimeError("no template: the SQLite save job failed")

        def dbplay() -> None:
            restore_template(template, f"sqlite://{fresh('restored')}")

        def baseline() -> None:
            connection = sqlite3.connect(fresh("script"))
            try:
                connection.executescript(script.read_text(encoding="utf-8"))
            finally:
                connection.close()

        def cleanup() -> None:
            for path in root.glob("restored*.db*"):
                path.unlink()
            for path in root.glob("script*.db*"):
                path.unlink()

        fill(restore, *alternate(dbplay, baseline, ctx.repeat, cleanup=cleanup))
        return [restore]

    out: list[Result] = []
    for made in (guarded(job_save, [save]), guarded(job_restore, [restore])):
        print_rows(made)
        out.extend(made)
    return out
