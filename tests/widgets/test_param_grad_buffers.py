"""The parameter-gradient view keeps one set of image buffers per layer's sizes for the
pass shown: a seek into the other layer and back re-uses them (no 2.5 MB allocated and
zeroed at each change) and always shows the frame's gradients, never what a buffer held
before; another pass drops them."""

import numpy as np
from docks import show_view as _front

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session


def _shows_the_frame(view, session):
    """Each map's image is the frame's gradient of the layer in view (as float32)."""
    fresh = view.view_data.params.state(session.view_index, "accumulated")
    for name in WEIGHT_DIFFS:
        a = fresh.arrays.get(name)
        assert a is not None
        assert np.array_equal(view.maps[name].image.image, np.asarray(a, np.float32))
    bias = np.stack([fresh.arrays[n] for n in BIAS_DIFFS])
    assert np.array_equal(view.maps["bias"].image.image, bias.astype(np.float32))


def _go(session, qapp, frame):
    session.goto(frame)
    qapp.processEvents()


def test_buffers_are_kept_per_layer_and_refilled_at_each_seek(make_window, qapp):
    # Layer 0 reads x (3 inputs), layer 1 reads layer 0's h (4): other sizes.
    w = make_window(Session(default_config("random", steps=12, inputs=3, hidden=4,
                                           layers=2)))
    s = w.session
    view = _front(w, "param_grads", qapp)
    _go(s, qapp, "bwd:5:L0:ds")
    _shows_the_frame(view, s)
    first = dict(view._buffers)
    assert first["wi_diff"].shape == (4, 3 + 4)
    _go(s, qapp, "bwd:7:L1:ds")
    _shows_the_frame(view, s)
    assert view._buffers["wi_diff"].shape == (4, 4 + 4)
    _go(s, qapp, "bwd:2:L0:ds")                 # back: the same buffers, the new frame's
    assert all(view._buffers[n] is first[n] for n in first)
    _shows_the_frame(view, s)
    _go(s, qapp, "bwd:9:L1:ds")
    _shows_the_frame(view, s)


def test_buffers_are_dropped_with_the_pass(make_window, qapp):
    w = make_window(Session(default_config("random", steps=12, inputs=3, hidden=4,
                                           layers=2)))
    s = w.session
    view = _front(w, "param_grads", qapp)
    _go(s, qapp, "bwd:5:L0:ds")
    first = dict(view._buffers)
    s.configure(s.config.with_(seed=s.config.seed + 1))     # another run: another pass
    qapp.processEvents()
    _go(s, qapp, "bwd:5:L0:ds")
    assert all(view._buffers[n] is not first[n] for n in first)
    _shows_the_frame(view, s)
