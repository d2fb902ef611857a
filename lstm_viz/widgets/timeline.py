"""The timeline: a slider over every frame of the pass, painted in one go.

Forward part blue, loss amber, backward part red; a tick at every time-step boundary
(thinned when they would crowd), a red dot per breakpoint, the cursor as a dark handle.
Below it a label: the frame's text form and what it computes. The widget shows the
session's cursor and turns clicks and drags into ``session.seek``; it takes no
keyboard focus, so the arrow keys stay with the window's shortcuts.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from ..model.config import run_note
from ..pictures.model_views import ModelViews
from .plain import PlainLabel
from .steady import ElidedLabel, steady_box, steady_height

FORWARD = QColor(120, 160, 220)
LOSS = QColor(230, 170, 50)
BACKWARD = QColor(215, 120, 110)
TICK = QColor(40, 40, 60, 150)
BREAK = QColor(200, 20, 20)
HANDLE = QColor(20, 20, 30)
STOP = QColor(235, 120, 0)                 # the frame a condition breakpoint stopped at


class TimelineBar(QWidget):
    MARGIN = 9

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(True)
        self.setMinimumHeight(30)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._value = session.cursor
        self._marks: list[int] = session.breakpoint_indices()
        self._ticks: list[QLineF] | None = None
        self.paints = 0
        session.events.frame_changed.connect(self._on_frame)
        session.events.trace_changed.connect(self._on_trace)
        session.events.breakpoints_changed.connect(self._on_breakpoints)
        session.events.stopped.connect(lambda *_: self.update())

    # ---- what it shows ------------------------------------------------------------------

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return len(self.session.frames) - 1

    def markers(self) -> list[int]:
        return list(self._marks)

    def _on_frame(self, index: int) -> None:
        # Only the handle moves: repaint where it was and where it is (a whole bar is
        # 1350 × 30 px over the toolbar's gradient, on every seek; issue 16).
        if index != self._value:
            old, self._value = self._value, index
            self.update(self._handle_rect(old))
            self.update(self._handle_rect(index))

    def _on_trace(self, trace) -> None:
        self._ticks = None
        self._value = self.session.cursor
        self._marks = self.session.breakpoint_indices()
        self.update()

    def _on_breakpoints(self) -> None:
        self._marks = self.session.breakpoint_indices()
        self.update()

    # ---- geometry -----------------------------------------------------------------------

    def _span(self) -> tuple[float, float]:
        return float(self.MARGIN), float(max(1, self.width() - 2 * self.MARGIN))

    def x_of(self, index: float) -> float:
        left, width = self._span()
        return left + width * index / max(1, self.maximum())

    def index_at(self, x: float) -> int:
        left, width = self._span()
        return round((x - left) / width * self.maximum())

    def _handle_box(self, index: int) -> QRectF:
        top, bottom = self._track()
        x = self.x_of(index)
        return QRectF(x - 3, top - 2, 6, bottom - top + 4)

    def _handle_rect(self, index: int) -> QRect:
        """The pixels the handle at ``index`` paints, with its anti-aliased edge."""
        return self._handle_box(index).toAlignedRect().adjusted(-1, -1, 1, 1)

    def _track(self) -> tuple[float, float]:
        """The coloured track's top and bottom."""
        return 9.0, self.height() - 6.0

    def resizeEvent(self, event):
        self._ticks = None
        super().resizeEvent(event)

    def _tick_lines(self, top: float, bottom: float) -> list[QLineF]:
        if self._ticks is None:
            frames = self.session.frames
            bounds = frames.step_boundaries()
            left, width = self._span()
            per_frame = width / max(1, self.maximum())
            # Keep ticks at least 5 px apart: every k-th boundary of each pass.
            k = 1
            fwd_px = per_frame * frames.fwd_block         # one time step, every layer
            while fwd_px * k < 5:
                k *= 2
            chosen = [b for n, b in enumerate(bounds) if n % k == 0]
            self._ticks = [QLineF(self.x_of(b - 0.5), top, self.x_of(b - 0.5), bottom)
                           for b in chosen]
        return self._ticks

    # ---- painting -----------------------------------------------------------------------

    def paintEvent(self, event):
        self.paints += 1
        frames = self.session.frames
        p = QPainter(self)
        top, bottom = self._track()
        x_loss0, x_loss1 = self.x_of(frames.loss_index - 0.5), self.x_of(frames.loss_index + 0.5)
        left, width = self._span()
        p.fillRect(QRectF(left, top, x_loss0 - left, bottom - top), FORWARD)
        p.fillRect(QRectF(x_loss0, top, max(3.0, x_loss1 - x_loss0), bottom - top), LOSS)
        p.fillRect(QRectF(x_loss1, top, left + width - x_loss1, bottom - top), BACKWARD)
        p.setPen(QPen(TICK, 1))
        p.drawLines(self._tick_lines(top + (bottom - top) * 0.45, bottom))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(BREAK)
        for i in self._marks:
            p.drawEllipse(QPointF(self.x_of(i), 4.5), 4.0, 4.0)
        stop = self.session.stop
        if stop is not None and stop.index <= self.maximum():    # where a condition stopped
            xs = self.x_of(stop.index)
            p.setBrush(STOP)
            p.drawPolygon([QPointF(xs - 5, 0.5), QPointF(xs + 5, 0.5), QPointF(xs, 8.5)])
        p.setBrush(HANDLE)
        p.drawRoundedRect(self._handle_box(self._value), 2, 2)
        p.end()

    # ---- input: intent only -------------------------------------------------------------

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self.session.seek(self.index_at(event.position().x()))

    def mouseMoveEvent(self, event):
        i = self.session.frames.clamp(self.index_at(event.position().x()))
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.session.seek(i)
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.tip(i), self)

    def tip(self, index: int) -> str:
        """The tool tip over frame ``index``: its text, and its step's token if any."""
        s = self.session
        token = ModelViews.of(s).step_token(s.frames.frame(index))
        text = s.frames.text(index)
        return f"{text} · {token}" if token else text


class Timeline(QWidget):
    """The bar and its label."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.bar = TimelineBar(session, self)
        self.label = PlainLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        font = QFont(self.label.font())
        font.setPointSizeF(font.pointSizeF() + 1)
        self.label.setFont(font)
        steady_height(self.label)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        # Right of the frame's text: a note on the run (run_note), in grey, whole in its
        # tool tip when it does not fit.
        self.note = ElidedLabel(self)
        self.note.setStyleSheet("color: #6a6a78")
        self.note.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        steady_height(self.note)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(steady_box(self.label), 3)     # a new frame's text moves nothing
        row.addWidget(self.note, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addLayout(row)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        session.events.frame_changed.connect(self._refresh)
        session.events.trace_changed.connect(self._refresh)
        session.events.config_changed.connect(self._on_config)
        self._refresh()
        self._on_config()

    def _on_config(self, *_):
        self.note.set_full_text(run_note(self.session.config))

    def text(self) -> str:
        return self.label.text()

    def _refresh(self, *_):
        s = self.session
        token = ModelViews.of(s).step_token(s.frame)
        tail = f"   ·   {token}" if token else ""
        self.label.setText(f"{s.frame_text}   ·   {s.layers.describe_frame()}{tail}")
