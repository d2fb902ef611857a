"""A busy cursor around work the user waits for (recording a long pass, opening a file)."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication


@contextlib.contextmanager
def busy():
    """Show the wait cursor (painted at once) until the block ends, however it ends."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    # Paint it now; keys and clicks wait (a queued F10 must not run in the middle).
    QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()
