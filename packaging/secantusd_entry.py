"""The bundle's ``secantusd-py``: SecantusDB's own server launcher, as a separate program.

SecantusDB is GPL-licensed; dbplay only ever starts it as a program of its own (found
beside the ``dbplay`` executable, as ``secantusd-py`` is beside Python in a venv).
"""

from __future__ import annotations

import sys

from secantus.cli import main

if __name__ == "__main__":
    sys.argv[0] = sys.argv[0].removesuffix(".exe")
    sys.exit(main())
