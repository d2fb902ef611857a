"""Long work with a progress dialog and a working Cancel: the way the window runs a
model job (``model/jobs.py``), instead of a busy cursor for as long as it takes.

``run_job`` takes a slice of the job, updates the dialog (what is being done, how far,
about how long is left), lets the event loop run (so Cancel is clicked and the window
repaints), and repeats. Cancel closes the job, which has committed nothing. A short job
finishes before the dialog appears (``DELAY_MS``), under the wait cursor; the cursor is
the usual one again as soon as the dialog (and its Cancel) is there.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from .plain import plain_progress_dialog, title_text

DELAY_MS = 500


def _left(elapsed: float, done: int, total: int) -> str:
    if done <= 0 or total <= done or elapsed < 1.0:
        return ""
    seconds = elapsed / done * (total - done)
    return (f" — about {seconds:.0f} s left" if seconds < 120
            else f" — about {seconds / 60:.0f} min left")


def run_job(parent: QWidget | None, title: str, job):
    """The job's result, or None if the user cancelled it (UserError and other errors
    propagate, the job closed)."""
    dialog = plain_progress_dialog(title, "Cancel", parent)
    dialog.setWindowTitle(title_text(title))
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(DELAY_MS)
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)
    dialog.setRange(0, 0)
    start = time.monotonic()
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    waiting = True
    try:
        while True:
            try:
                done, total, what = next(job)
            except StopIteration as stop:
                return stop.value
            if total > 0:
                if dialog.maximum() != total:
                    dialog.setRange(0, total)
                dialog.setValue(min(done, total))
            dialog.setLabelText(what + _left(time.monotonic() - start, done, total))
            QApplication.processEvents()
            if waiting and dialog.isVisible():
                QApplication.restoreOverrideCursor()
                waiting = False
            if dialog.wasCanceled():
                return None
    finally:
        if waiting:
            QApplication.restoreOverrideCursor()
        job.close()
        dialog.close()
        dialog.deleteLater()
