"""The read-out's gradients as of the frame: wy_diff (K × H), rows = outputs (classes,
labelled by their tokens when the run has a vocabulary of K entries), columns = the top
layer's units, and beside it by_diff (K), each on its own colour scale (by_diff sums
dl/dŷ alone, wy_diff multiplies it by h: their sizes differ by far). It fills in as the
backward pass runs, like the parameter gradients; numbers from
``pictures/readout_grads.py``."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy

from ..pictures.colors import DIVERGING, Special
from ..pictures.model_views import ModelViews
from ..pictures.tables import csv_text
from .plain import PlainLabel, set_plain_tooltip
from .plots import MIN_PLOT_HEIGHT, Heatmap
from .steady import steady_box, steady_height
from .token_axis import use_row_axis
from .view_base import VisibleView


def output_names(mv: ModelViews, outputs: int) -> list[str]:
    """Row labels: the tokens of a cross-entropy read-out over the run's vocabulary, else
    the output index."""
    tok = mv.tokens
    if mv.model.loss_name == "xent" and mv.vocab is not None and len(mv.vocab) == outputs \
            and tok is not None:
        return [tok.text(k) for k in range(outputs)]
    return [str(k) for k in range(outputs)]


class ReadoutGradView(VisibleView):
    """[wy_diff | by_diff] as of the frame."""

    @staticmethod
    def applies(mv: ModelViews) -> bool:
        return mv.has_readout()

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.map = Heatmap(self.graphics.ci, 0, 0, title="wy_diff", order="row-major")
        self.rows = use_row_axis(self.map.plot)
        self.map.plot.setLabel("left", "output")
        self.map.plot.setLabel("bottom", "top layer's unit j")
        self.map.plot.invertY(True)
        self.bias = Heatmap(self.graphics.ci, 0, 2, title="by_diff", order="row-major",
                            bar_width=10)
        self.bias.plot.invertY(True)
        self.bias.plot.setYLink(self.map.plot)
        self.bias.plot.hideAxis("left")
        self.bias.plot.getAxis("bottom").setTicks([[], []])
        self.bias.plot.setFixedWidth(62)
        self.graphics.ci.layout.setColumnStretchFactor(0, 10)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        self.stack(top, self.graphics)
        self.setToolTip("the read-out's weight gradient wy_diff = Σ outer(dl/dŷ(t), h_top(t)) "
                        "and by_diff = Σ dl/dŷ(t) (right), summed over the steps the "
                        "backward pass has processed · hover for a value")
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self._shape = None
        self._shown = None
        self.state = None

    def trace_changed(self):
        self._shape = None
        self._shown = None

    def layer_changed(self):
        """Nothing to drop: the picture is of the whole model (``ModelViews``), the same
        whichever layer the per-step views show."""

    @property
    def models(self) -> ModelViews:
        return ModelViews.of(self.session)

    def _setup(self, mv: ModelViews) -> None:
        rg = mv.readout_grads
        if self._shape == (id(rg), rg.shape):
            return
        self._shape = (id(rg), rg.shape)
        K, H = rg.shape
        wy_levels, by_levels = rg.levels()
        self.map.set_image(np.zeros((K, H), np.float32), QRectF(0, 0, H, K), DIVERGING,
                           wy_levels)
        self.bias.set_image(np.zeros((K, 1), np.float32), QRectF(0, 0, 1, K), DIVERGING,
                            by_levels)
        self.rows.set_texts(output_names(mv, K))
        self._shown = None

    def refresh(self):
        mv = self.models
        rg = mv.readout_grads
        if not rg.available:
            self.info.setText("this pass has no read-out")
            return
        self._setup(mv)
        st = rg.state(self.session.frame)
        self.state = st
        K, H = rg.shape
        if not st.computed or st.wy is None or st.by is None:
            self._shown = None
            self.map.set_pending(0, H)
            self.bias.set_pending(0, 1)
            self.map.set_special(None)
            self.bias.set_special(None)
        else:
            self.map.set_pending(None)
            self.bias.set_pending(None)
            if self._shown != st.first:
                self._shown = st.first
                self.map.set_values(st.wy, QRectF(0, 0, H, K), DIVERGING, st.levels)
                self.bias.set_values(st.by[:, None], QRectF(0, 0, 1, K), DIVERGING,
                                     st.by_levels)
        warn = st.special.text()
        self.info.setText(st.caption + (f"  ⚠ {warn}" if warn else ""))
        set_plain_tooltip(self.info, self.info.text())

    def _hover(self, pos):
        st = self.state
        if st is None or not self.models.readout_grads.available:
            return
        K, H = self.models.readout_grads.shape
        got, in_bias = self.map.at(pos), False
        if got is None:
            got, in_bias = self.bias.at(pos), True
        if got is None:
            return
        c, k = (H if in_bias else int(np.floor(got[0]))), int(np.floor(got[1]))
        if not (0 <= k < K and 0 <= c <= H):
            return
        name = self.rows.texts[k] if k < len(self.rows.texts) else str(k)
        where = f"by_diff[{name}]" if c == H else f"wy_diff[{name}, unit {c}]"
        if st.wy is None or st.by is None:
            self.info.setText(f"{where}: not computed yet")
            return
        value = st.by[k] if c == H else st.wy[k, c]
        self.info.setText(f"{where} = {float(value):.6g}")

    @property
    def special(self) -> Special:
        return Special() if self.state is None else self.state.special

    def csv(self) -> str:
        rg = self.models.readout_grads
        if not rg.available:
            return csv_text(["parameter", "output", "unit", "value"], [])
        return csv_text(*rg.table(rg.state(self.session.frame)))
