"""One way errors reach the user: a dialog with a one-line message; the traceback goes to
the log (``crashlog``: a file in the user's data folder, and stderr), and the dialog says
where. The session is never touched here (its actions commit only on success).

An error that repeats (a view failing on every paint) opens one dialog: the same
traceback again while its dialog is open, or within ``QUIET`` seconds of its last
occurrence, is only counted (``repeats``).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line

from ..model import crashlog
from .plain import plain_message_box

log = logging.getLogger(crashlog.LOGGER)
QUIET = 2.0                                   # seconds


def message_of(error: BaseException | str) -> str:
    """The one line shown to the user (control characters escaped: ``one_line``)."""
    if isinstance(error, str):
        return one_line(error)
    if isinstance(error, UserError):
        return one_line(str(error))
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return one_line(f"{type(error).__name__}: {first}" if first else type(error).__name__)


class ErrorReporter:
    """Shows errors in a non-blocking message box and remembers them (``messages``)."""

    def __init__(self, parent: QWidget | None = None):
        self.parent = parent
        self.messages: list[str] = []
        self.box: QMessageBox | None = None
        self.on_close = None                     # called when the user closes a message
        self.repeats = 0                         # reports only counted (see the docstring)
        self._last: tuple[object, float] | None = None   # (signature, when) of the last

    def report(self, error: BaseException | str, detail: str | None = None) -> None:
        message = message_of(error)
        where = None
        if isinstance(error, BaseException) and not isinstance(error, UserError):
            sig = crashlog.signature(error)
            detail = detail or "".join(traceback.format_exception(error))
            log.error("%s\n%s", message, detail, extra={"signature": sig})
            if self._repeated(sig):
                return
            where = crashlog.current()
            where = (f"The details are in {where}" if where is not None
                     else "The details were written to the terminal (stderr).")
        else:
            log.info("%s", message)
            self._last = None
        self.messages.append(message)
        box = plain_message_box(QMessageBox.Icon.Warning, "lstm-viz", message, self.parent,
                                informative=where, detail=detail)
        box.finished.connect(self._closed)
        box.open()                                         # never blocks the event loop
        if self.box is not None:
            self.box.close()
            self.box.deleteLater()
        self.box = box

    def _repeated(self, sig) -> bool:
        """True for the same traceback again while its box is open or soon after."""
        now = time.monotonic()
        last, self._last = self._last, (sig, now)
        if last is None or last[0] != sig:
            return False
        if (self.box is not None and self.box.isVisible()) or now - last[1] < QUIET:
            self.repeats += 1
            return True
        return False

    def _closed(self, *_):
        if self.on_close is not None:
            self.on_close()

    def guard(self, fn, *args):
        """Call ``fn(*args)``; report any exception instead of raising it."""
        try:
            return fn(*args)
        except Exception as err:                          # noqa: BLE001 - shown to the user
            self.report(err)
            return None


def install_excepthook(reporter: ErrorReporter):
    """Route uncaught exceptions (in slots, paint events …) to ``reporter``; returns a
    function that restores the previous hook."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        reporter.report(value, "".join(traceback.format_exception(kind, value, tb)))

    sys.excepthook = hook

    def restore():
        sys.excepthook = previous

    return restore
