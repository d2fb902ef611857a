"""The embedding's gradient dE as of the frame: one row per token that occurs in the
pass (labelled by its text when the run has a vocabulary), one column per input of
layer 0; a row fills in as the backward pass reaches layer 0's dxc at that token's
steps. Numbers from ``pictures/embedding_grads.py``."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy

from ..pictures.colors import DIVERGING
from ..pictures.model_views import ModelViews
from ..pictures.tables import csv_text
from .plain import PlainLabel, set_plain_tooltip
from .plots import MIN_PLOT_HEIGHT, Heatmap
from .steady import steady_box, steady_height
from .token_axis import use_row_axis
from .view_base import VisibleView


class EmbeddingGradView(VisibleView):
    """dE rows of the tokens that occur, as of the frame."""

    @staticmethod
    def applies(mv: ModelViews) -> bool:
        return mv.has_embedding()

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.map = Heatmap(self.graphics.ci, 0, 0, title="dE (rows: the tokens that occur)",
                           order="row-major")
        self.rows = use_row_axis(self.map.plot)
        self.map.plot.setLabel("left", "token")
        self.map.plot.setLabel("bottom", "embedding column (input of layer 0)")
        self.map.plot.invertY(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        self.stack(top, self.graphics)
        self.setToolTip("dE[v] = Σ of layer 0's dx(t) over the steps t whose token is v, "
                        "for the steps the backward pass has processed · hover for a value")
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self._built = None
        self._shown = None
        self.state = None

    def trace_changed(self):
        self._built = None
        self._shown = None

    def layer_changed(self):
        """Nothing to drop: the picture is of the whole model (``ModelViews``), the same
        whichever layer the per-step views show."""

    @property
    def models(self) -> ModelViews:
        return ModelViews.of(self.session)

    def _texts(self, mv: ModelViews) -> list[str]:
        eg, tok = mv.embedding_grads, mv.tokens
        if tok is None:
            return [str(int(v)) for v in eg.occurring]
        return [tok.text(int(v)) for v in eg.occurring]

    def refresh(self):
        mv = self.models
        eg = mv.embedding_grads
        if not eg.available:
            self.info.setText("this pass has no embedding")
            return
        R, X = len(eg.occurring), eg.dx.shape[1]
        rect = QRectF(0, 0, X, R)
        if self._built is not eg:
            self._built = eg
            self._shown = None
            self.map.set_image(np.zeros((R, X), np.float32), rect, DIVERGING, eg.levels())
            self.rows.set_texts(self._texts(mv))
        st = eg.state(self.session.frame)
        self.state = st
        if not st.computed:
            self.map.set_pending(0, X)
            self.map.set_special(None)
        else:
            self.map.set_pending(None)
            if self._shown != st.first:
                self._shown = st.first
                self.map.set_values(st.rows, rect, DIVERGING, st.levels)
        warn = st.special.text()
        self.info.setText(st.caption + (f"  ⚠ {warn}" if warn else ""))
        set_plain_tooltip(self.info, self.info.text())

    def _hover(self, pos):
        st = self.state
        got = self.map.at(pos)
        eg = self.models.embedding_grads
        if st is None or got is None or not eg.available:
            return
        c, r = int(np.floor(got[0])), int(np.floor(got[1]))
        if not (0 <= r < len(eg.occurring) and 0 <= c < eg.dx.shape[1]):
            return
        v = int(eg.occurring[r])
        where = f"dE[token {v} '{self.rows.texts[r]}', column {c}]"
        if st.rows is None:
            self.info.setText(f"{where}: not computed yet")
        else:
            self.info.setText(f"{where} = {float(st.rows[r, c]):.6g}")

    def csv(self) -> str:
        mv = self.models
        eg = mv.embedding_grads
        if not eg.available:
            return csv_text(["token_id", "token", "column", "value"], [])
        return csv_text(*eg.table(eg.state(self.session.frame), mv.tokens))
