"""The PostgreSQL engine (psycopg 3, pglast, pg_dump).

Nothing is imported here, so reading the ``descriptor`` loads no driver. Modules:
``engine`` (the server handle, logins), ``sandbox`` (admin-owned sandboxes and their
NOLOGIN roles), ``session`` (statements, streaming, cancel), ``catalog``,
``script`` + ``script_reader`` + ``script_lines`` (the tokenizer for editor text and dump
files), ``safety*`` + ``parse_tree`` + ``json_tree`` (the static scan), ``dump``,
``engine_restore`` + ``restore`` + ``restore_monitor`` (restores and their ceilings),
``errors`` (psycopg errors in one line).
"""

from __future__ import annotations
