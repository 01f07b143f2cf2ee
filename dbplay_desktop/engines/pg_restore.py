"""Running a scanned plain-SQL payload into a sandbox, as one transaction.

The engine scans a payload (:mod:`pg_safety`) and prepares the target database; this
module then plays the script: statements, ``COPY ... FROM stdin`` blocks with their data,
and the psql meta-commands pg_dump writes. It logs in as the sandbox's own unprivileged
role, so the restore can do no more than the owner of that one database. Either the
whole payload lands or nothing does: ``BEGIN``/``COMMIT`` in the payload are skipped and
any failure rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import psycopg

from dbplay_desktop.engines.base import PayloadSource, ProgressCallback, RestoreError
from dbplay_desktop.engines.pg_errors import connection_error, error_message
from dbplay_desktop.engines.pg_safety_rules import RESTORE_META_COMMANDS


def run_payload(
    info: dict[str, Any], source: PayloadSource, progress: ProgressCallback | None = None
) -> None:
    """Run every payload file of ``source`` on the connection ``info``, then commit.

    ``progress`` hears bytes read so far (and the total when every file's size is
    known); returning True stops the restore. Raises :class:`RestoreError` naming the
    payload file and line of a failing statement; nothing is committed then.
    """
    from dbplay_desktop.engines.pg_script_reader import read_script

    try:
        conn = psycopg.connect(**info, autocommit=False, application_name="dbplay restore")
    except psycopg.Error as exc:
        raise connection_error(exc, info) from exc
    conn.prepare_threshold = None
    paths = list(source.paths())
    sizes = [source.size(path) for path in paths]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    done_before = 0
    try:
        with conn.cursor() as cur:
            for path, size in zip(paths, sizes, strict=False):
                with source.open(path) as raw:
                    stream = _CountingReader(raw)
                    for item in read_script(stream, path):
                        try:
                            _run_item(cur, item)
                        except psycopg.Error as exc:
                            raise RestoreError(
                                f"{path}:{item.line}: {error_message(exc)}"
                            ) from exc
                        if progress is not None and progress(done_before + stream.count, total):
                            raise RestoreError("restore cancelled")
                done_before += size if size is not None else stream.count
        conn.commit()
    except BaseException:
        try:
            conn.rollback()
        except psycopg.Error:
            pass
        raise
    finally:
        conn.close()


def _run_item(cur: psycopg.Cursor[Any], item: Any) -> None:
    """Execute one item of a plain SQL script: a statement, a COPY with its data, or a meta line."""
    if item.kind == "statement":
        if not _is_transaction_boundary(item.text):
            cur.execute(item.text)
    elif item.kind == "copy":
        with cur.copy(item.text) as copy:
            for chunk in item.data:
                copy.write(chunk)
    elif item.kind == "meta" and item.text.split(maxsplit=1)[0] not in RESTORE_META_COMMANDS:
        raise RestoreError(f"line {item.line}: psql command {item.text.split()[0]} is not allowed")


def _is_transaction_boundary(text: str) -> bool:
    """BEGIN/START/COMMIT/END in a payload: skipped, the whole restore is one transaction."""
    from pglast import parser

    try:
        tokens = parser.scan(text)
    except Exception:
        return False
    return bool(tokens) and tokens[0].name in ("BEGIN_P", "START", "COMMIT", "END_P")


class _CountingReader:
    """Counts the bytes a reader hands out, for restore progress."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self.count += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def readable(self) -> bool:
        return True
