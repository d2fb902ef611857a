"""Predictions against targets over time (``pictures/predictions.py``).

Regression (mse): ŷ_k(t) as a curve and the target y_k(t) as dots, one output at a time
(a chooser when K > 1). Cross-entropy: the target's probability p_y(t), then the
predicted class (crosses) against the target class (circles), both labelled by their
tokens when the run has a vocabulary. Under either, the loss per step l(t). The read-out
runs after the forward pass: its numbers appear at the loss frame; the targets, being
data, are always drawn. Curves are set once per pass; a frame only shows or hides them
and moves the cursor.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy

from ..pictures.model_views import ModelViews, step_frame
from ..pictures.tables import csv_text
from .plain import PlainLabel
from .plots import MIN_PLOT_HEIGHT, CursorLine, quiet_plot
from .steady import steady_box, steady_height
from .token_axis import RowAxis, use_row_axis, use_token_axis
from .view_base import VisibleView

PREDICTION_PEN = pg.mkPen((200, 40, 40), width=1)
TARGET_BRUSH = pg.mkBrush(40, 90, 200)
LOSS_PEN = pg.mkPen((90, 90, 90), width=1)


class PredictionsView(VisibleView):
    @staticmethod
    def applies(mv: ModelViews) -> bool:
        return mv.has_readout()

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.output = QComboBox(self)
        self.output.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.output.setToolTip("the read-out's output shown (regression with K > 1 outputs)")
        self.output.currentIndexChanged.connect(self._on_output)
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(2 * MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.main = self.graphics.addPlot(row=0, col=0)
        self.classes = self.graphics.addPlot(row=1, col=0)
        self.loss = self.graphics.addPlot(row=2, col=0)
        self.plots = (self.main, self.classes, self.loss)
        self.time_axes = []
        for p in self.plots:
            quiet_plot(p)
            p.showGrid(x=True, y=True, alpha=0.2)
            self.time_axes.append(use_token_axis(p))
        self.class_axis: RowAxis = use_row_axis(self.classes)
        self.classes.setXLink(self.main)
        self.loss.setXLink(self.main)
        self.loss.setLabel("left", "l(t)")
        self.loss.setLabel("bottom", "time step t")
        self.prediction = self.main.plot([], [], pen=PREDICTION_PEN, symbol="o", symbolSize=4,
                                         symbolBrush=(200, 40, 40), symbolPen=None,
                                         name="prediction")
        self.target = pg.ScatterPlotItem(size=7, brush=None, pen=pg.mkPen((40, 90, 200),
                                                                           width=1.5))
        self.main.addItem(self.target)
        self.predicted = pg.ScatterPlotItem(size=8, symbol="x", brush=pg.mkBrush(200, 40, 40),
                                            pen=pg.mkPen((200, 40, 40), width=1.5))
        self.target_class = pg.ScatterPlotItem(size=9, brush=None,
                                               pen=pg.mkPen((40, 90, 200), width=1.5))
        self.classes.addItem(self.target_class)
        self.classes.addItem(self.predicted)
        self.loss_curve = self.loss.plot([], [], pen=LOSS_PEN, symbol="o", symbolSize=3,
                                         symbolBrush=(90, 90, 90), symbolPen=None)
        self.cursors = []
        for p in self.plots:
            line = CursorLine()
            p.addItem(line)
            self.cursors.append(line)
        self.waiting = pg.TextItem("predictions: known from the loss frame on",
                                   color=(120, 120, 120), anchor=(0.5, 0.5))
        self.main.addItem(self.waiting, ignoreBounds=True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        top.addWidget(self.output)
        self.stack(top, self.graphics)
        self.setToolTip("red: the read-out's prediction · blue circles: the target · grey: "
                        "the loss per step · hover for a step's numbers, click to go to it")
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._click)
        self._built = None
        self._known = None
        self.known = False

    def trace_changed(self):
        self._built = None
        self._known = None

    def layer_changed(self):
        """Nothing to drop: the picture is of the whole model (``ModelViews``), the same
        whichever layer the per-step views show."""

    @property
    def models(self) -> ModelViews:
        return ModelViews.of(self.session)

    def _on_output(self, _):
        self._built = None
        self.request()

    def _build(self, mv: ModelViews) -> None:
        """Once per pass (and output): every curve's data, the axes' ranges and labels."""
        p = mv.predictions
        t = p.t
        T = p.steps
        xent = p.kind == "xent"
        self.classes.setVisible(xent)
        self.output.setVisible(p.kind == "mse" and p.outputs > 1)
        if p.kind == "mse" and self.output.count() != p.outputs:
            with pg.SignalBlock(self.output.currentIndexChanged, self._on_output):
                self.output.clear()
                self.output.addItems([f"output {k}" for k in range(p.outputs)])
        for axis in self.time_axes:
            axis.set_tokens(mv.tokens)
        scored = p.scored
        if xent:
            self.main.setLabel("left", "p(target)")
            self.prediction.setData(t[scored], p.p_target[scored])
            self.target.setData([], [])
            self.main.setYRange(0, 1, padding=0.05)
            self.predicted.setData(t, p.predicted.astype(float) + 0.5)
            ok = p.target >= 0
            self.target_class.setData(t[ok], p.target[ok].astype(float) + 0.5)
            names = [mv.tokens.text(k) if mv.tokens is not None and mv.vocab is not None
                     and len(mv.vocab) == p.outputs else str(k) for k in range(p.outputs)]
            self.class_axis.set_texts(names)
            self.classes.setYRange(0, p.outputs, padding=0.02)
            self.classes.setLabel("left", "class")
        else:
            k = max(0, self.output.currentIndex())
            self.main.setLabel("left", f"ŷ_{k}, y_{k}")
            self.prediction.setData(t, p.y_hat[:, k])
            ok = p.scored
            self.target.setData(t[ok], p.target[ok, k])
            with np.errstate(all="ignore"):
                both = np.concatenate([p.y_hat[:, k], p.target[ok, k]])
                both = both[np.isfinite(both)]
            lo, hi = (float(both.min()), float(both.max())) if both.size else (-1.0, 1.0)
            self.main.setYRange(lo, hi if hi > lo else lo + 1, padding=0.08)
        self.loss_curve.setData(t[scored], p.loss[scored])
        self.main.setXRange(-0.5, T - 0.5, padding=0.01)
        self.waiting.setPos((T - 1) / 2, 0.5 if xent else sum(self.main.viewRange()[1]) / 2)

    def refresh(self):
        mv = self.models
        p = mv.predictions
        if not p.available:
            self.info.setText("this pass has no read-out")
            return
        key = (id(p), self.output.currentIndex())
        if self._built != key:
            self._built = key
            self._known = None
            self._build(mv)
        frame = self.session.frame
        st = p.state(frame, mv.focus(frame))
        self.known = st.known
        if self._known != st.known:
            self._known = st.known
            for item in (self.prediction, self.predicted, self.loss_curve):
                item.setVisible(st.known)
            self.waiting.setVisible(not st.known)
        for line in self.cursors:
            line.setValue(st.cursor)
        if st.known:
            self.info.setText(p.describe(st.cursor, mv.tokens))
        else:
            self.info.setText("forward pass: the read-out runs at the loss frame "
                              "(targets shown)")

    def _step_at(self, pos) -> int | None:
        for plot in self.plots:
            vb = plot.getViewBox()
            if plot.isVisible() and vb.sceneBoundingRect().contains(pos):
                t = int(np.floor(vb.mapSceneToView(pos).x() + 0.5))
                return t if 0 <= t < self.models.predictions.steps else None
        return None

    def _hover(self, pos):
        t = self._step_at(pos)
        mv = self.models
        if t is None or not mv.predictions.available:
            return
        if self.known:
            self.info.setText(mv.predictions.describe(t, mv.tokens))
        else:
            self.info.setText(f"t={t}: not computed yet (the read-out runs at the loss frame)")

    def _click(self, event):
        if event.button() != Qt.MouseButton.LeftButton:
            return
        t = self._step_at(event.scenePos())
        if t is not None:
            backward = self.session.frame.phase != "fwd"
            self.session.goto(step_frame(self.models.predictions.steps, t, backward))

    def csv(self) -> str:
        p = self.models.predictions
        if not p.available:
            return csv_text(["step"], [])
        return csv_text(*p.table(self.known))
