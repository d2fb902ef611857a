"""What the panels keep between seeks is dropped exactly when what it shows changes
(issue 16): the path shares per layer of the pass shown and the paths view's curves and
ranges (set once per pass and layer), the Intervene panel's ranges."""

import numpy as np
import pytest
from docks import show_view as _front
from PySide6.QtCore import QPointF

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.pictures.paths import PathShares
from lstm_viz.pictures.whatif import both_passes


def _two_layers(**sizes):
    return Session(default_config("random", steps=12, inputs=3, hidden=4, layers=2,
                                  **sizes))


def _same_shares(view, session):
    """The view's curves are the shares of the layer in view of the pass shown."""
    fresh = PathShares(session.data, session.view_layer).state(session.view_index)
    shown = view.state
    assert np.array_equal(shown.t, fresh.t)
    for name in fresh.shares:
        assert np.array_equal(shown.shares[name], fresh.shares[name], equal_nan=True)


def test_path_shares_are_kept_per_layer_while_the_cursor_moves(make_window, qapp):
    w = make_window(_two_layers())
    s = w.session
    view = _front(w, "paths", qapp)
    s.goto("bwd:5:L0:ds")
    qapp.processEvents()
    first = view.picture()
    s.goto("bwd:5:L1:ds")                     # the other layer comes into view
    qapp.processEvents()
    assert s.view_layer == 1 and view.picture() is not first
    second = view.picture()
    s.goto("bwd:4:L0:ds")                     # and back: nothing computed again
    qapp.processEvents()
    assert s.view_layer == 0 and view.picture() is first
    _same_shares(view, s)
    s.goto("bwd:4:L1:ds")
    qapp.processEvents()
    assert view.picture() is second
    _same_shares(view, s)


def test_path_shares_are_dropped_with_the_pass(make_window, qapp):
    w = make_window(_two_layers())
    s = w.session
    view = _front(w, "paths", qapp)
    for frame in ("bwd:5:L0:ds", "bwd:5:L1:ds"):
        s.goto(frame)
        qapp.processEvents()
    kept = dict(view._pictures)
    s.configure(s.config.with_(seed=s.config.seed + 1))     # another run: another pass
    qapp.processEvents()
    s.goto("bwd:5:L0:ds")
    qapp.processEvents()
    assert all(p is not kept.get(layer) for layer, p in view._pictures.items())
    assert all(p.data is s.layers.data(layer) for layer, p in view._pictures.items())
    _same_shares(view, s)
    s.whatif.apply("--cut h@2:6")             # the intervened pass, stepped
    s.whatif.step("intervened")
    qapp.processEvents()
    s.goto("bwd:5:L1:ds")
    qapp.processEvents()
    assert view.picture().data is s.data
    _same_shares(view, s)


def test_the_intervene_curves_follow_the_pass_across_layer_switches(make_window, qapp):
    w = make_window(_two_layers())
    s = w.session
    panel = w.intervener.panel

    def drawn():
        return {k: len(c.getData()[0] if c.getData()[0] is not None else ())
                for k, c in panel.curves.items()}

    assert set(drawn().values()) == {0}                   # no intervened pass
    s.goto("bwd:5:L1:ds")
    s.goto("bwd:5:L0:ds")                                 # layer switches: still none
    assert set(drawn().values()) == {0}
    s.whatif.apply("--cut h@2:6")
    assert set(drawn().values()) == {12}                  # both passes, every step
    ds_layer0 = panel.curves["ds", "intervened"].getData()[1].copy()
    s.goto("bwd:5:L1:ds")                                 # the other layer's ‖ds(t)‖
    assert not np.array_equal(panel.curves["ds", "intervened"].getData()[1], ds_layer0,
                              equal_nan=True)
    s.whatif.clear()
    assert set(drawn().values()) == {0}
    s.goto("bwd:5:L0:ds")
    s.whatif.apply("--cut h@2:6")                         # after none again: drawn again
    assert set(drawn().values()) == {12}
    assert np.array_equal(panel.curves["ds", "intervened"].getData()[1], ds_layer0,
                          equal_nan=True)


def _labelled_range(plot) -> list[float]:
    """The y values a plot's left axis labels at the bottom and top of its view."""
    return list(plot.getAxis("left").range)


def _frame_maps(frame, y_range) -> bool:
    """Whether a layer's frame (``layer_frames.py``) puts the values of ``y_range`` at the
    bottom and top of its plot's view (which shows the unit frame), as the axis says."""
    lo, hi = y_range
    view = frame.plot.vb.viewRange()[1]
    at = [frame.mapToParent(QPointF(0.0, y)).y() for y in (lo, hi)]
    return np.allclose(view, [0.0, 1.0]) and np.allclose(at, [0.0, 1.0])


def _paths_show(view, session):
    """The paths view's axes and curves are those of the layer in view of the pass shown,
    whole, and its windows show the steps known at the frame, as computed afresh."""
    fresh = PathShares(session.data, session.view_layer)
    st = fresh.state(session.view_index)
    T = session.trace.steps
    shown = [curves for curves in view._layers.values()         # one layer's curves
             if all(frame.opacity() == 1.0 for frame in curves.frames.values())]
    assert shown == [view._layers[session.view_layer]]
    assert all(frame.opacity() == 0.0 for curves in view._layers.values()
               if curves is not shown[0] for frame in curves.frames.values())
    assert len(view._layers) <= session.num_layers
    assert _labelled_range(view.norms) == pytest.approx(fresh.norm_range())
    assert _frame_maps(shown[0].frames[view.norms], fresh.norm_range())
    assert np.allclose(view.shares.vb.viewRange()[0], [-0.5 - 0.01 * T, T - 0.5 + 0.01 * T])
    for plot, curves, values in ((view.shares, view.share_curves, fresh.values()),
                                 (view.norms, view.norm_curves, fresh.log_norms())):
        for name, c in curves.items():
            assert np.array_equal(c.yData, values[name], equal_nan=True)
            t, v = view.shown(plot, name)
            assert np.array_equal(t, st.t)
            assert np.array_equal(v, values[name][st.known[0]:st.known[1]], equal_nan=True)


def test_the_paths_curves_and_ranges_follow_pass_layer_and_frame(make_window, qapp):
    w = make_window(_two_layers())
    s = w.session
    view = _front(w, "paths", qapp)
    rng = np.random.default_rng(7)
    layers, known = set(), set()
    for i in rng.integers(len(s.frames), size=25):       # forward, backward, both layers
        s.seek(int(i))
        qapp.processEvents()
        layers.add(s.view_layer)
        known.add(len(view.state.t) > 0)
        _paths_show(view, s)
    assert layers == {0, 1} and known == {True, False}
    s.goto("bwd:3:L1:ds")
    qapp.processEvents()
    before = _labelled_range(view.norms)
    s.configure(s.config.with_(seed=s.config.seed + 1))    # another pass
    s.goto("bwd:3:L1:ds")
    qapp.processEvents()
    assert not np.allclose(_labelled_range(view.norms), before)
    _paths_show(view, s)
    s.whatif.apply("--cut h@2:9/L1")                        # the intervened pass, stepped
    s.whatif.step("intervened")
    qapp.processEvents()
    _paths_show(view, s)
    s.configure(s.config.with_(steps=20))                  # another length
    s.goto("bwd:15:L0:ds")
    qapp.processEvents()
    _paths_show(view, s)
    s.goto("bwd:15:L1:ds")
    qapp.processEvents()
    s.configure(s.config.with_(layers=1))                  # one layer: its curves only
    s.goto("bwd:15:ds")
    qapp.processEvents()
    _paths_show(view, s)


def test_a_paths_legend_entry_shows_or_hides_its_curve_in_every_layer(make_window, qapp):
    w = make_window(_two_layers())
    s = w.session
    view = _front(w, "paths", qapp)
    s.goto("bwd:5:L0:ds")
    qapp.processEvents()
    sample = next(smp for smp, (plot, name) in view._samples.items() if name == "ds")
    entry = next(item for item, _ in view.legend.items if item.item is sample)
    sample.setVisible(False)                     # as pyqtgraph's entry does on a click
    entry.sigClicked.emit(sample)
    assert not view.norm_curves["ds"].isVisible()
    s.goto("bwd:5:L1:ds")                        # a layer whose curves are made now
    qapp.processEvents()
    assert not view.norm_curves["ds"].isVisible()
    assert view.norm_curves["carousel"].isVisible() and view.share_curves["carousel"].isVisible()
    sample.setVisible(True)
    entry.sigClicked.emit(sample)
    assert len(view._layers) == 2
    for curves in view._layers.values():             # the other's, in its hidden window
        ds = curves.curves[view.norms]["ds"]
        assert ds.isVisibleTo(ds.parentItem())


def test_the_paths_view_resized_draws_what_a_fresh_one_does(make_window, qapp):
    # The curves are drawn once into device pixmaps and the windows clip them: a resize
    # must draw them at the new size, as a view built at that size does.
    w = make_window(Session(default_config("random", steps=30, inputs=3, hidden=4)))
    s = w.session
    view = _front(w, "paths", qapp)
    s.goto("bwd:12:ds")
    qapp.processEvents()
    small = view.graphics.grab()
    dock = w.view_docks["paths"]
    dock.setFloating(True)
    dock.resize(dock.width() + 150, dock.height() + 90)
    qapp.processEvents()
    kept = view.graphics.grab()
    assert kept.size() != small.size()
    view._built = view._shown = None                         # built again at this size
    view.refresh()
    qapp.processEvents()
    assert kept.toImage() == view.graphics.grab().toImage()


def test_the_intervene_ranges_are_set_per_pass_layer_and_length(make_window, qapp):
    # The axes are set, not auto-ranged, so that a seek re-ranges none: they must follow
    # what they frame (the steps of the pass, both passes' curves of the layer in view).
    w = make_window(_two_layers())
    s = w.session
    panel = w.intervener.panel

    def ranges():
        (x, ds), loss = panel.flow.vb.viewRange(), panel.loss.vb.viewRange()[1]
        assert np.allclose(panel.loss.vb.viewRange()[0], x)          # linked
        return x, ds, loss

    def steps(T):                       # the steps of the pass with 1% room
        return [-0.5 - 0.01 * T, T - 0.5 + 0.01 * T]

    empty = ranges()
    assert np.allclose(empty[0], steps(12)) and np.allclose(empty[1:], [[0, 1], [0, 1]])
    for i in (3, len(s.frames) - 5, 40):
        s.seek(i)
        assert np.allclose(ranges(), empty)                   # the cursor moves alone
    s.goto("bwd:5:L0:ds")
    s.whatif.apply("--cut h@2:6")
    layer0 = both_passes(s.whatif, 0)
    assert np.allclose(ranges(), [steps(12), layer0.ds_range, layer0.loss_range])
    s.goto("bwd:5:L1:ds")                                     # the other layer's ‖ds‖
    layer1 = both_passes(s.whatif, 1)
    assert not np.allclose(layer1.ds_range, layer0.ds_range)
    assert np.allclose(ranges(), [steps(12), layer1.ds_range, layer1.loss_range])
    s.whatif.step("intervened")                               # the same curves
    assert np.allclose(ranges(), [steps(12), layer1.ds_range, layer1.loss_range])
    s.whatif.clear()
    assert np.allclose(ranges(), empty)
    s.configure(s.config.with_(steps=20))                     # another length
    assert np.allclose(ranges()[0], steps(20))
    s.whatif.apply("--clamp f=1")
    both = both_passes(s.whatif)
    assert np.allclose(ranges(), [steps(20), both.ds_range, both.loss_range])


def test_the_bar_plot_shows_the_vector_of_each_frame_in_any_order(make_window, qapp):
    # A seek that changes the selection refreshes the plot twice; the second keeps the
    # first's vector only while the frame, the quantity and the pass are the same.
    from lstm_viz.pictures.bars import plot_title, plotted_vector

    w = make_window(_two_layers())
    s = w.session
    plot = w.variables_panel.plot
    rng = np.random.default_rng(5)
    chosen = [None, "wi_diff", "h", "ds", "loss"]
    for n, i in enumerate(rng.integers(len(s.frames), size=80)):
        if n % 10 == 9:                       # now and then a quantity of the user's
            w.variables_panel.follow.setChecked(False)
            s.select(chosen[(n // 10) % len(chosen)] or "x")
        elif n % 10 == 0:
            w.variables_panel.follow.setChecked(True)
        if n == 40:
            s.configure(s.config.with_(seed=s.config.seed + 1))    # another pass
        s.seek(int(i))
        got = plotted_vector(s.data, s.selected, s.view_index)
        title = plot_title(s.data, s.selected, s.view_index, got)
        assert plot.title.text().endswith(title), s.frame_text
        if got is None:
            assert plot.values.size == 0
        else:
            assert np.array_equal(plot.values, got[0], equal_nan=True), s.frame_text


def test_the_intervene_plots_resized_draw_what_fresh_ones_do(make_window, qapp):
    # Their curves are drawn once into device pixmaps: a resize must draw them at the
    # new size, as curves set at that size are.
    w = make_window(Session(default_config("random", steps=30, inputs=3, hidden=4)))
    s = w.session
    panel = w.intervener.panel
    w.intervener.choose("--cut h@3:9")
    s.goto("bwd:12:ds")
    qapp.processEvents()
    small = panel.graphics.grab()
    dock = w.intervener.dock
    dock.show()
    dock.setFloating(True)
    dock.resize(dock.width() + 160, dock.height() + 60)
    qapp.processEvents()
    kept = panel.graphics.grab()
    assert kept.size() != small.size()
    panel._drawn, panel._ranges = {}, None                   # set again at this size
    panel._sync()
    qapp.processEvents()
    assert kept.toImage() == panel.graphics.grab().toImage()


def _carousel_shows(view):
    """Each shown strip's pixmap is the colours of the values it carries now (the strips
    keep their pixmap while the colours stay the same)."""
    from lstm_viz.pictures.colors import DIVERGING_LUT, SEQUENTIAL_LUT, to_rgba

    shown = 0
    for name, edge in view.state.edges.items():
        strip = view.strips.get(name)
        if strip is None or edge.values is None:
            continue
        image = strip.pixmap.pixmap().toImage()
        want = to_rgba(edge.values, edge.levels,
                       DIVERGING_LUT if edge.signed else SEQUENTIAL_LUT)
        got = [image.pixelColor(j, 0).getRgb() for j in range(image.width())]
        assert got == [tuple(int(c) for c in px) for px in want], name
        assert strip.norm.text().startswith(f"‖·‖ {edge.norm:.4g}"), name
        shown += 1
    assert shown >= 4


def test_the_carousel_strips_follow_a_new_pass_and_a_layer(make_window, qapp):
    # The same frame in an intervened pass, then in the other layer, then the pass again:
    # the cells the strips kept are drawn again wherever their colours changed.
    w = make_window(_two_layers())
    s = w.session
    view = _front(w, "carousel", qapp)

    def images():
        return [strip.pixmap.pixmap().toImage() for strip in view.strips.values()]

    s.goto("bwd:5:L0:ds")
    qapp.processEvents()
    _carousel_shows(view)
    first = images()
    s.whatif.apply("--clamp f=0.5")
    s.whatif.step("intervened")                         # the debugger steps that pass
    qapp.processEvents()
    _carousel_shows(view)
    assert images() != first                            # new colours, drawn
    intervened = images()
    s.goto("bwd:5:L1:ds")
    qapp.processEvents()
    _carousel_shows(view)
    assert images() != intervened
    s.goto("bwd:5:L0:ds")
    s.whatif.clear()
    qapp.processEvents()
    _carousel_shows(view)
    assert images() == first


@pytest.mark.parametrize("name", ["flow", "paths"])
def test_each_layers_kept_curves_resized_draw_what_a_fresh_view_does(make_window, qapp,
                                                                       name):
    # Each layer's curves are drawn into device pixmaps and kept, transparent, while the
    # other layer is in view (layer_frames.py): a resize while one layer is shown must
    # draw the other at the new size too, as a window that never drew it at the old one.
    def window(settings):
        w = make_window(_two_layers(), settings_name=settings)
        dock = w.view_docks[name]
        _front(w, name, qapp)
        dock.setFloating(True)
        dock.resize(640, 420)
        qapp.processEvents()
        return w, w.views[name], dock

    w, view, dock = window("kept.ini")
    for frame in ("bwd:6:L0:ds", "bwd:6:L1:ds", "bwd:4:L0:ds"):     # both layers drawn
        w.session.goto(frame)
        qapp.processEvents()
    dock.resize(760, 500)
    qapp.processEvents()
    ref, ref_view, ref_dock = window("fresh.ini")
    ref_dock.resize(760, 500)
    qapp.processEvents()
    for frame in ("bwd:5:L1:ds", "bwd:5:L0:ds", "fwd:5:L1:s"):
        for session in (w.session, ref.session):
            session.goto(frame)
        qapp.processEvents()
        kept, fresh = view.graphics.grab(), ref_view.graphics.grab()
        assert kept.size() == fresh.size() and kept.size().width() > 640
        assert kept.toImage() == fresh.toImage(), frame
