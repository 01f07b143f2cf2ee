"""``python -m dbplay_desktop``: the same as the ``dbplay`` command."""

from __future__ import annotations

import sys

from dbplay_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
