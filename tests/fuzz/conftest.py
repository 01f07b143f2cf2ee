"""Hypothesis profiles for the property-based tests.

``make test`` runs the ``dbplay-ci`` profile: a fixed seed (``derandomize``), so every
run tries the same examples and a failure is reproducible, and few enough examples that
the whole set stays quick on a loaded machine. ``make fuzz`` runs the ``fuzz`` profile
(``DBPLAY_FUZZ=1``, or ``--hypothesis-profile=fuzz``): random seeds and ten times the
examples of each test (``DBPLAY_FUZZ=50``: fifty times; :func:`tests.fuzz.support.budget`).
Neither keeps an example database: a failure prints its reproduction blob.

The deadline is a hang detector, not a timing test: one example (a few kilobytes of
text) taking longer than it means the code is stuck, on any machine.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

_RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "dbplay-ci",
    derandomize=True,
    max_examples=60,
    deadline=timedelta(seconds=20),
    database=None,
    print_blob=True,
    suppress_health_check=_RELAXED,
)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    deadline=timedelta(seconds=20),
    database=None,
    print_blob=True,
    suppress_health_check=_RELAXED,
)

if settings.get_current_profile_name() == "default":  # not chosen on the command line
    settings.load_profile("fuzz" if os.environ.get("DBPLAY_FUZZ") else "dbplay-ci")
