"""The source panel's layout (where each line and note goes, kept until the state or the
width changes): across the forward, loss and backward functions, a new pass and a new
width it is the layout measured afresh by the rule it states."""

import numpy as np
from PySide6.QtCore import Qt

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.source_panel import SourcePanel, SourceView


def _fresh_layout(view: SourceView):
    """The layout measured afresh, every line and note, by the rule the panel states: a
    note beside its line if it fits (18 px after the code), else on a row under it."""
    fm, lh, width = view.fm, view.line_h, view.width()
    ys, places, y = [], {}, 3.0
    for n, line in enumerate(view.state.lines):
        ys.append(y)
        note = view.notes.get(n)
        if note is not None:
            end = view.gutter + fm.horizontalAdvance(line) + 18
            note_w = fm.horizontalAdvance(note[0]) + 10
            if end + note_w <= width:
                places[n] = (end, y, note_w)
            else:
                places[n] = (view.gutter + 24, y + lh, note_w)
                y += lh
        y += lh
    return ys, places, y + view.BOTTOM_ROWS * lh + 3


def test_the_layout_of_every_function_matches_one_measured_afresh(make_window, qapp):
    w = make_window(Session(default_config("random", steps=12, inputs=5, hidden=6)))
    w.resize(1800, 900)
    w.resizeDocks([w.source_dock], [1200], Qt.Orientation.Horizontal)   # notes fit beside
    view = w.findChild(SourcePanel).view
    s = w.session
    keys, beside = set(), 0
    for frame in ("fwd:3:g", "loss", "bwd:2:ds", "bwd:7:wf_diff", "fwd:0:h"):
        s.goto(frame)
        qapp.processEvents()
        keys.add(view.state.key)
        assert view.layout() == _fresh_layout(view), frame
        beside += sum(p[1] == view.layout()[0][n] for n, p in view.layout()[1].items())
    assert beside >= 5
    assert keys == {"forward", "backward", "loss"}
    wrapped = len([p for n, p in view.layout()[1].items() if p[1] > view.layout()[0][n]])
    w.source_dock.resize(w.source_dock.width() // 2, w.source_dock.height())
    qapp.processEvents()
    assert view.layout() == _fresh_layout(view)
    assert len([p for n, p in view.layout()[1].items() if p[1] > view.layout()[0][n]]) \
        >= wrapped                                         # narrower: as many wrap, or more
    s.configure(default_config("random", steps=12, inputs=5, hidden=6, seed=3))
    qapp.processEvents()
    for i in np.random.default_rng(2).integers(len(s.frames), size=8):
        s.seek(int(i))
        qapp.processEvents()
        assert view.layout() == _fresh_layout(view)
