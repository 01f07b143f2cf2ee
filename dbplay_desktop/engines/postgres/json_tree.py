"""Reading libpg_query's JSON parse trees at any depth and with any number size.

``json.loads`` recurses once per nesting level and gives up (``RecursionError``) on the
trees of deep but valid SQL, such as the ``((((a + a) + a) + ...)`` pg_dump writes for a
view over a long expression. It also turns numbers into ``int``, which refuses more than
4300 digits. :func:`loads` keeps ``json.loads`` for the common case and falls back to an
iterative decoder for deep trees; long numbers stay strings in both.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Integers with more digits than this stay strings (``int()`` of huge ones is refused).
_MAX_INT_DIGITS = 100
_WHITESPACE = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _parse_int(text: str) -> int | str:
    return int(text) if len(text) <= _MAX_INT_DIGITS else text


def loads(text: str) -> Any:
    """Decode ``text`` (JSON) without recursion limits; long integers come back as ``str``."""
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=str)
    except RecursionError:
        return _loads_deep(text)


def _loads_deep(text: str) -> Any:
    """An iterative JSON decoder: an explicit stack instead of recursion."""
    stack: list[Any] = []  # open containers
    keys: list[str | None] = []  # per open dict: the key waiting for its value
    index, size = 0, len(text)
    while True:
        while index < size and text[index] in _WHITESPACE:
            index += 1
        if index >= size:
            raise ValueError("JSON text ends early")
        char = text[index]
        if char in ",:":
            index += 1
            continue
        if char == "{" or char == "[":
            stack.append({} if char == "{" else [])
            keys.append(None)
            index += 1
            continue
        if char == "}" or char == "]":
            value = stack.pop()
            keys.pop()
            index += 1
        elif char == '"':
            value, index = _scanstring(text, index + 1)
            if stack and isinstance(stack[-1], dict) and keys[-1] is None:
                keys[-1] = value
                continue
        else:
            match = _NUMBER.match(text, index)
            if match and match.end() > index:
                number = match.group(0)
                value = _parse_int(number) if not (match.group(1) or match.group(2)) else number
                index = match.end()
            else:
                word = next((w for w in _LITERALS if text.startswith(w, index)), None)
                if word is None:
                    raise ValueError(f"unexpected JSON at offset {index}")
                value = _LITERALS[word]
                index += len(word)
        if not stack:
            return value
        container = stack[-1]
        if isinstance(container, dict):
            container[keys[-1]] = value
            keys[-1] = None
        else:
            container.append(value)
