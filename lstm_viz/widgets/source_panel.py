"""The source panel: the engine's readable cell as installed, the statement that just ran
highlighted, and what each statement of this step computed written beside it.

The text comes from the session (``FrameData.source``, which reads the installed
``lstm_engine.cell`` through ``inspect``); this widget only paints it. The current
statement gets shape, min, max, norm and NaN count; the statements that ran before it in
this step get a shorter summary, Python-Tutor style. A summary that does not fit beside
its line is written on a row of its own under it.

With stacked layers the readable model driver's lines that call the cell (its loops over
t and l and, backwards, the routing of ``top_diff_h``: ``driver_source.py``) are shown
above the cell, with t, l and where ``top_diff_h`` comes from beside them.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from ..model.driver_source import driver_state
from .plain import PlainLabel
from .steady import steady_box, steady_height
from .view_base import drawn_key

CURRENT_BG = QColor(255, 236, 140)
RAN_MARK = QColor(90, 170, 90)
GUTTER_BG = QColor(240, 240, 244)
GUTTER_FG = QColor(140, 140, 150)
CODE_FG = QColor(25, 25, 35)
NOTE_FG = QColor(95, 110, 130)
NOW_FG = QColor(10, 60, 150)
NOW_BG = QColor(225, 236, 252)
NAN_FG = QColor(200, 30, 30)
RAN_BRANCH = QColor(10, 110, 60)                 # under the side of ``if seed else`` that ran
SKIPPED_BG = QColor(255, 255, 255, 150)          # over the side that did not: faded
SKIPPED_FG = QColor(120, 120, 130)


class SourceView(QWidget):
    BOTTOM_ROWS = 2                  # empty rows under the last line (room to scroll to it)

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
        self._layout = None
        self.notes: dict[int, tuple[str, bool, bool]] = {}     # line -> (text, current, nan)
        self.paints = 0
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.MinimumExpanding)
        self.setAutoFillBackground(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)   # paints all of itself

    def set_state(self, state, notes) -> None:
        self.state, self.notes = state, notes
        self._layout = None
        self._fit_height()
        self.update()

    # ---- layout: where each line and each note goes (shared by painting and scrolling) ----

    def layout(self):
        """``(ys, notes, height)``: the top of every line, each note's ``(x, y, width)``
        and the height all of it needs at the current width. A note that does not fit
        beside its line takes a row of its own under it and pushes the lines below down."""
        width = self.width()
        if self._layout is not None and self._layout[0] == width:
            return self._layout[1]
        st, lh, fm = self.state, self.line_h, self.fm
        ys, places = [], {}
        y = 3.0
        for n, line in enumerate(st.lines if st is not None else ()):
            ys.append(y)
            note = self.notes.get(n)
            if note is not None:
                end = self.gutter + fm.horizontalAdvance(line) + 18
                note_w = fm.horizontalAdvance(note[0]) + 10
                if end + note_w <= width:
                    places[n] = (end, y, note_w)
                else:                                      # under the line, indented
                    places[n] = (self.gutter + 24, y + lh, note_w)
                    y += lh
            y += lh
        result = (ys, places, y + self.BOTTOM_ROWS * lh + 3)
        self._layout = (width, result)
        return result

    def _fit_height(self) -> None:
        """Make the widget tall enough for every row, notes' rows included (the scroll area
        then scrolls to the last line); growing resizes at once so scrolling sees it."""
        height = int(self.layout()[2])
        if height != self.minimumHeight():
            self.setMinimumHeight(height)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._layout = None
            self._fit_height()

    def line_rect(self, n: int) -> QRectF:
        """Line ``n``'s row (with its note's row under it, if it has one)."""
        ys, places, _ = self.layout()
        place = places.get(n)
        bottom = max(ys[n], place[1] if place else ys[n]) + self.line_h
        return QRectF(0, ys[n], self.width(), bottom - ys[n])

    def current_rect(self) -> QRectF | None:
        if self.state is None or self.state.current is None:
            return None
        return self.line_rect(self.state.current)

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
        ys, places, _ = self.layout()
        # Only the rows in the region being painted: the scroll area shows a third of them.
        top, bottom = event.rect().top() - 2 * lh, event.rect().bottom() + lh
        for n, line in enumerate(st.lines):
            y = ys[n]
            if y > bottom:
                break
            if y < top:
                continue
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
            font = self.bold if n == st.current else self.font
            p.setFont(font)
            p.drawText(QPointF(self.gutter, y + ascent), line)
            branch = st.branches.get(n)
            if branch is not None:
                self._branch(p, line, font, y, branch)
            place = places.get(n)
            if place is not None:
                text, current, nan = self.notes[n]
                self._note(p, place[0], place[1], place[2], text, current, nan)
        p.end()

    def _branch(self, p, line, font, y, branch) -> None:
        """``a if seed else b``: the side that ran underlined, the other struck through and
        greyed (the wrong backward runs the seed side of ``ds``; the whole line alone
        read as if the standard side had)."""
        fm = QFontMetricsF(font)
        lh = self.line_h
        for (start, end), ran in ((branch.ran, True), (branch.skipped, False)):
            x0 = self.gutter + fm.horizontalAdvance(line[:start])
            x1 = self.gutter + fm.horizontalAdvance(line[:end])
            if ran:
                p.fillRect(QRectF(x0, y + lh - 3, x1 - x0, 2), RAN_BRANCH)
            else:
                p.fillRect(QRectF(x0, y + 1, x1 - x0, lh - 2), SKIPPED_BG)
                p.fillRect(QRectF(x0, y + lh / 2, x1 - x0, 1), SKIPPED_FG)

    def _note(self, p, x, y, w, text, current, nan):
        lh = self.line_h
        if current:
            p.fillRect(QRectF(x - 5, y + 1, w, lh - 2), NOW_BG)
        p.setFont(self.font)
        p.setPen(NAN_FG if nan else (NOW_FG if current else NOTE_FG))
        p.drawText(QPointF(x, y + self.fm.ascent() + 1.5), text)


class DriverView(SourceView):
    """The model driver's few lines over the cell: exactly as tall as they are."""

    BOTTOM_ROWS = 0

    def sizeHint(self):
        return QSize(0, self.minimumHeight())


class SourcePanel(QWidget):
    """Header (function, file line, step) over the scrollable source view."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        # Opaque (its own background, the colour its dock showed through it): a child
        # repainted on a seek (the header, the scroll bar) then stops here, not in the
        # dock, which would draw its title bar again under a clip that hides it.
        self.setAutoFillBackground(True)
        self.header = steady_height(PlainLabel(self))
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.view = SourceView(session)
        self.driver = DriverView(session)          # the model driver's loop (L > 1)
        self.driver.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.driver.hide()
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.driver)
        column.addWidget(self.view, 1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # White and frameless through the palette, not a style sheet (which would draw the
        # scroll bar, repainted on most seeks, through the slower QStyleSheetStyle).
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Always there: the forward and backward functions differ in length, and a bar that
        # came and went with them changed the text's width (re-wrapping the notes) and
        # re-laid out the panel on most seeks.
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.scroll.viewport().setAutoFillBackground(True)
        palette = self.scroll.viewport().palette()
        palette.setColor(QPalette.ColorRole.Window, Qt.GlobalColor.white)
        self.scroll.viewport().setPalette(palette)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(steady_box(self.header))     # a new frame's text moves nothing
        layout.addWidget(self.scroll, 1)
        self._last = None
        self._queued = False                  # a scroll after the layout is queued
        # Rows that appear or go (notes wrapping at a new width, the dock resized or shown)
        # change the scroll range: keep the current line on screen through them.
        self.scroll.verticalScrollBar().rangeChanged.connect(self.scroll_to_current)
        self._drawn: tuple | None = None          # view_base.drawn_key of the last refresh
        session.events.frame_changed.connect(self._on_frame)
        session.events.trace_changed.connect(self.refresh)
        session.events.view_layer_changed.connect(self.refresh)
        self.refresh()

    def _on_frame(self, *_):
        if self._drawn != drawn_key(self.session):
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
        frame = s.frame
        # the cell that runs: the cursor's layer (the one in view at the loss)
        layer = s.view_layer if frame.layer is None else frame.layer
        data, index = s.layers.data(layer), s.layers.local_index(layer)
        self._driver(frame, data.trace.steps)
        state = data.source(index)
        notes = {}
        for line, name in state.ran.items():
            stats = data.stats(name, index)
            if stats is None:
                continue
            current = line == state.current
            branch = state.branches.get(line)
            side = f" ({branch.variant} side ran)" if branch is not None else ""
            text = f"{name}{side}: {stats.long() if current else stats.short()}"
            notes[line] = (text, current, stats.nonfinite > 0)
        self.view.set_state(state, notes)
        where = "" if frame.phase == "loss" else f" · t = {frame.t}"
        if frame.layer is not None:
            where += f" · layer {frame.layer}"
        module = "lstm_engine.losses" if state.key == "loss" else "lstm_engine.cell"
        line = state.first_line + (state.current or 0)
        called = ""
        if self.driver.isVisibleTo(self):     # the driver's lines come from another file
            d = self.driver.state
            called = (f"lstm_engine.model_driver line {d.first_line + (d.current or 0)}"
                      " → ")
        self.header.setText(f"{called}{module}.{state.name}  (line {line}){where}")
        key = (state.key, state.current)
        if key != self._last:
            self._last = key
            self.scroll_to_current()
        self._drawn = drawn_key(s)

    def _driver(self, frame, steps: int) -> None:
        layers = self.session.num_layers
        if layers == 1:
            self.driver.hide()
            return
        state, notes = driver_state(frame, steps, layers)
        self.driver.set_state(state, {n: (text, n == state.current, False)
                                      for n, text in notes.items()})
        self.driver.show()

    def scroll_to_current(self, *_) -> None:
        """Bring the current line (and its note's row) into view, with some context."""
        rect = self.view.current_rect()
        if rect is None:
            return
        if self.driver.isVisibleTo(self) and not self._queued:
            # the cell sits under the driver's lines: where, only once the body is laid
            # out (when shown or resized it is not yet): once more when it is
            self._queued = True
            QTimer.singleShot(0, self._scroll_settled)
        rect = rect.translated(0, self.view.y())      # below the driver's lines, if shown
        margin = int(self.view.line_h * 2)
        self.scroll.ensureVisible(0, int(rect.center().y()), 0,
                                  int(rect.height() / 2) + margin)

    def _scroll_settled(self) -> None:
        self.scroll_to_current()
        self._queued = False

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.scroll_to_current()
