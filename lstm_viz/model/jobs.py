"""Long work as a job: a generator that does its work in slices, yields ``(done, total,
what)`` after each, and returns its result. No Qt.

Whoever runs a job decides what happens between slices: ``finish`` runs it to the end
(a script, a test, the command line); the window shows a progress dialog whose Cancel
closes the generator (``widgets/progress.py``). A job commits nothing until it
returns, so a cancelled one leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Generator

Job = Generator[tuple[int, int, str], None, object]

SLICE = 0.05                   # seconds of work between two progress reports


def finish(job: Job):
    """Run ``job`` to the end; its result."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value
