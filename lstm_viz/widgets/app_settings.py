"""The app's own settings (QSettings), every value checked before anything adopts it.

The settings file is text anyone can edit (or damage): a key may hold any type Qt can
store (a point, bytes, a NaN, a list of anything). A value that is not what the app
wrote costs one warning line (once per key) and that key is reset to its default;
start-up never depends on it. The window layout is kept as ``model/layout.py``'s
checked JSON, never as Qt's ``saveState`` bytes (which crash on damaged input): the
keys of earlier versions that held those bytes are removed unread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings

from lstm_engine.textsafe import one_line

from ..model import crashlog
from ..model.layout import LayoutProblem, layout_from_text, layout_text

log = logging.getLogger(crashlog.LOGGER)

RECENT = "recent_files"
LAYOUT = "layout"
BINARY_KEYS = ("geometry", "window_state")       # Qt's restore bytes: never read
MAX_RECENT = 8
MAX_PATH = 4096


class AppSettings:
    """Checked access to a QSettings: ``recent_files()``, ``layout()`` and their setters."""

    def __init__(self, qsettings: QSettings):
        self.q = qsettings
        self.warned: list[str] = []              # the keys reset, in order
        for key in BINARY_KEYS:
            if self.q.contains(key):
                self.q.remove(key)

    def _reset(self, key: str, why: str) -> None:
        """Warn once for ``key`` and forget its value."""
        if key not in self.warned:
            self.warned.append(key)
            log.warning("%s", one_line(f"settings {self.q.fileName()}: {key!r} {why}; "
                                       "reset to its default"))
        self.q.remove(key)

    def _value(self, key: str):
        try:
            return self.q.value(key)
        except Exception:                 # noqa: BLE001 - a value Qt cannot convert
            self._reset(key, "cannot be read")
            return None

    def recent_files(self) -> list[str]:
        """The recently opened files: a list of paths (at most MAX_RECENT)."""
        value = self._value(RECENT)
        if value is None:
            return []
        if isinstance(value, str):               # one entry reads back as a string
            value = [value]
        if not isinstance(value, list) or not all(
                isinstance(v, str) and 0 < len(v) <= MAX_PATH and "\0" not in v
                for v in value):
            self._reset(RECENT, "is not a list of file paths")
            return []
        return list(dict.fromkeys(value))[:MAX_RECENT]

    def set_recent_files(self, files: list[str]) -> None:
        self.q.setValue(RECENT, [str(f) for f in files[:MAX_RECENT]])

    def layout(self) -> dict | None:
        """The window layout saved last (None: none, or it was damaged and is reset)."""
        value = self._value(LAYOUT)
        if value is None:
            return None
        try:
            return layout_from_text(value)
        except LayoutProblem as err:
            self._reset(LAYOUT, f"is not a window layout ({err})")
            return None

    def set_layout(self, layout: dict) -> None:
        self.q.setValue(LAYOUT, layout_text(layout))

    def sync(self) -> None:
        self.q.sync()
