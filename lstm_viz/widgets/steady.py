"""Labels whose text changes every frame without moving anything around them.

A QLabel's height follows its text: a line with "‖" or "⚠" (drawn from a fallback font)
is taller than one without, so a frame that changes the text can resize the label, re-lay
out its dock (or the whole window, for the status bar) and repaint every plot in it with
its axes regenerated. ``steady_height`` fixes the label's height to its tallest line.

Even a label whose size cannot change re-lays out its window when its text does: QLabel's
``setText`` always calls ``updateGeometry``, which invalidates the parent's layout, and
each layout's activation invalidates the one above it, up to the main window's (a status
bar re-laid out also repaints itself whole). ``steady_box`` puts a label in a box with no
layout, where that request stops; the box stands in the layout for the label.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

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


class _Box(QWidget):
    """A box with no layout holding one label at its own size (see ``steady_box``)."""

    def __init__(self, label: QLabel, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        self.setSizePolicy(label.sizePolicy())
        self.setMinimumSize(label.minimumSize())
        self.setMaximumSize(label.maximumSize())
        if label.isHidden() and label.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
            self.hide()                         # hidden on purpose, not just not shown yet
        label.installEventFilter(self)

    def eventFilter(self, obj, event):
        # The label hidden or shown (its own room given to another field): so is its box.
        if obj is self.label and event.type() in (QEvent.Type.HideToParent,
                                                  QEvent.Type.ShowToParent):
            self.setVisible(event.type() == QEvent.Type.ShowToParent)
        return False

    def sizeHint(self):
        return self.label.sizeHint()

    def minimumSizeHint(self):
        return self.label.minimumSizeHint()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())


def steady_box(label: QLabel) -> QWidget:
    """A box to put in a layout in place of ``label``, whose new texts then repaint the
    label alone (the label's size must not follow its text: a fixed height and a width
    its layout gives, as ``steady_height`` and ``ElidedLabel`` make it)."""
    return _Box(label)
