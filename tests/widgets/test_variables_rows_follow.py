"""The variables table shows the rows of the frame, the pass and the layer in view: its
per-frame rows (model/variable_rows.py) are made again when any of them changes."""

import numpy as np

from lstm_viz.model.config import default_config
from lstm_viz.model.frame_data import VARIABLES
from lstm_viz.model.session import Session
from lstm_viz.model.variable_rows import variable_row


def _shown_as_computed(w):
    s = w.session
    for name in VARIABLES:
        want = list(variable_row(s.data, name, s.view_index).texts)
        assert w.variables_panel.row_text(name) == want, (name, s.frame_text)


def test_the_table_follows_seeks_a_new_pass_and_the_layer_in_view(make_window, qapp):
    w = make_window(Session(default_config("random", steps=8, inputs=3, hidden=4, layers=2)))
    s = w.session
    for i in np.random.default_rng(1).integers(len(s.frames), size=6):
        s.seek(int(i))
        qapp.processEvents()
        _shown_as_computed(w)
    s.goto("bwd:3:L0:ds")
    qapp.processEvents()
    before = w.variables_panel.row_text("ds")
    s.set_view_layer(1)                                   # the other layer, same cursor
    qapp.processEvents()
    _shown_as_computed(w)
    assert w.variables_panel.row_text("ds") != before
    s.set_view_layer(None)
    shown = w.variables_panel.row_text("ds")
    s.configure(default_config("random", steps=8, inputs=3, hidden=4, layers=2, seed=9))
    qapp.processEvents()
    s.goto("bwd:3:L0:ds")                                 # the same frame of a new pass
    qapp.processEvents()
    _shown_as_computed(w)
    assert w.variables_panel.row_text("ds") != shown
