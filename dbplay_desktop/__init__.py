"""dbplay: a desktop database playground driven by portable .dbtpl templates."""

from __future__ import annotations

__version__ = "0.1.0"
