"""The bar plot's axes keep the picture of each range they drew (variables_panel.py's
axes, ``kept_axis.KeptPictures`` with room for every quantity of a pass): what they show
from a kept picture is what they draw afresh, through new quantities, a resized plot and a
new pass; and a range seen before is not worked out again."""

import numpy as np
import pyqtgraph as pg

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session


def _image(widget):
    return widget.grab().toImage()


def _drawn_afresh(plot, qapp):
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        if axis._kept is not None:
            axis._kept.clear()
        axis.picture = None
        axis.update()
    qapp.processEvents()
    return _image(plot)


def test_kept_axis_pictures_show_what_a_fresh_drawing_does(make_window, qapp, monkeypatch):
    w = make_window(Session(default_config("random", steps=30, inputs=5, hidden=7)))
    plot = w.variables_panel.plot.plot
    s = w.session
    for _ in range(5):
        qapp.processEvents()
    drawn = []
    original = pg.AxisItem.generateDrawSpecs
    monkeypatch.setattr(pg.AxisItem, "generateDrawSpecs",
                        lambda self, p: drawn.append(self) or original(self, p))

    def check_seeks(seed, count):
        for i in np.random.default_rng(seed).integers(len(s.frames), size=count):
            s.seek(int(i))
            qapp.processEvents()
            shown = _image(plot)
            assert shown == _drawn_afresh(plot, qapp), s.frame_text

    check_seeks(1, 12)
    names = set()
    before = len(drawn)
    for i in np.random.default_rng(2).integers(len(s.frames), size=40):   # ranges seen
        s.seek(int(i))
        names.add(s.selected)
        qapp.processEvents()
    assert len(names) >= 10
    assert len(drawn) - before <= len(names)          # once per range at most, not per seek
    w.variables_dock.resize(w.variables_dock.width() - 60, w.variables_dock.height() - 40)
    qapp.processEvents()
    check_seeks(3, 6)                                 # another size
    s.configure(default_config("random", steps=30, inputs=5, hidden=7, seed=4))
    qapp.processEvents()
    check_seeks(5, 6)                                 # another pass: other ranges
