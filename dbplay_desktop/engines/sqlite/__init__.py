"""The SQLite engine (standard library ``sqlite3``).

Modules: ``descriptor`` (what the window knows before importing the rest), ``engine``
(sandbox files, dump, restore), ``session`` (statements, streaming, interrupt),
``script`` (splitting), ``safety`` (the authorizer for untrusted payloads), ``dump``
(the payload format), ``restore`` and ``catalog``.
"""
