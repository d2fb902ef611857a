"""The constant error carousel: the LSTM cell at the cursor's step, drawn by the app.

The cell state runs along the top from s(t-1) through ×f and + (g·i) to s(t) and on to
t+1; s(t) branches down (through tanh for the ``standard`` variant) to ×o and h(t), which
runs along the bottom to t+1 beside the bus that brings h(t-1) and x(t) to the four
gates. Faint boxes for t-1 and t+1 make the carousel read as a line through time.

Each edge carries a strip of coloured cells (one per unit, one pixmap per edge) and its
norm; the edge the current statement writes is highlighted (orange), the ones it reads
are drawn blue. In the backward pass the same edges carry the gradients, arrows reversed.
What each edge carries at a frame comes from ``pictures/carousel.py``; hover a strip for
the unit and its exact value.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QSizePolicy,
    QVBoxLayout,
)

from ..model.driver_source import top_diff_h_origin, top_diff_h_short
from ..pictures.carousel import EDGES, unit_at
from ..pictures.colors import DIVERGING_LUT, NOT_COMPUTED_RGB, SEQUENTIAL_LUT, to_rgba
from ..pictures.tables import csv_text
from .plain import PlainLabel, plain_tooltip
from .plots import MIN_CAROUSEL_HEIGHT
from .steady import steady_height
from .view_base import VisibleView

W, H_SCENE = 900.0, 300.0      # room right of the strips (and their names) for the t+1 box
Y_CAR, Y_MID, Y_GATE, Y_BUS = 62.0, 112.0, 170.0, 250.0
GATE_X = {"f": 212.0, "g": 337.0, "i": 462.0, "o": 587.0}
GATE_W, GATE_H = 118.0, 54.0
X_GI, X_JUNCTION, X_INPUT = 399.5, 680.0, 150.0
STRIP_W, STRIP_H = 90.0, 11.0
NODE_R = 12.0
CAPTION_H, NORM_GAP = 16.0, 1.0

BASE = QColor(95, 95, 105)
ACTIVE = QColor(235, 120, 0)
FEED = QColor(60, 125, 205)
FAINT = QColor(165, 165, 178)
TEXT = QColor(30, 30, 40)
NORM_TEXT = QColor(70, 70, 85)
PENDING = QColor(*NOT_COMPUTED_RGB)

# Each edge as a polyline in the forward direction.
PATHS = {
    "s_prev": [(36, Y_CAR), (GATE_X["f"] - NODE_R, Y_CAR)],
    "f": [(GATE_X["f"], Y_GATE - GATE_H / 2), (GATE_X["f"], Y_CAR + NODE_R)],
    "g": [(GATE_X["g"], Y_GATE - GATE_H / 2), (GATE_X["g"], Y_MID), (X_GI - NODE_R, Y_MID)],
    "i": [(GATE_X["i"], Y_GATE - GATE_H / 2), (GATE_X["i"], Y_MID), (X_GI + NODE_R, Y_MID)],
    "s": [(X_GI + NODE_R, Y_CAR), (X_JUNCTION, Y_CAR)],
    "s_next": [(X_JUNCTION, Y_CAR), (W, Y_CAR)],
    "h_branch": [(X_JUNCTION, Y_CAR), (X_JUNCTION, Y_GATE - NODE_R)],
    "o": [(GATE_X["o"] + GATE_W / 2, Y_GATE), (X_JUNCTION - NODE_R, Y_GATE)],
    "h": [(X_JUNCTION, Y_GATE + NODE_R), (X_JUNCTION, Y_BUS), (W, Y_BUS)],
    "h_prev": [(36, Y_BUS), (GATE_X["o"], Y_BUS)],
    "x": [(X_INPUT, H_SCENE), (X_INPUT, Y_BUS)],
}
STATIC = {   # lines that carry no strip of their own
    "sf": [(GATE_X["f"] + NODE_R, Y_CAR), (X_GI - NODE_R, Y_CAR)],
    "gi": [(X_GI, Y_MID - NODE_R), (X_GI, Y_CAR + NODE_R)],
    **{f"in_{k}": [(x, Y_BUS), (x, Y_GATE + GATE_H / 2)] for k, x in GATE_X.items()},
}
# Top-left of each strip (its name sits above it, its norm below); gates: inside the box.
_ABOVE = STRIP_H + 13.0
STRIPS = {
    "s_prev": (56.0, Y_CAR - _ABOVE - 2), "s": (470.0, Y_CAR - _ABOVE - 2),
    "s_next": (694.0, Y_CAR - _ABOVE - 2), "h_branch": (706.0, Y_MID - 8),
    "h": (694.0, Y_BUS - _ABOVE - 2), "h_prev": (56.0, Y_BUS - _ABOVE - 2),
    "x": (X_INPUT + 14, Y_BUS + 24),
    **{k: (x - STRIP_W / 2, Y_GATE - GATE_H / 2 + 19) for k, x in GATE_X.items()},
}


_PENS: dict = {}
_BRUSHES: dict = {}


def _pen(color: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    """A round-capped pen, made once per (colour, width, style) and then reused: a frame
    sets some forty pens, and an equal pen leaves an item untouched (no repaint)."""
    key = (color.rgba(), width, style)
    pen = _PENS.get(key)
    if pen is None:
        pen = _PENS[key] = QPen(color, width, style)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        pen.setCosmetic(False)
    return pen


def _brush(color: QColor) -> QBrush:
    key = color.rgba()
    brush = _BRUSHES.get(key)
    if brush is None:
        brush = _BRUSHES[key] = QBrush(color)
    return brush


def _path(points):
    p = QPainterPath(QPointF(*points[0]))
    for pt in points[1:]:
        p.lineTo(QPointF(*pt))
    return p


def _arrow(tip, tail, size=7.0) -> QPolygonF:
    (x1, y1), (x0, y0) = tip, tail
    a = math.atan2(y1 - y0, x1 - x0)
    left = (x1 - size * math.cos(a - 0.45), y1 - size * math.sin(a - 0.45))
    right = (x1 - size * math.cos(a + 0.45), y1 - size * math.sin(a + 0.45))
    return QPolygonF([QPointF(*tip), QPointF(*left), QPointF(*right)])


class Strip:
    """One edge's vector as a row of coloured cells, its name above and its norm below."""

    def __init__(self, scene: QGraphicsScene, x: float, y: float, font: QFont, small: QFont):
        self.rect = QRectF(x, y, STRIP_W, STRIP_H)
        self.pixmap = QGraphicsPixmapItem()
        self.pixmap.setPos(x, y)
        self.pixmap.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.pixmap.setZValue(4)
        self.frame = QGraphicsRectItem(self.rect.adjusted(-0.5, -0.5, 0.5, 0.5))
        self.frame.setPen(_pen(BASE, 0.8))
        self.frame.setBrush(QBrush(PENDING))
        self.frame.setZValue(3)
        self.caption = QGraphicsSimpleTextItem()
        self.caption.setFont(font)
        self.caption.setBrush(QBrush(TEXT))
        self.caption.setPos(x, y - CAPTION_H)
        self.norm = QGraphicsSimpleTextItem()
        self.norm.setFont(small)
        self.norm.setBrush(QBrush(NORM_TEXT))
        self.norm.setPos(x, y + STRIP_H + NORM_GAP)
        for item in (self.frame, self.pixmap, self.caption, self.norm):
            item.setZValue(max(item.zValue(), 3))
            scene.addItem(item)
        self.values: np.ndarray | None = None
        self.label = ""
        # What the items show now: a seek sets only what changed (each Qt setter is a call
        # across to C++, and a new pixmap marks its strip's rectangle for repainting).
        self._colours: tuple | None = None
        self._cells = 0
        self._pen: QPen | None = None

    def set_visible(self, on: bool) -> None:
        for item in (self.frame, self.pixmap, self.caption, self.norm):
            item.setVisible(on)

    @staticmethod
    def _set_text(item: QGraphicsSimpleTextItem, text: str) -> None:
        if item.text() != text:
            item.setText(text)

    def show(self, label: str, values, levels, signed: bool, norm: float, special,
             caption: str | None = None) -> None:
        """``caption``: the name drawn above the strip, if not ``label`` (the hover's)."""
        self.set_visible(True)
        self.label = label
        self._set_text(self.caption, label if caption is None else caption)
        self.values = None if values is None else np.asarray(values)
        if values is None:
            self.pixmap.hide()
            self._set_text(self.norm, "not computed yet")
            return
        rgba = np.ascontiguousarray(to_rgba(values, levels,
                                            DIVERGING_LUT if signed else SEQUENTIAL_LUT)[None])
        n = rgba.shape[1]
        colours = (n, rgba.tobytes())
        if colours != self._colours:            # the same cells: the pixmap drawn stays
            self._colours = colours
            image = QImage(rgba.data, n, 1, 4 * n, QImage.Format.Format_RGBA8888)
            self.pixmap.setPixmap(QPixmap.fromImage(image))
        if n != self._cells:
            self._cells = n
            self.pixmap.setTransform(QTransform.fromScale(STRIP_W / max(1, n), STRIP_H))
        warn = f"  ⚠ {special.text()}" if special.total else ""
        self._set_text(self.norm, f"‖·‖ {norm:.4g}{warn}")

    def set_pen(self, pen: QPen) -> None:
        if pen is not self._pen:                # pens come from _pen(): one per look
            self._pen = pen
            self.frame.setPen(pen)


class CarouselView(VisibleView):
    """The cell diagram at the cursor's step."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.scene = QGraphicsScene(self)
        self.scene.setSceneRect(QRectF(0, 0, W, H_SCENE))
        self.view = _FitView(self.scene, self)
        self.hover = steady_height(PlainLabel(" ", self))
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(1)
        lay.addWidget(self.view, 1)
        self.tools = QHBoxLayout()
        self.tools.setContentsMargins(0, 0, 0, 0)
        self.tools.addWidget(self.hover, 1)
        lay.addLayout(self.tools)
        self.font = QFont(self.font())
        self.font.setPointSizeF(9.5)
        self.small = QFont(self.font)
        self.small.setPointSizeF(8.5)
        self.big = QFont(self.font)
        self.big.setPointSizeF(11)
        self.big.setBold(True)
        self._build()
        self.view.hovered.append(self._on_hover)
        self.state = None

    # ---- the drawing -------------------------------------------------------------------

    def _text(self, text, x, y, font=None, color=TEXT, centre=False):
        item = QGraphicsSimpleTextItem(text)
        item.setFont(font or self.font)
        item.setBrush(QBrush(color))
        if centre:
            r = item.boundingRect()
            x, y = x - r.width() / 2, y - r.height() / 2
        item.setPos(x, y)
        item.setZValue(6)
        self.scene.addItem(item)
        return item

    def _node(self, x, y, text, rx=NODE_R):
        e = QGraphicsEllipseItem(QRectF(x - rx, y - NODE_R, 2 * rx, 2 * NODE_R))
        e.setPen(_pen(BASE, 1.6))
        e.setBrush(QBrush(QColor(255, 255, 255)))
        e.setZValue(2)
        self.scene.addItem(e)
        self._text(text, x, y, self.big, centre=True)
        return e

    def _build(self):
        s = self.scene
        s.setBackgroundBrush(QBrush(QColor(255, 255, 255)))
        faint = _pen(FAINT, 1.2, Qt.PenStyle.DashLine)
        self.neighbours = []
        for x0, x1, anchor in ((0, 34, 2), (W - 34, W, W - 32)):
            box = QGraphicsRectItem(QRectF(x0, 18, x1 - x0, H_SCENE - 24))
            box.setPen(faint)
            box.setBrush(QBrush(QColor(246, 246, 250)))
            box.setZValue(-1)
            s.addItem(box)
            self.neighbours.append(self._text("", anchor, 20, self.small, color=FAINT))
        cell = QGraphicsRectItem(QRectF(42, 18, W - 84, H_SCENE - 24))
        cell.setPen(_pen(QColor(200, 200, 210), 1.2))
        cell.setZValue(-1)
        s.addItem(cell)
        self.title = self._text("", 44, 0, self.big)
        for pts in STATIC.values():
            item = QGraphicsPathItem(_path(pts))
            item.setPen(_pen(BASE, 2.0))
            s.addItem(item)
        self.lines: dict[str, QGraphicsPathItem] = {}
        self.arrows: dict[str, object] = {}
        for name, pts in PATHS.items():
            item = QGraphicsPathItem(_path(pts))
            item.setPen(_pen(BASE, 2.0))
            item.setZValue(1)
            s.addItem(item)
            self.lines[name] = item
            arrow = s.addPolygon(_arrow(pts[-1], pts[-2]), _pen(BASE, 1), QBrush(BASE))
            arrow.setZValue(1.5)
            self.arrows[name] = arrow
        self._node(GATE_X["f"], Y_CAR, "×")
        self._node(X_GI, Y_CAR, "+")
        self._node(X_GI, Y_MID, "×")
        self._node(X_JUNCTION, Y_GATE, "×")
        self.tanh = self._node(X_JUNCTION, Y_MID, "", rx=20)
        self.tanh_text = self._text("tanh", X_JUNCTION, Y_MID, self.font, centre=True)
        dot = s.addEllipse(QRectF(X_JUNCTION - 4, Y_CAR - 4, 8, 8), _pen(BASE, 1), QBrush(BASE))
        dot.setZValue(2)
        self.gates = {}
        for k, x in GATE_X.items():
            box = QGraphicsRectItem(QRectF(x - GATE_W / 2, Y_GATE - GATE_H / 2, GATE_W, GATE_H))
            box.setPen(_pen(BASE, 1.5))
            box.setBrush(QBrush(QColor(250, 250, 252)))
            box.setZValue(2)
            s.addItem(box)
            self.gates[k] = box
        self.strips = {name: Strip(s, *STRIPS[name], self.font, self.small) for name in EDGES
                       if name in STRIPS}
        self.formula = {k: f for k, f in (("g", "tanh"), ("i", "σ"), ("f", "σ"), ("o", "σ"))}
        # Under the cell-state line, between the g·i junction's line and the h branch
        # (further left the junction's vertical line crossed the words).
        self._text("cell state s: the constant error carousel", X_GI + 14, Y_CAR + 6,
                   self.small, color=FAINT)
        self._text("xc = [x(t), h(t-1)]", 300, Y_BUS + 4, self.small, color=FAINT)
        self._mode = None
        # each line's, arrow's and gate box's (colour, width) as drawn; the title's tooltip
        self._looks: dict = {}

    def _set_direction(self, backward: bool) -> None:
        if self._mode == backward:
            return
        self._mode = backward
        for name, pts in PATHS.items():
            tip, tail = (pts[0], pts[1]) if backward else (pts[-1], pts[-2])
            self.arrows[name].setPolygon(_arrow(tip, tail))

    # ---- a frame -----------------------------------------------------------------------

    def refresh(self):
        st = self.view_data.carousel.state(self.session.view_index)
        self.state = st
        self._set_direction(st.backward)
        standard = st.variant != "seed"
        self.tanh.setVisible(st.tanh_on_path)
        self.tanh_text.setVisible(st.tanh_on_path)
        word = {"fwd": "forward", "loss": "after the loss", "bwd": "backward"}[st.phase]
        if st.backward and st.backward_variant != st.variant:     # the wrong backward
            word = f"backward: the {st.backward_variant}'s" + (
                " (tanh′ left out)" if standard else " (tanh′ put in)")
        title = f"step t = {st.t}  ·  {word}  ·  {'h = o·tanh(s)' if standard else 'h = s·o'}"
        layers = self.session.num_layers
        origin = ""
        if layers > 1:                   # which layer, and (backwards) what reaches its h
            layer = self.session.view_layer
            title = f"layer {layer}  ·  {title}"
            if st.backward:
                title += "  ·  " + top_diff_h_short(layer, layers, st.t, st.steps)
                origin = top_diff_h_origin(layer, layers, st.t, st.steps)
        Strip._set_text(self.title, title)
        if self._looks.get("origin") != origin:
            self._looks["origin"] = origin
            self.title.setToolTip(plain_tooltip(origin))
        Strip._set_text(self.neighbours[0], f"t={st.t - 1}" if st.t > 0 else "start")
        Strip._set_text(self.neighbours[1], f"t={st.t + 1}" if st.t + 1 < st.steps else "end")
        for name in EDGES:
            v = st.edges.get(name)
            strip = self.strips.get(name)
            active = name in st.highlight
            feed = name in st.feeds
            color = ACTIVE if active else FEED if feed else BASE
            width = 4.5 if active else 3.0 if feed else 2.0
            if self._looks.get(name) != (color, width):     # else the line stays as drawn
                self._looks[name] = (color, width)
                self.lines[name].setPen(_pen(color, width))
                self.arrows[name].setPen(_pen(color, 1))
                self.arrows[name].setBrush(_brush(color))
            if strip is None:
                continue
            if v is None:
                strip.values = None
                strip.set_visible(False)
                continue
            caption = None if st.backward or name not in self.formula else \
                f"{name} = {self.formula[name]}(·)"
            strip.show(v.label, v.values, v.levels, v.signed, v.norm, v.special, caption)
            strip.set_pen(_pen(color, 2.2 if (active or feed) else 0.8))
        for k, box in self.gates.items():
            active = k in st.highlight
            look = (ACTIVE if active else FEED if k in st.feeds else BASE, 3.0 if active else 1.5)
            if self._looks.get(("gate", k)) != look:
                self._looks[("gate", k)] = look
                box.setPen(_pen(*look))

    def _on_hover(self, pos: QPointF) -> None:
        for name, strip in self.strips.items():
            if strip.values is None or not strip.rect.contains(pos):
                continue
            j = unit_at((pos.x() - strip.rect.left()) / strip.rect.width(), len(strip.values))
            if j is not None:
                self.hover.setText(f"{strip.label}[{j}] = {float(strip.values[j]):.9g}"
                                   f"   (edge {name}, t = {self.state.t})")
            return

    def hover_at(self, name: str, unit: int) -> str:
        """Hover the middle of unit ``unit`` of an edge's strip (for tests); the text."""
        strip = self.strips[name]
        n = len(strip.values)
        x = strip.rect.left() + (unit + 0.5) / n * strip.rect.width()
        self._on_hover(QPointF(x, strip.rect.center().y()))
        return self.hover.text()

    def export_widget(self):
        return self.view

    def csv(self) -> str:
        vd = self.view_data
        return csv_text(*vd.carousel.table(vd.carousel.state(self.session.view_index)))


class _FitView(QGraphicsView):
    """Keeps the whole scene in view at any size; reports hovered scene positions."""

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.hovered = []
        self.setMinimumSize(200, MIN_CAROUSEL_HEIGHT)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def mouseMoveEvent(self, event):
        pos = self.mapToScene(event.position().toPoint())
        for callback in self.hovered:
            callback(pos)
        super().mouseMoveEvent(event)
