"""Labels whose text changes every frame without moving anything around them.

A QLabel's height follows its text: a line with "‖" or "⚠" (drawn from a fallback font)
is taller than one without, so a frame that changes the text can resize the label, re-lay
out its dock (or the whole window, for the status bar) and repaint every plot in it with
its axes regenerated. ``steady_height`` fixes the label's height to its tallest line.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

SAMPLE = "‖·‖ Σ ∏ ∂ → ⚠ −Inf ◀ ▶ Åg|"


def steady_height(label: QLabel) -> QLabel:
    """Fix ``label``'s height to that of one line holding the tallest glyphs it shows."""
    text = label.text()
    label.setText(SAMPLE)
    height = max(label.sizeHint().height(), label.minimumSizeHint().height())
    label.setText(text)
    label.setFixedHeight(height)
    return label
