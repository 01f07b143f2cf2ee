"""How a message quotes what the user wrote: on one line, cut short, never raising.

An error names the bad name or value so the user finds it, but a 10,000-character name
must not make a 10,000-character message, and ``repr`` of an int of more than 4,300
digits raises instead of printing.
"""

from __future__ import annotations

from typing import Any

#: How many characters of the user's own text (a name, a value) a message quotes.
QUOTE_LIMIT = 40
#: The longest message before its location.
MESSAGE_LIMIT = 240


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks the cut)."""
    words = " ".join(str(text).split())
    return words if len(words) <= limit else words[:limit - 1] + "…"


def shown(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` clipped like :func:`clip`."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python will print
        text = f"<{type(value).__name__}>"
    return clip(text, limit)
