"""Words the editor completes in a Chroma playground: methods, arguments and operators.

Built from the allow-list, so completion never offers a method or an argument the parser
refuses; then ``include=`` values and the ``where=`` / ``where_document=`` operators.
"""

from __future__ import annotations

from functools import lru_cache

from dbplay_desktop.engines.chroma.calls import allow

_LITERALS = ("True", "False", "None")


def call_keywords() -> list[str]:
    """Every completion word once, in a stable order (methods first, then arguments)."""
    return list(_keywords())


@lru_cache(maxsize=1)
def _keywords() -> tuple[str, ...]:
    words: list[str] = [*allow.CLIENT_METHODS, *allow.COLLECTION_METHODS,
                        allow.COLLECTION_FUNCTION]
    for table in (allow.CLIENT_METHODS, allow.COLLECTION_METHODS):
        for method in table.values():
            words.extend(method.parameters)
    words.extend(allow.INCLUDE)
    words.extend(allow.WHERE_OPERATORS)
    words.extend(_LITERALS)
    return tuple(dict.fromkeys(words))
