"""Gradient flow through depth and time: log10‖ds‖ as one picture, rows = layers (the top
on top), columns = steps, beside the flow curves. It renders ``pictures/depth_flow.py``;
the image is set once per pass, a frame only moves the grey "not computed" cells, the
cursor and the caption. Shown for passes of more than one layer (with one layer the
curves of the flow view say the same)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy

from ..pictures.colors import NOT_COMPUTED_RGB, SEQUENTIAL, finite_or_zero, special_rgba
from ..pictures.model_views import ModelViews, step_frame
from ..pictures.tables import csv_text
from .plain import PlainLabel, set_plain_tooltip
from .plots import MIN_PLOT_HEIGHT, Heatmap
from .steady import steady_box, steady_height
from .token_axis import use_row_axis, use_token_axis
from .view_base import VisibleView


class DepthFlowView(VisibleView):
    """log10‖ds(l, t)‖ for every layer l and step t, as of the frame."""

    @staticmethod
    def applies(mv: ModelViews) -> bool:
        return mv.has_layers()

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.ratio = steady_height(PlainLabel(self))
        self.ratio.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.map = Heatmap(self.graphics.ci, 0, 0, order="row-major")
        self.map.keep_picture()
        self.time_axis = use_token_axis(self.map.plot)
        self.layer_axis = use_row_axis(self.map.plot)
        self.map.plot.setLabel("bottom", "time step t")
        self.map.plot.setLabel("left", "layer")
        self.grey = pg.ImageItem(axisOrder="row-major")
        self.grey.setZValue(10)
        self.map.plot.addItem(self.grey)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        self.stack(top, steady_box(self.ratio), self.graphics)
        self.setToolTip("log10 ‖ds(t)‖ of every layer: dark = small gradient, bright = "
                        "large · grey: not computed yet · hover for the value, click to go "
                        "to that step of the backward pass")
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._click)
        self._built = None
        self._grey_key = None
        self.state = None

    def trace_changed(self):
        self._built = None
        self._grey_key = None

    def layer_changed(self):
        """Nothing to drop: the picture is of the whole model (``ModelViews``), the same
        whichever layer the per-step views show."""

    @property
    def models(self) -> ModelViews:
        return ModelViews.of(self.session)

    def refresh(self):
        mv = self.models
        df = mv.depth_flow
        L, T = df.layers, df.steps
        if self._built is not df:
            self._built = df
            rect = QRectF(-0.5, 0, T, L)
            self.map.set_image(finite_or_zero(df.log), rect, SEQUENTIAL, df.levels)
            self.map.set_special(special_rgba(df.log))
            self.layer_axis.set_texts([f"L{n}" for n in range(L)])
            self.time_axis.set_tokens(mv.tokens)
        frame = self.session.frame
        st = df.state(frame, mv.focus(frame))
        self.state = st
        if st.known_from != self._grey_key:
            self._grey_key = st.known_from
            rgba = np.zeros((L, T, 4), np.uint8)
            rgba[df.pending(st)] = (*NOT_COMPUTED_RGB, 255)
            self.grey.setImage(rgba, autoLevels=False, levels=(0, 255))
            # After setImage: setRect scales by the image's size at the time (placed before
            # the first image, the grey came out T×L times too large and hid everything).
            self.grey.setRect(QRectF(-0.5, 0, T, L))
        self.map.set_cursor(st.cursor)
        special = df.special_known(st)
        warn = f"  ⚠ {special.text()}" if special.total else ""
        if st.cursor is None:
            self.info.setText(f"log10 ‖ds‖, {L} layers × {T} steps: not computed yet "
                              f"(the backward pass fills it from t={T - 1}){warn}")
        else:
            done = sum(T - k for k in st.known_from)
            self.info.setText(f"log10 ‖ds‖: {done}/{L * T} (layer, step) known · "
                              f"levels {df.levels[0]:.2f} … {df.levels[1]:.2f}{warn}")
        self.ratio.setText(df.ratio_text(st))
        set_plain_tooltip(self.ratio, "how many decades ‖ds‖ loses from the top layer to "
                          "layer 0, and from the last step back to the earliest known one")

    def _hover(self, pos):
        st, df = self.state, self.models.depth_flow
        got = self.map.at(pos)
        if st is None or got is None:
            return
        t, layer = int(np.floor(got[0] + 0.5)), int(np.floor(got[1]))
        if not (0 <= t < df.steps and 0 <= layer < df.layers):
            return
        tok = self.models.tokens
        where = f"layer {layer}, step {t}" + (f" ('{tok.at(t)}')" if tok is not None else "")
        if t < st.known_from[layer]:
            self.info.setText(f"{where}: not computed yet")
        else:
            self.info.setText(f"{where}: ‖ds‖ = {df.norms[layer, t]:.6g} "
                              f"(log10 {df.log[layer, t]:.4g})")

    def _click(self, event):
        if event.button() != Qt.MouseButton.LeftButton:
            return
        got = self.map.at(event.scenePos())
        if got is not None:
            self.session.goto(step_frame(self.models.depth_flow.steps,
                                         int(np.floor(got[0] + 0.5)), True))

    def csv(self) -> str:
        df = self.models.depth_flow
        frame = self.session.frame
        return csv_text(*df.table(df.state(frame, self.models.focus(frame))))
