"""The Chroma engine (chromadb; imported only when a Chroma playground or command needs it,
it takes over a second to import).

Nothing is imported here, so reading the ``descriptor`` loads no driver. Modules:
``descriptor``, ``calls/`` (the client's calls, parsed with Python's ``ast`` and checked
against an allow-list; never run as code), ``engine`` (clients, sandboxes), ``session``
(calls run, records streamed), ``catalog``, ``dump`` + ``restore`` + ``safety`` (templates
as data only: JSON and pickle-free ``.npy``), ``errors``.
"""

from __future__ import annotations
