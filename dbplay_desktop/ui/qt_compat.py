"""Work-arounds for Qt binding bugs, applied once when the UI package is imported."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


def guard_emit_refcount() -> bool:
    """Work around a PySide6 6.12 bug on Python 3.11: ``SignalInstance.emit`` returns
    ``True`` without a new reference, so every emit takes one reference from ``True``
    until the interpreter aborts ("bool_dealloc: deallocating True or False").

    Python 3.12+ makes ``True``/``False`` immortal, so nothing happens there. On an
    affected build this measures the leak once and, if present, gives both constants
    a huge reference count -- the same thing 3.12 does. Returns whether it did so.
    """
    import sys

    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(64):
        probe.ping.emit()
    if before - sys.getrefcount(True) < 32:  # other threads may move it a little
        return False
    import ctypes

    for constant in (True, False):
        ctypes.c_ssize_t.from_address(id(constant)).value += 1 << 40
    return True


