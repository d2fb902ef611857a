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

import bisect

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPainter,
    QPalette,
    QStaticText,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

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
    """The lines of one function, the current one bold on a yellow row, the ran ones marked
    in the gutter, notes beside them (or under them, when they do not fit).

    A seek repaints only what it changed (``_update_changes``): the rows of the old and
    the new current line, the rows whose mark or branch changed, the notes whose text
    did, and every row from the first that moved down (a note that took or left a row of
    its own); all of it for another function or width. The code and the line numbers,
    the same at every seek, are drawn from ``QStaticText`` laid out once per line (the
    notes, new at every seek, are not)."""

    BOTTOM_ROWS = 2                  # empty rows under the last line (room to scroll to it)
    INK = 4                          # px a glyph may reach past its text's advance

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        # The view's own fonts, fixed here: the caches below hold text laid out in them.
        self.font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.font.setPointSizeF(max(9.0, self.font.pointSizeF()))
        self.bold = QFont(self.font)
        self.bold.setBold(True)
        self.fm = QFontMetricsF(self.font)
        self.bold_fm = QFontMetricsF(self.bold)
        self.line_h = self.fm.height() + 3
        self.gutter = self.fm.horizontalAdvance("0000") + 14
        self.state = None
        self._layout = None
        self.notes: dict[int, tuple[str, bool, bool]] = {}     # line -> (text, current, nan)
        self._advances: dict[str, float] = {}      # a line's width in the regular font
        self._static: dict[tuple[str, bool], QStaticText] = {}   # (text, bold) -> laid out
        self.paints = 0
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.MinimumExpanding)
        self.setAutoFillBackground(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)   # paints all of itself

    def set_state(self, state, notes) -> None:
        before = self.state, self.notes, self._layout
        self.state, self.notes = state, notes
        self._layout = None
        self._fit_height()
        self._update_changes(*before)

    def _update_changes(self, old, old_notes, old_layout) -> None:
        """Mark for repainting what differs between the state shown before (``old``, its
        notes and layout) and now. Everything the paint draws is compared: the lines and
        their numbers, the current line, the ran marks, the branches, the notes and where
        each row and note goes."""
        new, layout = self.state, self._layout
        if old is None or new is None or old_layout is None or layout is None \
                or old_layout[0] != layout[0] or old.first_line != new.first_line \
                or (old.lines is not new.lines and old.lines != new.lines):
            self.update()                 # another function (or none before): all of it
            return
        (old_ys, old_places, old_height), (ys, places, height) = old_layout[1], layout[1]
        moved = next((n for n, (a, b) in enumerate(zip(old_ys, ys, strict=True)) if a != b),
                     None if old_height == height else len(ys))
        if moved is not None:             # a note took or left a row: all rows below moved
            # (only the height: the last line's note took or left its row)
            top = min(old_ys[moved], ys[moved]) if moved < len(ys) else ys[-1] if ys else 0
            self.update(QRectF(0, top, self.width(), max(self.height(), old_height, height)
                               - top).toAlignedRect())
        rows = set(old.ran.keys() ^ new.ran.keys())                # marks come or go
        if old.current != new.current:
            rows.update(n for n in (old.current, new.current) if n is not None)
        if old.branches != new.branches:
            rows.update(n for n in old.branches.keys() | new.branches.keys()
                        if old.branches.get(n) != new.branches.get(n))
        notes = self.notes
        for n in old_notes.keys() | notes.keys():
            was, now = old_notes.get(n), notes.get(n)
            if was == now or n in rows or (moved is not None and n >= moved):
                continue
            if was is None or now is None or was[1] != now[1] \
                    or old_places[n][:2] != places[n][:2]:
                rows.add(n)
                continue
            # the same note's text (or colour) changed: its box alone, as wide as the wider
            x, y, w = places[n]
            self.update(self._ink(x - 5, y, max(w, old_places[n][2])))
        for n in rows:
            if moved is None or n < moved:
                self.update(self.line_rect(n).toAlignedRect())

    # ---- layout: where each line and each note goes (shared by painting and scrolling) ----

    def advance(self, line: str) -> float:
        """``line``'s width in the regular font, measured once (the lines are the same at
        every seek; the notes beside them are placed after them at every seek)."""
        found = self._advances.get(line)
        if found is None:
            if len(self._advances) > 4000:        # another pass's loss, another file: bounded
                self._advances.clear()
            found = self._advances[line] = self.fm.horizontalAdvance(line)
        return found

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
                end = self.gutter + self.advance(line) + 18
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

    def _text(self, text: str, bold: bool) -> QStaticText:
        """``text`` laid out once in the regular or the bold font (plain text: a line of
        code is never read as markup)."""
        found = self._static.get((text, bold))
        if found is None:
            if len(self._static) > 4000:          # another pass's loss, another file: bounded
                self._static.clear()
            found = QStaticText(text)
            found.setTextFormat(Qt.TextFormat.PlainText)
            found.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
            found.prepare(font=self.bold if bold else self.font)
            self._static[text, bold] = found
        return found

    def paintEvent(self, event):
        self.paints += 1
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.white)
        st = self.state
        if st is None:
            return
        p.fillRect(QRectF(0, 0, self.gutter - 6, self.height()), GUTTER_BG)
        # Only what the region being painted holds: the scroll area shows a third of the
        # rows, and a seek repaints a few rows and notes of them (_update_changes). Each
        # part is drawn whole or not at all, and the parts that overlap (a row's
        # background, its text, a branch's marks over it) in the order of a paint of
        # everything: the pixels are the same either way.
        region = event.region()
        rows = self._rows_in(region)
        lh, width = self.line_h, self.width()
        for n, y, _ in rows:                       # the current row and the ran marks
            if n == st.current:
                p.fillRect(QRectF(self.gutter - 6, y, width, lh), CURRENT_BG)
            if n in st.ran:
                p.fillRect(QRectF(self.gutter - 5, y + 2, 3, lh - 4),
                           NOW_FG if n == st.current else RAN_MARK)
        self._paint_text(p, region, rows)
        for n, y, _ in rows:                       # over the code: which side ran
            branch = st.branches.get(n)
            if branch is not None:
                self._branch(p, st.lines[n], self.bold if n == st.current else self.font,
                             y, branch)
        p.setFont(self.font)
        for n, _, place in rows:
            if place is not None:
                x, y, w = place
                if region.intersects(self._ink(x - 5, y, w)):
                    self._note(p, x, y, w, *self.notes[n])
        p.end()

    def _rows_in(self, region) -> list[tuple[int, float, tuple | None]]:
        """``(line, top, note's place)`` of each row (with its note's row) that
        ``region`` touches."""
        ys, places, _ = self.layout()
        lh, width = self.line_h, self.width()
        bounds = region.boundingRect()
        first = bisect.bisect_left(ys, bounds.top() - 2 * lh)
        last = bisect.bisect_right(ys, bounds.bottom() + lh)
        rows = []
        for n in range(first, last):
            y = ys[n]
            place = places.get(n)
            below = place[1] + lh if place is not None else y + lh
            if region.intersects(QRectF(0, y, width, below - y).toAlignedRect()):
                rows.append((n, y, place))
        return rows

    def _ink(self, x: float, y: float, w: float) -> QRect:
        """The pixels text drawn from ``x`` to ``x + w`` on the row at ``y`` may touch."""
        return QRectF(x - self.INK, y, w + 2 * self.INK, self.line_h).toAlignedRect()

    def _paint_text(self, p, region, rows) -> None:
        """The line numbers and the code of ``rows`` that ``region`` touches."""
        st = self.state
        p.setFont(self.font)
        p.setPen(GUTTER_FG)
        right = self.gutter - 12                  # the numbers' right edge
        for n, y, _ in rows:
            number = self._text(str(st.first_line + n), False)
            w = number.size().width()
            if region.intersects(self._ink(right - w, y, w)):
                p.drawStaticText(QPointF(right - w, y + 1.5), number)
        p.setPen(CODE_FG)
        bold = False
        for n, y, _ in rows:
            line = st.lines[n]
            current = n == st.current
            w = self.bold_fm.horizontalAdvance(line) if current else self.advance(line)
            if not line or not region.intersects(self._ink(self.gutter, y, w)):
                continue
            if current != bold:
                bold = current
                p.setFont(self.bold if bold else self.font)
            p.drawStaticText(QPointF(self.gutter, y + 1.5), self._text(line, current))

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
        heights = self.view.minimumHeight(), self.driver.minimumHeight()
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
        if self.isVisible() and \
                (self.view.minimumHeight(), self.driver.minimumHeight()) != heights:
            self._settle()
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

    def _settle(self) -> None:
        """The views' new heights in the scroll area's range now (the scroll then goes
        where it will stay): left to the queued layout requests, the view was painted at
        the old range's scroll, then again at the new (a third of seeks painted it twice).
        Only when shown: hidden, nothing is painted, and the range at the size it has
        before it is shown would move the scroll from where it starts."""
        self.scroll.widget().layout().activate()
        QApplication.sendEvent(self.scroll, QEvent(QEvent.Type.LayoutRequest))

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
