"""The picture views in the window: data as of the frame, clicks, NaN/Inf, layout, export."""

import csv
import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from docks import show_view as show
from nonfinite import nan_trace
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.pictures.time_maps import TIME_BACKWARD, TIME_FORWARD
from lstm_viz.pictures.view_data import ViewData
from lstm_viz.widgets.export import export_view
from lstm_viz.widgets.flow_view import CURVE_PENS
from lstm_viz.widgets.view_docks import VIEWS


@pytest.fixture
def window(make_window, qapp):
    s = Session(default_config("random", steps=12, inputs=4, hidden=6))
    w = make_window(s)
    qapp.processEvents()
    return w


def pending_steps(heatmap, T):
    """The steps the grey rectangle covers (empty if hidden)."""
    span = heatmap.pending_span()
    if span is None:
        return set()
    return {t for t in range(T) if span[0] < t < span[1]}


def test_every_view_is_a_dock_with_a_view_menu_toggle(window):
    titles = [a.text() for a in window.menus["View"].actions()]
    for name, title, _ in VIEWS:
        dock = window.view_docks[name]
        assert dock.objectName() == name and dock.windowTitle() == title
        assert title in titles
    assert window.view_docks["carousel"].isVisible() and window.view_docks["heatmaps"].isVisible()
    toggle = window.view_docks["carousel"].toggleViewAction()
    toggle.trigger()
    assert not window.view_docks["carousel"].isVisible()
    toggle.trigger()
    assert window.view_docks["carousel"].isVisible()


def test_the_arrangement_persists(make_window, qapp):
    w = make_window(settings_name="layout.ini")
    w.view_docks["flow"].close()
    w.save_settings()
    w.close()
    w2 = make_window(settings_name="layout.ini")
    qapp.processEvents()
    assert not w2.view_docks["flow"].isVisible()
    assert w2.view_docks["carousel"].isVisible()


@pytest.mark.parametrize("frame", ["fwd:4:o", "loss", "bwd:7:ds", "bwd:7:dxc", "bwd:0"])
def test_time_heatmaps_show_the_engine_arrays_and_grey_out_what_is_not_computed(window, qapp,
                                                                              frame):
    s = window.session
    view = show(window, "heatmaps", qapp)
    s.goto(frame)
    qapp.processEvents()
    T = s.trace.steps
    vd = ViewData.of(s.data)
    for panel, names in ((view.forward, TIME_FORWARD), (view.backward, TIME_BACKWARD)):
        for name in names:
            panel.choose.setCurrentText(name)
            qapp.processEvents()
            np.testing.assert_array_equal(panel.map.data, s.trace[name].astype(np.float32))
            lo, hi = vd.known(name, s.cursor)
            assert pending_steps(panel.map, T) == set(range(T)) - set(range(lo, hi)), name
            lo_l, hi_l = panel.map.image.levels
            if name in ("i", "f", "o"):
                assert (lo_l, hi_l) == (0.0, 1.0)
            else:
                assert lo_l == -hi_l > 0 or lo_l == -hi_l
            assert panel.map.cursor.value() == s.data.focus_step(s.frame)


def test_autoscale_levels_follow_the_computed_steps(window, qapp):
    s = window.session
    view = show(window, "heatmaps", qapp)
    s.goto("bwd:9:ds")
    view.autoscale.setChecked(True)
    qapp.processEvents()
    lo, hi = view.backward.map.image.levels
    assert hi == pytest.approx(np.abs(s.trace.ds[9:]).max()) and lo == -hi
    view.autoscale.setChecked(False)
    qapp.processEvents()
    assert view.backward.map.image.levels[1] == pytest.approx(np.abs(s.trace.ds).max())


def click_step(qtbot, panel, t):
    vb = panel.map.plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(t, panel.map.data.shape[1] / 2))
    pos = panel.graphics.mapFromScene(scene)
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_clicking_a_heatmap_column_moves_the_cursor_to_that_step(window, qapp, qtbot):
    s = window.session
    view = show(window, "heatmaps", qapp)
    s.goto("bwd:9:df")
    qapp.processEvents()
    click_step(qtbot, view.backward, 3)
    assert s.frame_text == "bwd:3:df"
    s.goto("fwd:2:g")
    qapp.processEvents()
    click_step(qtbot, view.forward, 10)
    assert s.frame_text == "fwd:10:g"
    s.goto("loss")
    qapp.processEvents()
    click_step(qtbot, view.backward, 5)
    assert s.frame_text == "bwd:5"


@pytest.mark.parametrize("frame", ["bwd:11:ds", "bwd:6:wo_diff", "bwd:6:bi_diff", "bwd:0"])
def test_parameter_gradients_are_the_live_accumulators_as_of_the_frame(window, qapp, frame):
    s = window.session
    view = show(window, "param_grads", qapp)
    s.goto(frame)
    qapp.processEvents()
    acc = s.data.accumulators(s.cursor)
    for name in WEIGHT_DIFFS:
        np.testing.assert_allclose(view.page.buffers[name], acc[name].astype(np.float32))
        assert view.maps[name].pending_span() is None
        lo, hi = view.maps[name].image.levels
        assert lo == -hi
    bias = np.stack([acc[n] for n in BIAS_DIFFS])
    np.testing.assert_allclose(view.page.buffers["bias"], bias.astype(np.float32))
    view.mode.setCurrentIndex(1)                              # this step's contribution alone
    qapp.processEvents()
    own = s.data.live.contribution(s.frame.t)
    for name in WEIGHT_DIFFS:
        if name in view.state.arrays:
            np.testing.assert_allclose(view.page.buffers[name], own[name].astype(np.float32))
        else:
            assert view.maps[name].pending_span() is not None


def test_parameter_gradient_images_are_redrawn_exactly_when_their_array_changes(
        window, qapp, monkeypatch):
    s = window.session
    view = show(window, "param_grads", qapp)
    calls = {n: 0 for n in view.maps}       # arrays mapped to an image again, per image
    fill = view._fill

    def counted(buf, a, special, *peak):
        calls[next(n for n, b in view.page.buffers.items() if b is buf)] += 1
        return fill(buf, a, special, *peak)
    monkeypatch.setattr(view, "_fill", counted)

    def at(frame):
        s.goto(frame)
        qapp.processEvents()
        if s.frame.phase == "bwd":
            acc = s.data.accumulators(s.cursor)
            for name in WEIGHT_DIFFS:        # whatever was skipped, the image is the array
                np.testing.assert_allclose(view.maps[name].image.image,
                                           acc[name].astype(np.float32))
        else:
            assert all(view.maps[n].pending_span() is not None for n in WEIGHT_DIFFS)
        before = dict(calls)
        calls.update({n: 0 for n in calls})
        return before

    at("bwd:6:dg_input")
    before = view.page.buffers["wi_diff"].copy()
    got = at("bwd:6:wi_diff")                # adds step 6's wi_diff update: redrawn
    assert got["wi_diff"] == 1 and got["wf_diff"] == 0
    assert not np.array_equal(view.page.buffers["wi_diff"], before)
    got = at("bwd:6:wf_diff")                # wi_diff unchanged: the same image
    assert got["wi_diff"] == 0 and got["wf_diff"] == 1
    got = at("bwd:6:wg_diff")                # wo_diff and wg_diff updated on the way
    assert (got["wo_diff"], got["wg_diff"], got["wi_diff"], got["bias"]) == (1, 1, 0, 0)
    got = at("bwd:6:bi_diff")
    assert got["bias"] == 1 and sum(got[n] for n in WEIGHT_DIFFS) == 0
    for frame in ("bwd:3:ds", "fwd:2", "bwd:3:ds", "bwd:9:wo_diff", "bwd:0"):
        at(frame)                            # after forward frames and jumps: still right
    view.mode.setCurrentIndex(1)             # this step's contribution alone: redrawn
    qapp.processEvents()
    assert all(calls[n] == 1 for n in WEIGHT_DIFFS)
    own = s.data.live.contribution(s.frame.t)
    for name in WEIGHT_DIFFS:
        np.testing.assert_allclose(view.page.buffers[name], own[name].astype(np.float32))
    view.mode.setCurrentIndex(0)
    qapp.processEvents()
    at("bwd:0")


def test_parameter_gradients_are_grey_before_the_backward_pass(window, qapp):
    view = show(window, "param_grads", qapp)
    window.session.goto("loss")
    qapp.processEvents()
    assert all(view.maps[n].pending_span() is not None for n in (*WEIGHT_DIFFS, "bias"))
    assert "not computed" in view.info.text()


def test_flow_curves_and_cursor_follow_the_frame(window, qapp):
    s = window.session
    view = show(window, "flow", qapp)
    s.goto("bwd:8:bottom_diff_s")
    qapp.processEvents()
    t, v = view.shown("ds")
    np.testing.assert_array_equal(t, np.arange(8, 12))
    np.testing.assert_allclose(v, np.linalg.norm(s.trace.ds[8:], axis=1), rtol=1e-6)
    t, v = view.shown("bottom_diff_s")
    np.testing.assert_allclose(v, np.linalg.norm(s.trace.bottom_diff_s[8:], axis=1), rtol=1e-6)
    assert view.cursor_lines[0].value() == 8
    _, med = view.f_median.getData()
    np.testing.assert_allclose(med, ViewData.of(s.data).flow.forget()[0])
    view.log.setChecked(False)
    qapp.processEvents()
    assert not view.norms.ctrl.logYCheck.isChecked()


def test_contribution_matrix_is_the_engine_s_on_demand(window, qapp):
    s = window.session
    s.goto("bwd:0")
    view = show(window, "loss_to_cell", qapp)
    from lstm_engine.flow import loss_to_cell_gradients
    sources, M = loss_to_cell_gradients(s.trace)
    img = view.image
    assert img is not None                                    # small: computed when shown
    np.testing.assert_array_equal(img.sources, sources)
    np.testing.assert_allclose(img.norms, M, equal_nan=True)
    np.testing.assert_array_equal(view.map.data, img.log.T)
    s.goto("bwd:6:ds")
    qapp.processEvents()
    assert pending_steps(view.map, s.trace.steps) == set(range(6))


def test_carousel_hover_gives_unit_and_exact_value(window, qapp):
    s = window.session
    view = show(window, "carousel", qapp)
    s.goto("bwd:5:ds")
    qapp.processEvents()
    text = view.hover_at("s", 3)
    assert text.startswith(f"ds[3] = {float(s.trace.ds[5, 3]):.9g}")
    assert view.lines["s"].pen().color().name() == "#eb7800"          # the active edge
    s.goto("fwd:5:f")
    qapp.processEvents()
    assert view.hover_at("f", 2).startswith(f"f[2] = {float(s.trace.f[5, 2]):.9g}")


def test_nan_and_inf_render_and_are_counted(make_window, qapp):
    base = Session(default_config("random", steps=6, inputs=3, hidden=5))
    s = Session(trace=nan_trace(base.trace))
    w = make_window(s)
    for name, _, _ in VIEWS:
        show(w, name, qapp)
        for frame in ("fwd:0:s", "loss", "bwd:3:ds", "bwd:0"):
            s.goto(frame)
            qapp.processEvents()
            w.repaint()
    heat = w.views["heatmaps"]
    heat.backward.choose.setCurrentText("ds")
    show(w, "heatmaps", qapp)
    assert heat.backward.special_text == "NaN 1 · +Inf 1 · −Inf 1"
    assert "NaN 1" in heat.backward.info.text()
    assert heat.backward.map.special.isVisible()
    assert "+Inf" in show(w, "param_grads", qapp).special_text
    cells = show(w, "loss_to_cell", qapp)                 # NaN norms: their colour too
    assert cells.image.special.nan > 0 and cells.map.special.isVisible()


def test_each_view_exports_png_svg_and_csv(window, qapp, tmp_path):
    window.session.goto("bwd:4:ds")
    for name, title, _ in VIEWS:
        view = show(window, name, qapp)
        for kind in ("png", "svg", "csv"):
            path = tmp_path / f"{name}.{kind}"
            export_view(view, path, title)
            assert path.stat().st_size > 0
        img = QImage(str(tmp_path / f"{name}.png"))
        assert not img.isNull() and img.width() > 50
        root = ET.parse(tmp_path / f"{name}.svg").getroot()
        assert root.tag.endswith("svg")
        rows = list(csv.reader(io.StringIO((tmp_path / f"{name}.csv").read_text())))
        assert len(rows) > 1 and len(rows[0]) >= 2
    with pytest.raises(Exception, match="png, .svg or .csv"):
        export_view(window.views["flow"], tmp_path / "x.bmp")


def test_a_dock_hidden_while_seeking_shows_the_current_frame_when_shown(window, qapp):
    s = window.session
    flow = window.views["flow"]                      # tabbed behind the heatmaps: not drawn
    show(window, "heatmaps", qapp)
    assert flow.visibleRegion().isEmpty()
    before = flow.refreshes
    for frame in ("bwd:3:ds", "fwd:2", "bwd:8:bottom_diff_s"):
        s.goto(frame)
        qapp.processEvents()
    assert flow.refreshes == before                  # nothing recomputed while hidden
    show(window, "flow", qapp)                       # brought to the front: catches up
    assert flow.refreshes == before + 1
    np.testing.assert_array_equal(flow.shown("ds")[0], np.arange(8, 12))
    assert flow.cursor_lines[0].value() == 8
    window.view_docks["param_grads"].close()         # closed, then reopened from the menu
    s.goto("bwd:6:wo_diff")
    qapp.processEvents()
    window.view_docks["param_grads"].toggleViewAction().trigger()
    window.view_docks["param_grads"].raise_()
    qapp.processEvents()
    grads = window.views["param_grads"]
    acc = s.data.accumulators(s.cursor)
    np.testing.assert_allclose(grads.page.buffers["wo_diff"], acc["wo_diff"].astype(np.float32))


def test_flow_axes_are_set_once_per_trace_and_hold_every_norm(window, qapp):
    s = window.session
    view = show(window, "flow", qapp)
    ranges = []
    for frame in ("fwd:3", "loss", "bwd:9:ds", "bwd:0"):
        s.goto(frame)
        qapp.processEvents()
        # the y ranges as the axes label them (each layer's frame, layer_frames.py)
        ranges.append((view.norms.viewRange(), view.forget.viewRange(),
                       list(view.norms.getAxis("left").range),
                       list(view.forget.getAxis("left").range)))
        # ∏ f after the forward pass (shown by opacity: a hidden item loses its pixmap)
        assert (view.f_median.opacity() == 1.0) == (frame != "fwd:3")
    assert all(r == ranges[0] for r in ranges)        # no frame re-ranges an axis
    (x0, x1), _ = ranges[0][0]
    y0, y1 = ranges[0][2]
    assert x0 < 0 and x1 > s.trace.steps - 1
    norms = np.concatenate([np.linalg.norm(s.trace[n], axis=1)
                            for n in ("ds", "top_diff_h", "bottom_diff_s")])
    logs = np.log10(norms[norms > 0])                 # log scale: the view is in log10 units
    assert y0 <= logs.min() and logs.max() <= y1
    f0, f1 = ranges[0][3]
    med, q10, q90 = ViewData.of(s.data).flow.forget()
    assert f0 <= np.nanmin(q10[np.isfinite(q10)]) and np.nanmax(q90) <= f1
    view.log.setChecked(False)                        # linear: the range is rebuilt for it
    qapp.processEvents()
    y0, y1 = view.norms.getAxis("left").range
    assert y0 <= 0.0 + 1e-12 and norms.max() <= y1


def test_status_bar_gradient_norm_is_the_norm_of_the_accumulators(window, qapp):
    s = window.session
    s.goto("bwd:5:wi_diff")
    qapp.processEvents()
    acc = s.data.accumulators(s.cursor)
    expect = np.sqrt(sum(float(np.sum(np.asarray(a, np.float64) ** 2)) for a in acc.values()))
    assert f"‖W_diff‖ = {expect:.4g}" in window.status_line.grads.text()


def test_parameter_gradient_caption_is_whole_and_right_at_the_last_step(make_window, qapp):
    w = make_window()                                     # the published example: T = 4
    s = w.session
    view = show(w, "param_grads", qapp)
    for frame, want in (("bwd:3:ds", "nothing accumulated yet"), ("bwd:3", "step 3"),
                        ("bwd:2:wo_diff", "step 3 + step 2's updates run so far (3 of 8)"),
                        ("bwd:0", "the complete gradient: Σ over steps 3 … 0")):
        s.goto(frame)
        qapp.processEvents()
        text = view.info.text()
        assert text.startswith(want), (frame, text)
        assert "T-1" not in text
        assert view.info.fontMetrics().horizontalAdvance(text) <= view.info.width(), text


def test_flow_legend_is_outside_the_data_and_time_ticks_are_whole_steps(make_window, qapp):
    w = make_window(Session(default_config("published")))           # T = 4: half-steps before
    view = show(w, "flow", qapp)
    w.session.goto("bwd:1:ds")
    qapp.processEvents()
    legend = view.legend.sceneBoundingRect()
    for plot in (view.norms, view.forget):
        assert not legend.intersects(plot.vb.sceneBoundingRect())     # covers no curve
        axis = plot.getAxis("bottom")
        (x0, x1), size = plot.vb.viewRange()[0], plot.vb.width()
        ticks = [v for _, values in axis.tickValues(x0, x1, size) for v in values]
        assert ticks and all(float(v).is_integer() for v in ticks), ticks
    assert {item[1].text for item in view.legend.items} == {
        "‖ds(t)‖", "‖top_diff_h(t)‖", "‖bottom_diff_s(t)‖"}


def test_parameter_gradient_pixels_sit_at_their_unit_and_column(window, qapp):
    """Unit j of column c (x first, then h_prev) is drawn and hovered at x = c, y = j."""
    s = window.session
    view = show(window, "param_grads", qapp)
    s.goto("bwd:3")
    qapp.processEvents()
    acc = s.data.accumulators(s.cursor)
    X = s.trace.inputs
    for name, j, c in (("wi_diff", 5, 1), ("wo_diff", 0, X + 4), ("wg_diff", 2, X + 5)):
        h = view.maps[name]
        vb = h.plot.getViewBox()
        view._hover(vb.mapViewToScene(QPointF(c + 0.5, j + 0.5)))
        col = f"x[{c}]" if c < X else f"h_prev[{c - X}]"
        assert view.info.text() == f"{name}[unit {j}, {col}] = {float(acc[name][j, c]):.6g}"
        h.image.render()                               # the pixel drawn there has its colour
        lo, hi = h.image.levels
        k = int(np.clip((acc[name][j, c] - lo) / (hi - lo) * 255 + 0.5, 0, 255))
        got = h.image.qimage.pixelColor(c, j)
        want = h.image.lut[k]
        assert max(abs(got.red() - int(want[0])), abs(got.green() - int(want[1])),
                   abs(got.blue() - int(want[2]))) <= 6


def test_flow_draws_each_curve_only_over_its_computed_steps(window, qapp):
    """Rendered pixels inside the norm plot: just after ds(6) ran, the ds curve (red)
    begins at step 6 and the bottom_diff_s curve (green) at step 7; nothing in the forward
    pass; with and without the log scale."""
    s = window.session
    view = show(window, "flow", qapp)
    view.resize(900, 420)
    red, green = CURVE_PENS["ds"].color(), CURVE_PENS["bottom_diff_s"].color()
    vb = view.norms.getViewBox()

    def to_x(t):
        return view.graphics.mapFromScene(vb.mapViewToScene(QPointF(t, 0))).x()

    def columns(color):
        """The pixel columns of the plot area where ``color`` is drawn."""
        image = view.graphics.grab().toImage()
        box = view.graphics.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        return {x for x in range(box.left(), box.right())
                if any(image.pixelColor(x, y) == color for y in range(box.top(), box.bottom()))}

    for log in (True, False):
        view.log.setChecked(log)
        s.goto("bwd:6:ds")
        qapp.processEvents()
        assert all(c.opts["logMode"] == [False, log] for c in view.curves.values())
        ds, bds = columns(red), columns(green)
        assert ds and to_x(6) - 1 <= min(ds) <= to_x(6) + 3 and max(ds) >= to_x(10)
        assert bds and to_x(7) - 1 <= min(bds) <= to_x(7) + 3
        s.goto("fwd:3")
        qapp.processEvents()
        assert not columns(red) and not columns(green)


def test_flow_log_axis_ticks_sit_at_one_two_and_five_times_a_power_of_ten(window, qapp):
    view = show(window, "flow", qapp)
    axis = view.norms.getAxis("left")
    for lo, hi in ((-2.3, 0.4), (-1.2, -0.9), (-6.0, 1.0)):      # log10 of the norms
        values = [v for _, vs in axis.tickValues(lo, hi, 150) for v in vs]
        mantissas = {int(round(10 ** (v % 1.0))) for v in values}
        assert values and mantissas <= {1, 2, 5}, (lo, hi, mantissas)


def test_time_heatmap_pixels_follow_the_quantity_and_the_levels(window, qapp):
    """The forward heatmap is drawn from a cached picture: what is on screen must still be
    the chosen quantity's colour at (step, unit), after a new quantity and new levels."""
    s = window.session
    view = show(window, "heatmaps", qapp)
    view.resize(900, 500)
    panel = view.forward
    s.goto("fwd:9")                                      # steps 0 … 9 computed
    qapp.processEvents()
    t, j = 7, 4

    def drawn():
        vb = panel.map.plot.getViewBox()
        p = panel.graphics.mapFromScene(vb.mapViewToScene(QPointF(t, j + 0.5)))
        return panel.graphics.grab().toImage().pixelColor(p.x(), p.y())

    def expected(name):
        h = panel.map
        lo, hi = h.levels
        k = int(np.clip((s.trace[name][t, j] - lo) / (hi - lo) * 256, 0, 255))
        return h.image.lut[k]

    levels = {}
    for name, autoscale in (("s", False), ("g", False), ("g", True), ("h", True)):
        panel.choose.setCurrentText(name)
        view.autoscale.setChecked(autoscale)
        qapp.processEvents()
        got, want = drawn(), expected(name)
        assert max(abs(got.red() - int(want[0])), abs(got.green() - int(want[1])),
                   abs(got.blue() - int(want[2]))) <= 8, (name, autoscale)
        levels[name, autoscale] = panel.map.levels
    assert levels["g", False] != levels["g", True]       # the levels really changed


def test_loss_to_cell_waiting_for_compute_shows_no_stale_cursor_or_axes(window, qapp,
                                                                        monkeypatch):
    from lstm_viz.pictures.contributions import Contributions

    s = window.session
    view = show(window, "loss_to_cell", qapp)
    s.goto("bwd:5")
    qapp.processEvents()
    assert view.image is not None and view.map.cursor.isVisible()
    monkeypatch.setattr(Contributions, "cheap", property(lambda self: False))
    s.configure(default_config("random", steps=30, inputs=3, hidden=4))   # not computed
    s.goto("bwd:20")
    qapp.processEvents()
    assert view.image is None and view.button.isEnabled()
    assert not view.map.cursor.isVisible()
    (x0, x1), _ = view.map.plot.getViewBox().viewRange()
    assert x0 == pytest.approx(-0.5) and x1 == pytest.approx(29.5)        # the new pass
    view.compute()
    qapp.processEvents()
    assert view.map.cursor.isVisible() and view.map.cursor.value() == 20


def test_vertical_step_axes_space_their_labels_a_label_apart(qapp):
    from lstm_viz.widgets.plots import ROOM_PX, StepAxis, nice_step

    assert [nice_step(v) for v in (0.3, 1, 1.5, 3, 7, 12, 49, 51)] == [1, 1, 2, 5, 10, 20, 50, 100]
    left, bottom = StepAxis("left"), StepAxis("bottom")
    for size in (40, 90, 300):                               # pixels for units 0 … 100
        levels = left.tickSpacing(0, 100, size)
        assert levels and all(sp * size / 100 >= ROOM_PX for sp, _ in levels), size
        assert all(float(sp).is_integer() for sp, _ in levels)
    assert min(sp for sp, _ in bottom.tickSpacing(0, 100, 40)) < 100 * ROOM_PX / 40


def test_the_carousel_drawing_fits_its_scene_for_either_cell(make_window, qapp):
    """Everything drawn (the long 'o(1−tanh²s)·top_diff_h' name included) lies inside the
    scene the view fits and exports, and no strip's name runs into the t+1 box."""
    for variant in ("seed", "standard"):
        s = Session(default_config("random", steps=5, inputs=3, hidden=4, variant=variant))
        w = make_window(s)
        view = show(w, "carousel", qapp)
        for frame in ("fwd:2:h", "bwd:2:ds", "bwd:4:ds"):
            s.goto(frame)
            qapp.processEvents()
            scene = view.scene
            bounds = scene.itemsBoundingRect()
            assert bounds.right() <= scene.sceneRect().right() + 3, (variant, frame)
            box_left = scene.sceneRect().right() - 34
            for strip in view.strips.values():
                if strip.caption.isVisible():
                    assert strip.caption.sceneBoundingRect().right() < box_left, (
                        variant, frame, strip.caption.text())


def test_flow_curves_drawn_from_pixmaps_are_redrawn_when_their_data_change(window,
                                                                          make_window, qapp):
    """The curves are cached as pixmaps (a frame only moves windows and the cursor over
    them): after the log scale goes off, and after frames moved over them, the view draws
    what a window that never drew the log curves draws."""
    s = window.session
    flow = show(window, "flow", qapp)
    curves = [c.curve for c in flow.curves.values()] + [flow.f_median.curve]
    assert all(c.cacheMode() == c.CacheMode.DeviceCoordinateCache for c in curves)
    for text in ("bwd:8:ds", "bwd:3:ds"):
        s.goto(text)
        qapp.processEvents()
    logged = flow.graphics.grab().toImage()
    flow.log.setChecked(False)
    s.goto("bwd:5:ds")
    qapp.processEvents()
    ref = make_window(Session(default_config("random", steps=12, inputs=4, hidden=6)),
                      settings_name="ref.ini")
    ref_flow = ref.views["flow"]
    ref_flow.log.setChecked(False)
    ref_flow = show(ref, "flow", qapp)
    ref.session.goto("bwd:5:ds")
    qapp.processEvents()
    assert ref_flow.graphics.size() == flow.graphics.size()
    assert flow.graphics.grab().toImage() == ref_flow.graphics.grab().toImage()
    flow.log.setChecked(True)
    s.goto("bwd:3:ds")
    qapp.processEvents()
    assert flow.graphics.grab().toImage() == logged


def test_the_loss_to_cell_mask_drawn_from_a_pixmap_follows_frames_and_resizes(window,
                                                                              make_window, qapp):
    """The t > k mask is cached as a pixmap (a frame only moves the cursor and the grey
    box over it): after frames moved and the view was resized and grown back, it draws
    what a window that never cached it draws, and at the other size too."""
    s = window.session
    view = show(window, "loss_to_cell", qapp)
    assert view.future.cacheMode() == view.future.CacheMode.DeviceCoordinateCache
    ref = make_window(Session(default_config("random", steps=12, inputs=4, hidden=6)),
                      settings_name="ref.ini")
    ref_view = show(ref, "loss_to_cell", qapp)
    ref_view.future.setCacheMode(ref_view.future.CacheMode.NoCache)
    for text in ("bwd:8:ds", "bwd:3:ds", "bwd:5:ds"):
        s.goto(text)
        qapp.processEvents()
    ref.session.goto("bwd:5:ds")
    qapp.processEvents()
    assert ref_view.graphics.size() == view.graphics.size()
    assert view.graphics.grab().toImage() == ref_view.graphics.grab().toImage()
    size = view.graphics.size()
    for v in (view, ref_view):
        v.graphics.resize(size.width() - 90, size.height() + 40)
    qapp.processEvents()
    assert view.graphics.grab().toImage() == ref_view.graphics.grab().toImage()
    view.graphics.resize(size)
    s.goto("bwd:2:ds")
    ref_view.graphics.resize(size)
    ref.session.goto("bwd:2:ds")
    qapp.processEvents()
    assert view.graphics.grab().toImage() == ref_view.graphics.grab().toImage()


def _luminance(color) -> float:
    r, g, b = (c / 255 for c in color.getRgb()[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_every_time_cursor_stands_out_from_what_it_is_drawn_over(make_window, qapp):
    """In the app's look (plots.LOOK, which lstm-viz sets before any plot), each view's
    vertical line (the time cursor, a divider) stands out from what it is drawn over: a
    heatmap's light colours or a curve plot's background."""
    import pyqtgraph as pg

    from lstm_viz.widgets.plots import LOOK

    before = {k: pg.getConfigOption(k) for k in LOOK}
    pg.setConfigOptions(**LOOK)
    try:
        _check_cursors(make_window, qapp)
    finally:
        pg.setConfigOptions(**before)


def _check_cursors(make_window, qapp):
    import pyqtgraph as pg

    from lstm_viz.widgets.view_docks import show_every_view

    w = make_window(Session(default_config("copy")))
    show_every_view(w)
    qapp.processEvents()
    checked = 0
    for view in w.findChildren(pg.GraphicsView):
        background = view.backgroundBrush().color()
        for item in view.scene().items():
            if not (isinstance(item, pg.InfiniteLine) and item.angle == 90):
                continue
            box = item.getViewBox()
            over_image = box is not None and any(isinstance(i, pg.ImageItem)
                                                 for i in box.addedItems)
            line = _luminance(item.pen.color())
            if over_image:
                assert line < 0.2, view
            else:
                assert abs(line - _luminance(background)) > 0.3, view
            checked += 1
    assert checked >= 8


def test_the_flow_legend_shows_its_curves_switched_on_before_the_backward_pass(window, qapp):
    """In the forward pass no gradient is known: the flow view's curves show no point,
    and their legend entries still read as switched on (a hidden window made pyqtgraph
    draw them as switched off)."""
    view = show(window, "flow", qapp)
    s = window.session
    for frame, known in (("fwd:2:s", False), ("bwd:2:ds", True), ("fwd:0", False)):
        s.goto(frame)
        qapp.processEvents()
        samples = [sample for sample, _ in view.legend.items]
        assert len(samples) >= 3
        assert all(sample.item.isVisible() for sample in samples), frame
        assert bool(len(view.shown("ds")[0])) == known, frame
