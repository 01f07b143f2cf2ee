"""The window: everything that imports Qt lives in this package."""

from __future__ import annotations

from dbplay_desktop.ui.qt_compat import guard_emit_refcount

# Must run before any signal is emitted: see qt_compat.guard_emit_refcount.
EMIT_REFCOUNT_GUARDED = guard_emit_refcount()
