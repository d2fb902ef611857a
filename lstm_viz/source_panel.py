"""The source panel: the engine's readable cell as installed, the statement that just ran
highlighted, and what each statement of this step computed written beside it.

The text comes from the session (``FrameData.source``, which reads the installed
``lstm_engine.cell`` through ``inspect``); this widget only paints it. The current
statement gets shape, min, max, norm and NaN count; the statements that ran before it in
this step get a shorter summary, Python-Tutor style. A summary that does not fit beside
its line is written on a row of its own under it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetricsF, QPainter
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from .steady import steady_height

CURRENT_BG = QColor(255, 236, 140)
RAN_MARK = QColor(90, 170, 90)
GUTTER_BG = QColor(240, 240, 244)
GUTTER_FG = QColor(140, 140, 150)
CODE_FG = QColor(25, 25, 35)
NOTE_FG = QColor(95, 110, 130)
NOW_FG = QColor(10, 60, 150)
NOW_BG = QColor(225, 236, 252)
NAN_FG = QColor(200, 30, 30)


class SourceView(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.font.setPointSizeF(max(9.0, self.font.pointSizeF()))
        self.bold = QFont(self.font)
        self.bold.setBold(True)
        self.fm = QFontMetricsF(self.font)
        self.line_h = self.fm.height() + 3
        self.gutter = self.fm.horizontalAdvance("0000") + 14
        self.state = None
        self.notes: dict[int, tuple[str, bool, bool]] = {}     # line -> (text, current, nan)
        self.paints = 0
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.MinimumExpanding)
        self.setAutoFillBackground(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)   # paints all of itself

    def set_state(self, state, notes) -> None:
        if self.state is None or state.lines is not self.state.lines:
            self.setMinimumHeight(int((len(state.lines) + 2) * self.line_h + 6))
        self.state, self.notes = state, notes
        self.update()

    def current_y(self) -> float:
        if self.state is None or self.state.current is None:
            return 0.0
        return 3 + self.state.current * self.line_h

    def paintEvent(self, event):
        self.paints += 1
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.white)
        st = self.state
        if st is None:
            return
        lh, fm = self.line_h, self.fm
        ascent = fm.ascent() + 1.5
        p.fillRect(QRectF(0, 0, self.gutter - 6, self.height()), GUTTER_BG)
        width = self.width()
        y = 3.0
        extra_at = None
        for n, line in enumerate(st.lines):
            if extra_at == n:                              # the row reserved for a note
                y += lh
            if n == st.current:
                p.fillRect(QRectF(self.gutter - 6, y, width, lh), CURRENT_BG)
            p.setFont(self.font)
            p.setPen(GUTTER_FG)
            p.drawText(QRectF(0, y, self.gutter - 12, lh),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                       str(st.first_line + n))
            if n in st.ran:
                p.fillRect(QRectF(self.gutter - 5, y + 2, 3, lh - 4),
                           NOW_FG if n == st.current else RAN_MARK)
            p.setPen(CODE_FG)
            p.setFont(self.bold if n == st.current else self.font)
            p.drawText(QPointF(self.gutter, y + ascent), line)
            note = self.notes.get(n)
            if note is not None:
                text, current, nan = note
                end = self.gutter + fm.horizontalAdvance(line) + 18
                note_w = fm.horizontalAdvance(text) + 10
                if end + note_w <= width:
                    x, ny = end, y
                else:                                      # under the line, indented
                    x, ny = self.gutter + 24, y + lh
                    extra_at = n + 1
                self._note(p, x, ny, note_w, text, current, nan)
            y += lh
        p.end()

    def _note(self, p, x, y, w, text, current, nan):
        lh = self.line_h
        if current:
            p.fillRect(QRectF(x - 5, y + 1, w, lh - 2), NOW_BG)
        p.setFont(self.font)
        p.setPen(NAN_FG if nan else (NOW_FG if current else NOTE_FG))
        p.drawText(QPointF(x, y + self.fm.ascent() + 1.5), text)


class SourcePanel(QWidget):
    """Header (function, file line, step) over the scrollable source view."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.header = steady_height(QLabel(self))
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.view = SourceView(session)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll.setStyleSheet("QScrollArea { background: white; border: none; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.header)
        layout.addWidget(self.scroll, 1)
        self._last = None
        session.events.frame_changed.connect(self.refresh)
        session.events.trace_changed.connect(self.refresh)
        self.refresh()

    def current_statement(self) -> str | None:
        st = self.view.state
        return None if st is None or st.current is None else st.ran.get(st.current)

    def note_for(self, name: str) -> str | None:
        """The text written beside ``name``'s line (for tests and the benchmark)."""
        st = self.view.state
        for line, n in st.ran.items():
            if n == name and line in self.view.notes:
                return self.view.notes[line][0]
        return None

    def refresh(self, *_):
        s = self.session
        data, index = s.data, s.cursor
        state = data.source(index)
        notes = {}
        for line, name in state.ran.items():
            stats = data.stats(name, index)
            if stats is None:
                continue
            current = line == state.current
            text = f"{name}: {stats.long() if current else stats.short()}"
            notes[line] = (text, current, stats.nan > 0)
        self.view.set_state(state, notes)
        frame = s.frame
        where = "" if frame.phase == "loss" else f" · t = {frame.t}"
        module = "lstm_engine.losses" if state.key == "loss" else "lstm_engine.cell"
        self.header.setText(f"{module}.{state.name}  (line {state.first_line}){where}")
        key = (state.key, state.current)
        if key != self._last:
            self._last = key
            y = int(self.view.current_y())
            self.scroll.ensureVisible(0, y, 0, int(self.view.line_h * 3))
