"""How big the load tests are: quick in ``make test``, full under ``DBPLAY_SOAK=1``."""

from __future__ import annotations

import os

#: ``make soak`` sets it: the issue's full sizes instead of the quick ones.
SOAK = os.environ.get("DBPLAY_SOAK", "").strip() not in ("", "0")


def size(full: int, quick: int) -> int:
    """``full`` under ``make soak``, ``quick`` in ``make test``."""
    return full if SOAK else quick


#: Playgrounds open at once, each streaming a large result.
PLAYGROUNDS = size(20, 4)
#: Rows each of those playgrounds streams.
STREAM_ROWS = size(100_000, 5_000)
#: Open template -> query -> reset -> close cycles in one window.
CYCLES = size(500, 8)
#: The PostgreSQL template saved and restored by the command line, in MiB of table data.
TEMPLATE_MIB = size(2048, 32)
#: Seconds a whole test may take (a hang detector, not a timing test).
TIMEOUT_S = size(3600, 300)
