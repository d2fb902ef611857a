"""The training dock's gradient map: a weight gradient of the pass shown, or its change
from the previous iteration's pass, in the debugger's heatmap (its colour map, the NaN/Inf
colours, a colour bar) under a caption. It follows the session's pass while visible."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.params import PARAM_NAMES

from ..model.training_run import gradient_image
from ..pictures.colors import DIVERGING
from .plain import PlainLabel
from .plots import Heatmap


class GradientMap(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.grad_name = QComboBox()
        self.grad_name.addItems([f"{p}_diff" for p in PARAM_NAMES if p.startswith("w")])
        self.diff = QCheckBox("Δ from previous iteration")
        canvas = pg.GraphicsLayoutWidget()
        canvas.setMinimumHeight(90)
        self.heat = Heatmap(canvas.ci, 0, 0, bar_width=10, order="row-major")
        self.heat.plot.invertY(True)
        self.heat.plot.setLabel("left", "unit")
        self.heat.plot.setLabel("bottom", "column of xc = [x, h_prev]")
        self.caption = PlainLabel()
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        choice_row = QHBoxLayout()
        choice_row.addWidget(self.grad_name)
        choice_row.addWidget(self.diff)
        choice_row.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(choice_row)
        column.addWidget(self.caption)
        column.addWidget(canvas, 1)
        self.grad_name.currentTextChanged.connect(lambda *_: self.refresh())
        self.diff.toggled.connect(lambda *_: self.refresh())
        session.events.trace_changed.connect(lambda *_: self.refresh())
        session.events.view_layer_changed.connect(lambda *_: self.refresh())
        session.events.iteration_changed.connect(lambda *_: self.refresh())

    def refresh(self) -> None:
        if not self.isVisible():
            return                                 # showEvent catches up
        diff = self.diff.isChecked()
        got = gradient_image(self.session.trace, self.grad_name.currentText(),
                             self.session.previous_trace() if diff else None, diff)
        if got is None:
            self.caption.setText("no previous iteration kept")
            self.heat.clear()
            return
        rows, cols = got.image.shape
        self.heat.set_values(got.image, QRectF(0, 0, cols, rows), DIVERGING, got.levels)
        self.caption.setText(got.text)

    def showEvent(self, event):
        super().showEvent(event)
        self.refresh()
