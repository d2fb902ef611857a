"""Long work with a progress dialog and a working Cancel: the way the window runs a
model job (``model/jobs.py``), instead of a busy cursor for as long as it takes; or, for
work the window need not wait for (a picture computed on demand), ``BackgroundJob``:
slices between the event loop's other work, the window live all along.

``run_job`` takes a slice of the job, updates the dialog (what is being done, how far,
about how long is left), lets the event loop run (so Cancel is clicked and the window
repaints), and repeats. Cancel closes the job, which has committed nothing. A short job
finishes before the dialog appears (``DELAY_MS``), under the wait cursor; the cursor is
the usual one again as soon as the dialog (and its Cancel) is there.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from .plain import plain_progress_dialog, title_text

DELAY_MS = 500
# Seconds of a background job's work between two turns of the event loop: the longest a
# key, a click or a repaint waits while a picture is computed (bench_gui measures the
# longest pause of the loop during the loss-to-cell matrix against 50 ms). Half of
# model/jobs.py's SLICE, which paces work whose dialog the user is watching.
SLICE = 0.025


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


class BackgroundJob(QObject):
    """A job run in slices of about ``SLICE`` seconds from a zero-interval timer: keys,
    clicks, seeks and repaints run between slices, so the window stays live. After each
    slice ``progress(done, total, what)``; at the end ``finished(result)``. The first
    slice runs in ``start`` (a short job is done before it returns). ``cancel`` closes
    the job, which has committed nothing. An error ends it and propagates (to the
    window's error hook when raised from the timer)."""

    def __init__(self, job, progress, finished, parent: QObject | None = None):
        super().__init__(parent)
        self._job, self._progress, self._finished = job, progress, finished
        # Single shot, re-armed after each slice: a repeating zero timer keeps the due
        # time it had before its slice, so Qt ran the next slice ahead of any other timer
        # that fell due meanwhile (a play tick, a tooltip), and those waited two slices.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        self.running = False

    def start(self) -> None:
        self.running = True
        self._slice()

    def cancel(self) -> None:
        self._stop()

    def _stop(self) -> None:
        self.running = False
        self._timer.stop()
        self._job.close()

    def _slice(self) -> None:
        end = time.monotonic() + SLICE
        try:
            while True:
                done, total, what = next(self._job)
                if time.monotonic() >= end:
                    break
        except StopIteration as stop:
            self._stop()
            self._finished(stop.value)
            return
        except BaseException:
            self._stop()
            raise
        try:
            self._progress(done, total, what)
        finally:                                # a progress that raised stops nothing
            if self.running:
                self._timer.start()
