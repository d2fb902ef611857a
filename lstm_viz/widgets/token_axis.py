"""Axes labelled by tokens: a time axis whose steps read as their tokens (as many as fit,
chosen by ``pictures/tokens.py``), and a row axis with one text per row (tokens, layers,
classes), thinned to a label's height. Without tokens the time axis is the ordinary
whole-step axis."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

from ..pictures.tokens import Tokens, row_step
from .plots import ROOM_PX, StepAxis, cached_axis


class TokenAxis(StepAxis):
    """A horizontal time axis: step numbers, or the steps' tokens when ``set_tokens``
    gave some."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokens: Tokens | None = None
        self._tokens_set = 0                    # counts set_tokens: the pictures' key

    def picture_key_extra(self) -> tuple:
        return (self._tokens_set,)

    def set_tokens(self, tokens: Tokens | None) -> None:
        if tokens is self.tokens:
            return
        self.tokens = tokens
        self._tokens_set += 1
        self.picture = None                   # pyqtgraph redraws its ticks from scratch
        self.update()

    def _char_px(self) -> float:
        font = self.style.get("tickFont") or self.font()
        return QFontMetricsF(font).averageCharWidth()

    def tickValues(self, minVal, maxVal, size):
        if self.tokens is None:
            return super().tickValues(minVal, maxVal, size)
        ticks = self.tokens.ticks(minVal, maxVal, size, self._char_px())
        self._texts = dict(ticks)
        return [(1.0, [float(t) for t, _ in ticks])]

    def tickStrings(self, values, scale, spacing):
        if self.tokens is None:
            return super().tickStrings(values, scale, spacing)
        texts = getattr(self, "_texts", {})
        return [texts.get(int(round(v)), "") for v in values]


def use_token_axis(plot: pg.PlotItem) -> TokenAxis:
    """Give ``plot`` a TokenAxis at the bottom, styled as ``plots.quiet_plot`` styles
    its axes."""
    axis = TokenAxis("bottom")
    plot.setAxisItems({"bottom": axis})
    cached_axis(axis)
    axis.setStyle(tickTextOffset=2, autoReduceTextSpace=False)
    axis.enableAutoSIPrefix(False)
    return axis


class RowAxis(StepAxis):
    """A vertical axis with a text per row (row r centred at r + 0.5), every k-th row
    when they would crowd."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts: list[str] = []

    def picture_key_extra(self) -> tuple:
        return tuple(self.texts)

    def set_texts(self, texts: list[str]) -> None:
        if texts == self.texts:
            return
        self.texts = list(texts)
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):
        if not self.texts:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = sorted((minVal, maxVal))             # an inverted axis gives them reversed
        k = row_step(len(self.texts), size * len(self.texts) / max(hi - lo, 1e-9), ROOM_PX)
        return [(1.0, [r + 0.5 for r in range(0, len(self.texts), k) if lo <= r + 0.5 <= hi])]

    def tickStrings(self, values, scale, spacing):
        if not self.texts:
            return super().tickStrings(values, scale, spacing)
        n = len(self.texts)
        return [self.texts[int(v)] if 0 <= int(v) < n else "" for v in values]


def use_row_axis(plot: pg.PlotItem) -> RowAxis:
    axis = RowAxis("left")
    plot.setAxisItems({"left": axis})
    cached_axis(axis)
    axis.setStyle(tickTextOffset=2, autoReduceTextSpace=False)
    axis.enableAutoSIPrefix(False)
    return axis
