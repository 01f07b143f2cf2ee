"""A test-only dbplay engine: a key-value store kept in a JSON file.

Modules: ``descriptor`` (what dbplay reads from the entry point), ``language`` (the
command language: one command per line, words cut by :mod:`shlex`) and ``engine`` (stores,
sandboxes, sessions, dump, scan and restore).
"""
