"""Labels whose text changes every frame without moving anything around them.

A QLabel's height follows its text: a line with "‖" or "⚠" (drawn from a fallback font)
is taller than one without, so a frame that changes the text can resize the label, re-lay
out its dock (or the whole window, for the status bar) and repaint every plot in it with
its axes regenerated. ``steady_height`` fixes the label's height to its tallest line.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from .plain import PlainLabel, set_plain_tooltip

SAMPLE = "‖·‖ Σ ∏ ∂ → ⚠ −Inf ◀ ▶ Åg|"


def steady_height(label: QLabel) -> QLabel:
    """Fix ``label``'s height to that of one line holding the tallest glyphs it shows."""
    text = label.text()
    label.setText(SAMPLE)
    height = max(label.sizeHint().height(), label.minimumSizeHint().height())
    label.setText(text)
    label.setFixedHeight(height)
    return label


class ElidedLabel(PlainLabel):
    """A one-line label that shows as much of its text as fits, ending in "…", and the
    whole text as its tool tip; it never asks for more width than it is given."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self):                  # not the text's width: a new text moves nothing
        hint = super().sizeHint()
        hint.setWidth(self.minimumWidth())
        return hint

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(self.minimumWidth())
        return hint

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        if shown != super().text():
            super().setText(shown)
        set_plain_tooltip(self, self._full if shown != self._full else "")

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._elide()
