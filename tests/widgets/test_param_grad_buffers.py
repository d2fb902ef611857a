"""The parameter-gradient view keeps a page of plots and image buffers per layer size
(``param_grads_view.py``): a seek into the other layer and back shows the same page again
(no plot given other sizes, no 2.5 MB allocated and zeroed at each change) and always
the frame's gradients, never what a buffer held before; another pass of the same sizes
re-uses the page, filled anew; at most MAX_PAGES sizes are kept."""

import numpy as np
from docks import show_view as _front
from PySide6.QtCore import Qt

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


def _stacked(make_window, qapp, steps=12):
    """The parameter-gradient view of a two-layer pass in front: layer 0 reads x (3
    inputs), layer 1 reads layer 0's h (4): other sizes. (session, view)"""
    w = make_window(Session(default_config("random", steps=steps, inputs=3, hidden=4,
                                           layers=2)))
    return w.session, _front(w, "param_grads", qapp)


def test_buffers_are_kept_per_layer_and_refilled_at_each_seek(make_window, qapp):
    s, view = _stacked(make_window, qapp)
    _go(s, qapp, "bwd:5:L0:ds")
    _shows_the_frame(view, s)
    first = dict(view.page.buffers)
    assert first["wi_diff"].shape == (4, 3 + 4)
    _go(s, qapp, "bwd:7:L1:ds")
    _shows_the_frame(view, s)
    assert view.page.buffers["wi_diff"].shape == (4, 4 + 4)
    _go(s, qapp, "bwd:2:L0:ds")                 # back: the same buffers, the new frame's
    assert all(view.page.buffers[n] is first[n] for n in first)
    _shows_the_frame(view, s)
    _go(s, qapp, "bwd:9:L1:ds")
    _shows_the_frame(view, s)


def test_another_pass_of_the_same_sizes_reuses_the_page_filled_anew(make_window, qapp):
    s, view = _stacked(make_window, qapp)
    _go(s, qapp, "bwd:5:L0:ds")
    page, first = view.page, dict(view.page.buffers)
    s.configure(s.config.with_(seed=s.config.seed + 1))     # another run: another pass
    qapp.processEvents()
    _go(s, qapp, "bwd:5:L0:ds")
    assert view.page is page and all(view.page.buffers[n] is first[n] for n in first)
    _shows_the_frame(view, s)


def test_a_seek_into_the_other_layer_shows_its_page_as_it_was_left(make_window, qapp):
    s, view = _stacked(make_window, qapp)
    _go(s, qapp, "bwd:5:L0:ds")
    lower = view.page
    _go(s, qapp, "bwd:7:L1:ds")
    upper = view.page
    assert upper is not lower and view.pages.currentWidget() is upper.graphics
    ticks = {n: upper.maps[n].plot.getAxis("bottom")._tickLevels for n in WEIGHT_DIFFS}
    _go(s, qapp, "bwd:2:L0:ds")
    assert view.page is lower and view.pages.currentWidget() is lower.graphics
    _go(s, qapp, "bwd:9:L1:ds")
    assert view.page is upper
    for n in WEIGHT_DIFFS:                      # its plots as set up once: x | h_prev at 4
        assert upper.maps[n].plot.getAxis("bottom")._tickLevels is ticks[n]
        assert upper.splits[n].value() == 4
        assert upper.maps[n].plot.getViewBox().viewRange()[0] == [0.0, 8.0]
    _shows_the_frame(view, s)


def test_at_most_max_pages_sizes_are_kept(make_window, qapp):
    from lstm_viz.widgets.param_grads_view import MAX_PAGES

    s, view = _stacked(make_window, qapp, steps=8)
    for frame in ("bwd:5:L0:ds", "bwd:5:L1:ds"):
        _go(s, qapp, frame)
    assert view.pages.count() == 2
    s.configure(default_config("random", steps=8, inputs=5, hidden=6))   # a third size
    qapp.processEvents()
    _go(s, qapp, "bwd:3:ds")
    assert view.page.shape == (5, 6)
    assert view.pages.count() == len(view._pages) == MAX_PAGES
    assert (3, 4) not in view._pages                   # the least recently shown went
    _shows_the_frame(view, s)


def _marked(view) -> set:
    """The maps with marks shown or an orange border."""
    return {n for n, h in view.maps.items()
            if view.marks[n].isVisible() or h.plot.getViewBox().border.style()
            != Qt.PenStyle.NoPen}


def test_marks_go_with_the_frame_across_passes_and_pages(make_window, qapp):
    s, view = _stacked(make_window, qapp)
    _go(s, qapp, "bwd:5:L1:wo_diff")
    assert _marked(view) == {"wo_diff"}
    _go(s, qapp, "bwd:5:L0:ds")
    _go(s, qapp, "bwd:4:L1:ds")                     # the upper page again: nothing marked
    assert view.state.changed is None and _marked(view) == set()
    _go(s, qapp, "bwd:2:L0:wo_diff")
    assert _marked(view) == {"wo_diff"}
    s.configure(s.config.with_(seed=s.config.seed + 1))     # another pass
    qapp.processEvents()
    _go(s, qapp, "bwd:1:L0:ds")
    assert _marked(view) == set()


def test_a_pass_of_three_sizes_keeps_a_page_for_each(make_window, qapp, monkeypatch):
    """Layers of widths of their own (Model.hiddens): each size's page is built once,
    not again at every change of layer."""
    from lstm_engine import Model, ReadoutMSE, init_uniform, record_model
    from lstm_viz.widgets import param_grads_view

    rng = np.random.default_rng(3)
    cells = [init_uniform(4, 7, rng, -0.6, 0.6), init_uniform(7, 5, rng, -0.6, 0.6),
             init_uniform(5, 6, rng, -0.6, 0.6)]
    model = Model(cells, "seed", ReadoutMSE(rng.standard_normal((2, 6)), np.zeros(2)))
    mt = record_model(model, rng.standard_normal((6, 4)), rng.standard_normal((6, 2)))
    w = make_window(Session(trace=mt))
    s = w.session
    view = _front(w, "param_grads", qapp)
    built = []
    make = param_grads_view._Page.__init__
    monkeypatch.setattr(param_grads_view._Page, "__init__",
                        lambda page, *sizes: (built.append(sizes), make(page, *sizes))[1])
    for t in (5, 4, 3):
        for layer in (2, 1, 0):
            _go(s, qapp, f"bwd:{t}:L{layer}:ds")
            _shows_the_frame(view, s)
    assert sorted(view._pages) == [(4, 7), (5, 6), (7, 5)]
    assert len(built) <= 2                      # the sizes not built before the seeks


def test_a_border_moved_to_another_map_leaves_no_outline_on_screen(make_window, qapp):
    # The orange border of the map the statement writes is 2 px, centred on its view's
    # edge: the outer pixel lies outside the view's bounding rectangle, which is all Qt
    # repainted for the change. A border taken off left a 1 px orange outline on the map
    # marked before (seen in a real window). On screen (the backing store, as the
    # partial repaints left it) the view is what a whole repaint draws.
    from test_step_window import _on_screen

    w = make_window(Session(default_config("random", steps=30, inputs=6, hidden=8)))
    view = _front(w, "param_grads", qapp)
    marked = []
    for frame in ("bwd:20:bo_diff", "bwd:20:wi_diff", "bwd:20:wf_diff", "bwd:19:bi_diff",
                  "fwd:3:h", "bwd:20:wo_diff"):
        _go(w.session, qapp, frame)
        qapp.processEvents()
        viewport = view.graphics.viewport()
        left = _on_screen(viewport)
        viewport.repaint()
        assert left == _on_screen(viewport), frame
        marked.append(view.page.marked_map)
    assert marked == ["bias", "wi_diff", "wf_diff", "bias", None, "wo_diff"]
