"""Load tests: many playgrounds at once, many open/reset/close cycles, a large template.

Quick sizes run in ``make test``; ``make soak`` (``DBPLAY_SOAK=1``) runs the full sizes.
Both print their figures and write them as JSON (:mod:`tests.soak.figures`); neither
asserts a time.
"""
