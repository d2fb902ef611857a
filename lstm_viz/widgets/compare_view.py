"""Run ▸ Compare Variants: two configurations on the same data and seed, side by side and
frame-synchronised with the debugger, with the difference of any recorded quantity.

Three time × unit heatmaps (left, right, right − left) of the chosen quantity, a line at
the cursor's time step, and the difference at the cursor's frame. The comparison is a
``compare.Comparison`` of two sessions; the debugger's cursor drives the left one.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QVBoxLayout,
)

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line
from lstm_engine.trace import STEP_NAMES

from ..model.compare import Comparison, describe
from ..pictures.colors import DIVERGING
from .plain import PlainLabel
from .plots import Heatmap

PRESETS = {
    "seed against standard": (dict(variant="seed", backward=""),
                              dict(variant="standard", backward="")),
    "right backward against the wrong one": (dict(variant="standard", backward=""),
                                             dict(variant="standard", backward="seed")),
    "forget bias 0 against 1": (dict(forget_bias=0.0), dict(forget_bias=1.0)),
    "this run against itself": ({}, {}),
}
QUANTITIES = tuple(n for n in STEP_NAMES if n != "loss")


class CompareView(QDialog):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Compare variants")
        self.comparison: Comparison | None = None
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.currentTextChanged.connect(self.build)
        self.quantity = QComboBox()
        self.quantity.addItems(QUANTITIES)
        self.quantity.setCurrentText("ds")
        self.quantity.currentTextChanged.connect(lambda *_: self.refresh())
        self.summary = PlainLabel()
        self.summary.setWordWrap(True)
        self.at_frame = PlainLabel()
        top = QHBoxLayout()
        top.addWidget(PlainLabel("Compare"))
        top.addWidget(self.preset, 2)
        top.addWidget(PlainLabel("Quantity"))
        top.addWidget(self.quantity, 1)
        grid = QGridLayout()
        # The debugger's heatmaps (its colour map, NaN/Inf colours, colour bar, cursor
        # line), zoomed together with the mouse.
        self.maps: list[Heatmap] = []
        self.titles: list[PlainLabel] = []
        for c in range(3):
            title = PlainLabel()
            canvas = pg.GraphicsLayoutWidget()
            heat = Heatmap(canvas.ci, 0, 0)
            heat.plot.setLabel("bottom", "time step t")
            heat.plot.setLabel("left", "unit")
            heat.plot.setMouseEnabled(x=True, y=True)
            heat.plot.showButtons()
            grid.addWidget(title, 0, c)
            grid.addWidget(canvas, 1, c)
            self.maps.append(heat)
            self.titles.append(title)
        for heat in self.maps[1:]:
            heat.plot.setXLink(self.maps[0].plot)
            heat.plot.setYLink(self.maps[0].plot)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)
        layout.addWidget(self.at_frame)
        self.resize(1200, 480)
        self._stale = True
        session.events.frame_changed.connect(self._follow)
        session.events.config_changed.connect(self._config_changed)
        self.build()

    def _config_changed(self, *_):
        self._stale = True
        if self.isVisible():
            self.build()

    def showEvent(self, event):
        super().showEvent(event)
        if self._stale:
            self.build()
        else:
            self.refresh()

    def build(self, *_):
        """Two sessions from the debugger's configuration with the preset's changes."""
        self._stale = False
        if self.comparison is not None:
            self.comparison.close()
            self.comparison = None
        base = self.session.config
        if base.task == "file":
            self.summary.setText("a run read from a file cannot be re-run with other "
                                 "settings; configure a task to compare variants")
            return
        a, b = PRESETS[self.preset.currentText()]
        try:
            self.comparison = Comparison.of(base.with_(**a), base.with_(**b))
        except UserError as err:
            self.summary.setText(one_line(err))
            return
        self.comparison.left.seek(self.session.cursor)
        self.refresh()

    def _follow(self, index: int):
        if self.comparison is not None and self.isVisible():
            self.comparison.left.seek(index)
            self._update_cursor()

    def refresh(self):
        c = self.comparison
        if c is None:
            return
        name = self.quantity.currentText()
        im = c.images(name)
        la, lb = c.labels()
        for heat, data, levels, title, text in (
                (self.maps[0], im.left, im.levels, self.titles[0], f"left: {la}"),
                (self.maps[1], im.right, im.levels, self.titles[1], f"right: {lb}"),
                (self.maps[2], im.diff, im.diff_levels, self.titles[2],
                 f"right − left   max |Δ| = {im.max_diff:.3g}")):
            heat.set_values(data, QRectF(0, 0, *data.shape), DIVERGING, levels)
            title.setText(text)
        worst = sorted(c.max_differences().items(), key=lambda kv: -kv[1])[:5]
        self.summary.setText(
            f"{describe(c.left.config)}  vs  {describe(c.right.config)}.  Largest "
            "differences: " + ", ".join(f"{n} {v:.2g}" for n, v in worst if v > 0)
            if worst and worst[0][1] > 0 else "The two runs are identical everywhere.")
        self._update_cursor()

    def _update_cursor(self):
        c = self.comparison
        if c is None:
            return
        frame = c.left.frame
        t = c.left.data.focus_step(frame)
        for heat in self.maps:
            heat.set_cursor(t + 0.5)
        name = self.quantity.currentText()
        d = c.max_difference_at(name)
        where = c.left.frame_text
        if d is None:
            self.at_frame.setText(f"at {where}: {name} is not computed yet")
        else:
            self.at_frame.setText(f"at {where}: max |Δ{name}(t={t})| = {d:.4g}")

    def choose(self, preset: str, quantity: str | None = None) -> None:
        with QSignalBlocker(self.quantity):
            if quantity is not None:
                self.quantity.setCurrentText(quantity)
        self.preset.setCurrentText(preset)
        self.build()

    def closeEvent(self, event):
        if self.comparison is not None:
            self.comparison.close()
        super().closeEvent(event)
