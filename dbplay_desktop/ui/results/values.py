"""The grid's name for :mod:`dbplay_desktop.values`, the one value formatter.

The rules live in the Qt-free module so the CLI and exports use the same ones; ``ui``
modules keep importing ``.values``.
"""

from __future__ import annotations

from dbplay_desktop.values import (
    BYTES_PREVIEW_LIMIT,
    DISPLAY_LIMIT,
    ELLIPSIS,
    MISSING,
    MISSING_TOOLTIP,
    NULL_TEXT,
    TOOLTIP_LIMIT,
    Float32,
    Tagged,
    Vector,
    bytes_text,
    display_text,
    float_text,
    is_number,
    is_numeric_type,
    json_text,
    needs_viewer,
    normalize,
    parse_json_text,
    plain_text,
    summary_text,
    tooltip_text,
    truncate,
    type_label,
    vector_preview,
)

__all__ = [
    "BYTES_PREVIEW_LIMIT", "DISPLAY_LIMIT", "ELLIPSIS", "MISSING", "MISSING_TOOLTIP",
    "NULL_TEXT", "TOOLTIP_LIMIT", "Float32", "Tagged", "Vector", "bytes_text", "display_text",
    "float_text", "is_number", "is_numeric_type", "json_text", "needs_viewer", "normalize",
    "parse_json_text", "plain_text", "summary_text", "tooltip_text", "truncate", "type_label",
    "vector_preview",
]  # fmt: skip
