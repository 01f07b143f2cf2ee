"""The bundle's ``dbplay`` program: the same as the installed ``dbplay`` command."""

from __future__ import annotations

import multiprocessing
import sys

from dbplay_desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program that a library forks runs this again
    sys.exit(main())
