"""A stacked model in the window (issue 13): the keys step across layer boundaries both
ways; every per-step view shows the cursor's layer (or the pinned one) with that layer's
numbers, the same a window on that layer's own one-layer Trace shows at its local frame;
the layer selector, the source panel's driver and the carousel's origin of top_diff_h;
goto texts; nothing of it shows with one layer."""

import numpy as np
import pytest
from docks import show_view as show
from PySide6.QtCore import Qt

from lstm_engine import Model, ReadoutMSE, init_uniform, record_model
from lstm_viz.model.session import Session

T = 6
VIEWS_WITH_CSV = ("carousel", "heatmaps", "param_grads", "flow")


@pytest.fixture
def mt():
    rng = np.random.default_rng(3)
    cells = [init_uniform(4, 7, rng, -0.6, 0.6), init_uniform(7, 5, rng, -0.6, 0.6)]
    model = Model(cells, "seed", ReadoutMSE(rng.standard_normal((2, 5)), np.zeros(2)))
    return record_model(model, rng.standard_normal((T, 4)), rng.standard_normal((T, 2)))


@pytest.fixture
def window(make_window, mt, qapp):
    w = make_window(Session(trace=mt))
    qapp.processEvents()
    return w


def one_layer_csvs(make_window, mt, layer, local_text, qapp):
    """What a window on layer ``layer``'s own Trace shows at ``local_text``."""
    ref = make_window(Session(trace=mt.layers[layer]), settings_name="ref.ini")
    ref.session.goto(local_text)
    qapp.processEvents()
    out = {name: show(ref, name, qapp).csv() for name in VIEWS_WITH_CSV}
    ref.close()
    return out


def test_keys_step_across_layers_both_ways(window, qtbot):
    w = window
    s = w.session
    s.goto("fwd:2:L0:o")
    for key, want in ((Qt.Key.Key_F10, "fwd:2:L1"), (Qt.Key.Key_F11, "fwd:3:L0:xc"),
                      (Qt.Key.Key_Left, "fwd:2:L1"), (Qt.Key.Key_Left, "fwd:2:L1:s")):
        qtbot.keyClick(w, key)
        assert s.frame_text == want
    qtbot.keyClick(w, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)     # step out
    assert s.frame_text == "fwd:2:L1"
    qtbot.keyClick(w, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)
    assert s.frame_text == "loss"
    qtbot.keyClick(w, Qt.Key.Key_F11)
    assert s.frame_text == f"bwd:{T - 1}:L1:ds"
    qtbot.keyClick(w, Qt.Key.Key_F10)
    assert s.frame_text == f"bwd:{T - 1}:L0"
    qtbot.keyClick(w, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)     # back over
    assert s.frame_text == "loss"
    assert w.timeline.bar.value() == s.cursor
    assert w.timeline.text().startswith("loss ")


@pytest.mark.parametrize("text,layer,local", [("bwd:2:L0:ds", 0, "bwd:2:ds"),
                                              ("bwd:2:L1:do", 1, "bwd:2:do"),
                                              ("fwd:3:L1:f", 1, "fwd:3:f"),
                                              ("fwd:3:L0:s", 0, "fwd:3:s")])
def test_each_view_shows_the_cursors_layer(window, make_window, mt, qapp, text, layer, local):
    w = window
    s = w.session
    s.goto(text)
    qapp.processEvents()
    assert s.view_layer == layer
    got = {name: show(w, name, qapp).csv() for name in VIEWS_WITH_CSV}
    assert got == one_layer_csvs(make_window, mt, layer, local, qapp)
    tr = mt.layers[layer]
    t = int(text.split(":")[1])
    stmt = text.split(":")[-1]
    carousel = w.views["carousel"].state
    if stmt == "ds":
        np.testing.assert_array_equal(carousel.edges["s"].values, tr.ds[t])
    if text.startswith("bwd"):
        np.testing.assert_array_equal(carousel.edges["h"].values, tr.top_diff_h[t])
    row = w.variables_panel.row_text(stmt)
    assert row[1] == f"t={t}" and float(row[5]) == pytest.approx(
        np.linalg.norm(tr[stmt][t]), rel=1e-3)
    assert f"layer {layer}" in w.timeline.text()


def test_the_layer_selector_pins_the_views(window, mt, qapp, qtbot):
    w = window
    s = w.session
    combo = w.layer_combo
    assert combo.isVisible() and combo.count() == 3 and combo.currentText() == "follows cursor"
    assert "Alt+L" in combo.toolTip()
    s.goto("bwd:2:L1:ds")
    qapp.processEvents()
    combo.setCurrentIndex(1)
    combo.activated.emit(1)                    # what a user's choice sends
    assert s.layers.pinned == 0 and s.view_layer == 0
    qapp.processEvents()
    # layer 0 has finished backward step 3 while layer 1 runs step 2
    row = w.variables_panel.row_text("ds")
    assert row[1] == "t=3"
    assert float(row[5]) == pytest.approx(np.linalg.norm(mt.layers[0].ds[3]), rel=1e-3)
    assert w.views["carousel"].state.t == 3
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)     # next: layer 1
    assert s.layers.pinned == 1 and combo.currentText() == "1"
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)     # follows again
    assert s.layers.pinned is None and combo.currentIndex() == 0
    view_menu = [a.text() for a in w.menus["View"].actions()]
    assert any("Layer" in t for t in view_menu)


def _current_on_screen(panel) -> bool:
    rect = panel.view.current_rect().translated(0, panel.view.y())
    top = panel.scroll.verticalScrollBar().value()
    return top <= rect.top() and rect.bottom() <= top + panel.scroll.viewport().height()


def test_the_source_panel_shows_the_driver_and_the_carousel_where_top_diff_h_comes_from(
        window, qapp, qtbot):
    w = window
    s = w.session
    s.goto("bwd:2:L0:ds")
    qapp.processEvents()
    panel = w.source_panel
    assert panel.driver.isVisible()
    lines = panel.driver.state.lines
    current = lines[panel.driver.state.current]
    assert "cell_backward(" in current
    notes = [text for text, _, _ in panel.driver.notes.values()]
    assert "t = 2" in notes and any(n.startswith("l = 0") for n in notes)
    assert any("layer 1's dxc[:X] at t=2" in n and "t=3" in n for n in notes)
    assert panel.current_statement() == "ds" and "layer 0" in panel.header.text()
    assert "lstm_engine.model_driver line" in panel.header.text()
    qtbot.waitUntil(lambda: _current_on_screen(panel), timeout=2000)   # under the driver
    show(w, "carousel", qapp)
    title = w.views["carousel"].title.text()
    assert "layer 0" in title and "top_diff_h ← layer 1's dxc[:X] + t=3" in title
    assert "bottom_diff_h of t=3" in w.views["carousel"].title.toolTip()
    s.goto(f"bwd:{T - 1}:L1:ds")
    qapp.processEvents()
    assert w.views["carousel"].title.text().endswith("top_diff_h ← the loss")
    s.goto("fwd:1:L1:g")
    qapp.processEvents()
    assert "cell_forward(" in panel.driver.state.lines[panel.driver.state.current]


def test_goto_texts_and_a_bad_one(window, qapp):
    w = window
    assert w.goto_text("bwd:2")
    assert w.session.frame_text == "bwd:2:L0"
    assert not w.goto_text("bwd:2:ds")                   # a statement needs its layer
    assert w.session.frame_text == "bwd:2:L0"


def test_nothing_of_it_shows_with_one_layer(make_window, mt, qapp):
    w = make_window(Session(trace=mt.layers[0]))
    qapp.processEvents()
    assert not w.layer_combo.isVisible() and not w.source_panel.driver.isVisible()
    w.session.goto("bwd:2:ds")
    qapp.processEvents()
    assert "layer" not in w.views["carousel"].title.text()


def test_the_variables_panel_shows_the_read_out_for_the_top_layer(window, mt, qapp):
    w = window
    s = w.session
    panel = w.variables_panel
    s.goto("bwd:3:L1:do")
    qapp.processEvents()
    assert panel.readout.isVisible()
    text = panel.readout.text()
    assert "ŷ (t=3)" in text and "dl/dŷ (t=3)" in text
    assert f"{np.linalg.norm(mt.outputs['y_hat'][3]):.4g}" in text
    s.goto("bwd:3:L0:do")
    qapp.processEvents()
    assert not panel.readout.isVisible()


def test_the_breakpoints_panel_shows_the_layer_part_for_a_stacked_model(window, make_window,
                                                                       qapp):
    """The typed form's examples name the layer part (``L1: …``) when there are layers
    (nothing in the panel said so), and the example as shown is accepted."""
    from lstm_viz.widgets.breakpoints_panel import BreakpointsPanel

    panel = window.findChild(BreakpointsPanel)
    shown = panel.spec.placeholderText()
    assert "L1: norm ds < 1e-3" in shown and "L1:" in panel.spec.toolTip()
    panel.spec.setText(shown.split("or type one: ")[1].split(" (")[0])
    panel.spec.returnPressed.emit()
    assert [bp.spec() for bp in window.session.breakpoints] == ["L1: norm ds < 0.001"]
    one = make_window().findChild(BreakpointsPanel)
    assert "L1" not in one.spec.placeholderText() and "norm ds" in one.spec.placeholderText()


def test_the_breakpoints_form_chooses_the_layer_for_a_stacked_model(window, make_window):
    """The form has a layer choice with layers (any layer, layer 0, layer 1): a condition
    made on one layer is that layer's (``L1: …``), on any layer it has no layer part; a
    frame names its layer in its own text, so the choice hides for it; one layer, none."""
    from lstm_viz.widgets.breakpoints_panel import BreakpointsPanel

    panel = window.findChild(BreakpointsPanel)
    assert [panel.layer.itemText(i) for i in range(panel.layer.count())] == [
        "any layer", "layer 0", "layer 1"]
    panel.kind.setCurrentIndex(panel.kind.findData("norm"))
    assert panel.layer.isVisibleTo(panel)
    panel.threshold.setText("1e-3")
    panel.add_button.click()
    panel.layer.setCurrentIndex(panel.layer.findData(1))
    panel.threshold.setText("2e-3")
    panel.add_button.click()
    assert [bp.spec() for bp in window.session.breakpoints] == [
        "norm ds < 0.001", "L1: norm ds < 0.002"]
    panel.kind.setCurrentIndex(panel.kind.findData("frame"))
    assert not panel.layer.isVisibleTo(panel)
    panel.threshold.setText("bwd:2:L0:ds")
    assert panel.form_spec() == "frame bwd:2:L0:ds"
    one = make_window().findChild(BreakpointsPanel)
    one.kind.setCurrentIndex(one.kind.findData("norm"))
    assert not one.layer.isVisibleTo(one) and one.layer.count() == 2


def test_a_seek_into_the_other_layer_draws_each_view_once(window, qapp):
    """The seek fires view_layer_changed (the views redraw for the new layer at the new
    frame), then frame_changed: that one finds the frame drawn and does not draw it again;
    a seek within the layer, and a pinned layer's change, still draw once."""
    w = window
    s = w.session
    s.goto("bwd:2:L1:ds")
    qapp.processEvents()
    shown = [v for v in w.views.values() if v.isVisible() and not v.visibleRegion().isEmpty()]
    assert {w.views["heatmaps"], w.views["carousel"]} <= set(shown)
    before = {v: v.refreshes for v in shown}
    s.goto("bwd:2:L0:ds")                               # layer 1 -> layer 0
    assert s.view_layer == 0
    assert all(v.refreshes == before[v] + 1 for v in shown)
    heat = w.views["heatmaps"].backward.map
    assert heat.cursor.value() == 2 and heat.data is not None
    np.testing.assert_array_equal(heat.data, mt_image(s, "ds"))
    s.goto("bwd:1:L0:ds")                               # within layer 0
    assert all(v.refreshes == before[v] + 2 for v in shown)
    assert heat.cursor.value() == 1
    s.set_view_layer(1)                                 # pinned: same cursor, other layer
    assert all(v.refreshes == before[v] + 3 for v in shown)
    np.testing.assert_array_equal(heat.data, mt_image(s, "ds"))


def mt_image(s, name):
    """The image a time heatmap of ``name`` shows for the layer in view."""
    return np.asarray(s.trace[name], np.float32)


def _band_is_between_the_curves(flow):
    """The flow view's ∏f band is the fill pyqtgraph builds between the curves shown."""
    import pyqtgraph as pg
    fresh = pg.FillBetweenItem(flow.f_lo, flow.f_hi)
    return flow.f_band.path() == fresh.path() and not fresh.path().isEmpty()


def test_the_flow_band_is_kept_per_layer_and_rebuilt_for_a_new_pass(window, make_window,
                                                                    qapp):
    w = window
    s = w.session
    flow = show(w, "flow", qapp)
    s.goto("bwd:2:L1:ds")
    qapp.processEvents()
    assert _band_is_between_the_curves(flow)
    layer1 = flow.f_band.path()
    s.goto("bwd:2:L0:ds")                               # built for layer 0
    assert _band_is_between_the_curves(flow) and flow.f_band.path() != layer1
    s.goto("bwd:3:L1:ds")                               # layer 1's again, from the cache
    assert _band_is_between_the_curves(flow) and flow.f_band.path() == layer1
    s.goto("fwd:5:L0:s")
    s.goto("fwd:5:L1:s")
    assert _band_is_between_the_curves(flow)


def test_the_flow_band_follows_an_applied_intervention(make_window, qapp):
    from lstm_viz.model.config import default_config

    w = make_window(Session(default_config("adding", steps=12, hidden=6)))
    s = w.session
    flow = show(w, "flow", qapp)
    s.goto("bwd:3:ds")
    qapp.processEvents()
    assert _band_is_between_the_curves(flow)
    before = flow.f_band.path()
    s.whatif.apply("--clamp f=0.5")
    s.whatif.step("intervened")                         # the debugger steps that pass
    qapp.processEvents()
    assert s.trace is s.whatif.intervened
    assert _band_is_between_the_curves(flow) and flow.f_band.path() != before


def test_the_heatmaps_keep_each_layers_picture_until_a_new_pass(window, mt, qapp):
    """Each layer's time map is coloured once and shown again from its item; a new pass
    (another model's, same sizes) shows its own numbers, not a kept picture."""
    w = window
    s = w.session
    heat = show(w, "heatmaps", qapp).backward.map
    s.goto("bwd:2:L1:ds")
    qapp.processEvents()
    item1 = heat.image
    np.testing.assert_array_equal(heat.image.image, mt.layers[1].ds.astype(np.float32))
    s.goto("bwd:2:L0:ds")
    qapp.processEvents()
    assert heat.image is not item1 and item1.opacity() == 0     # transparent, pixmap kept
    np.testing.assert_array_equal(heat.image.image, mt.layers[0].ds.astype(np.float32))
    s.goto("bwd:3:L1:ds")
    qapp.processEvents()
    assert heat.image is item1 and item1.isVisible() and item1.opacity() == 1
    np.testing.assert_array_equal(heat.image.image, mt.layers[1].ds.astype(np.float32))
    rng = np.random.default_rng(11)                    # another pass of the same sizes
    cells = [init_uniform(4, 7, rng, -0.6, 0.6), init_uniform(7, 5, rng, -0.6, 0.6)]
    model = Model(cells, "seed", ReadoutMSE(rng.standard_normal((2, 5)), np.zeros(2)))
    other = record_model(model, rng.standard_normal((T, 4)), rng.standard_normal((T, 2)))
    s.replace_pass(other, s.config, path=None, keep_cursor=True, end_training=False)
    qapp.processEvents()
    for layer in (1, 0, 1):
        s.goto(f"bwd:2:L{layer}:ds")
        qapp.processEvents()
        drawn = [i for i in heat.plot.items if isinstance(i, type(heat.image))
                 and i.isVisible() and i.opacity() > 0 and i is not heat.special]
        assert drawn == [heat.image]
        np.testing.assert_array_equal(heat.image.image,
                                      other.layers[layer].ds.astype(np.float32))


def test_the_loss_to_cell_map_shows_each_layers_matrix_and_mask(window, qapp):
    w = window
    s = w.session
    view = show(w, "loss_to_cell", qapp)
    for text in ("bwd:2:L1:ds", "bwd:2:L0:ds", "bwd:4:L1:ds", "bwd:1:L0:ds"):
        s.goto(text)
        qapp.processEvents()
        img = view.view_data.contributions.compute()
        assert view.image is img
        np.testing.assert_array_equal(view.map.image.image, img.log.T.astype(np.float32))
        masks = [i for i in view.map.plot.items
                 if i.zValue() == 4 and i.isVisible() and i.opacity() > 0]
        assert masks == [view.future]
        np.testing.assert_array_equal(view.future.image[..., 3] > 0, img.future.T)


def test_a_seek_into_the_other_layer_refreshes_each_panel_once(window, qapp, monkeypatch):
    """It fires view_layer_changed, then frame_changed, for the same new frame: the
    source panel, the status line and the variables table are drawn from it once, and
    show it."""
    w, s = window, window.session
    s.goto("fwd:2:L0:o")
    qapp.processEvents()
    calls = {"source": 0, "status": 0, "table": 0}
    def counting(name, f):
        def counted(*a):
            calls[name] += 1
            return f(*a)
        return counted

    for name, obj, method in (("source", w.source_panel.view, "set_state"),
                              ("status", w.status_line.frame, "set_full_text"),
                              ("table", w.variables_panel.model, "refresh")):
        monkeypatch.setattr(obj, method, counting(name, getattr(obj, method)))
    s.goto("fwd:4:L1:s")                                    # another layer
    assert s.view_layer == 1 and calls == {"source": 1, "status": 1, "table": 1}
    assert "t = 4 · layer 1" in w.source_panel.header.text()
    assert w.status_line.frame.full_text().startswith("frame fwd:4:L1:s")
    s.goto("fwd:4:L1:f")                                    # the same layer: once each too
    assert calls == {"source": 2, "status": 2, "table": 2}
    assert w.status_line.frame.full_text().startswith("frame fwd:4:L1:f")
