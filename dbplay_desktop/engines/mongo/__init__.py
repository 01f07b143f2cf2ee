"""The MongoDB engine (pymongo, bson, tree-sitter-javascript for mongosh text).

Nothing is imported here, so reading the ``descriptor`` loads no driver. Modules:
``descriptor`` (what the window knows before importing the rest), ``shell/`` (mongosh
text: splitting, the parser, literals, the allow-list of commands), ``engine`` (the server
handle, sandboxes), ``session`` (commands run through pymongo, documents streamed,
killOp), ``catalog``, ``values`` (BSON values for the grid), ``dump`` + ``restore`` +
``safety`` (templates in mongodump's layout), ``importers`` (mongodump folders and
archives, Mongo Playground), ``errors``.
"""

from __future__ import annotations
