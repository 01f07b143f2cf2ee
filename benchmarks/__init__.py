"""dbplay's benchmarks: each job times dbplay and a named baseline in the same run.

Benchmarks are not tests: they assert nothing and always exit 0. ``python -m benchmarks``
(``make bench``; ``--quick`` for small sizes) prints a table as jobs finish and writes
``docs/PERFORMANCE.md``. See :mod:`benchmarks.harness` for how a job is measured.
"""
