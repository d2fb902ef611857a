"""Soak: scrub 5,000 frames with every panel and view visible and repainted (design.md §4: PySide6
6.12.0 on CPython 3.11 aborted a loop like this after about 565 frames)."""

import numpy as np

from lstm_viz.config import default_config
from lstm_viz.frame_data import VARIABLES
from lstm_viz.session import Session
from lstm_viz.view_docks import VIEWS, show_every_view


def test_scrub_5000_frames_with_every_panel_visible(make_window, qapp):
    s = Session(default_config("random", steps=40, inputs=8, hidden=24))
    w = make_window(s)
    w.resize(1100, 700)
    show_every_view(w)
    qapp.processEvents()
    docks = [w.source_dock, w.variables_dock, *(w.view_docks[n] for n, _, _ in VIEWS)]
    for dock in docks:
        assert dock.isVisible() and not dock.visibleRegion().isEmpty(), dock.objectName()
    refreshed = {n: w.views[n].refreshes for n, _, _ in VIEWS}
    rng = np.random.default_rng(0)
    names = ["h", "ds", "wi_diff", "dxc", "bf_diff", "loss"]
    painted = w.timeline.bar.paints
    for n in range(5000):
        s.seek(int(rng.integers(len(s.frames))))
        if n % 50 == 0:
            s.select(names[(n // 50) % len(names)])
        qapp.processEvents()                  # paints every panel the seek made dirty
        if n % 25 == 0:
            w.repaint()                       # and now and then the whole window
    assert w.timeline.bar.paints >= painted + 4000
    for name, _, _ in VIEWS:                  # every view followed the cursor all along
        assert w.views[name].refreshes >= refreshed[name] + 4000, name
    assert w.timeline.bar.value() == s.cursor
    assert w.variables_panel.row_text(VARIABLES[0])[0] == "x"
