"""What if in the window: the Intervene panel from a right-click on a heatmap unit, a
carousel gate or a timeline step; Apply gives the engine's intervened pass and the
comparison shows original | intervened | difference; the path decomposition view; bad
text stays in the panel and the session keeps what it had."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from lstm_engine.interventions import Interventions
from lstm_engine.paths import path_split
from lstm_engine.recorder import record
from lstm_engine.trace import STEP_NAMES
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session


@pytest.fixture
def window(make_window, qapp):
    w = make_window(Session(default_config("adding", steps=12, hidden=6)))
    qapp.processEvents()
    return w


def lines(menu):
    return {a.toolTip(): a for a in menu.actions()}


def engine_pass(session, **texts):
    tr = session.whatif.original
    return record(tr.params, tr.x, tr.y, "seed", tr.loss_fn,
                  interventions=Interventions.parse(**texts))


def shows_the_comparison(w, qapp):
    qapp.processEvents()
    view = w.workbench.compare_view
    assert view is not None and view.isVisible()
    whatif = w.session.whatif
    a, b = whatif.original.ds, whatif.intervened.ds
    shown = [m.image.image for m in view.maps]
    np.testing.assert_array_equal(shown[0], a.astype(np.float32))
    np.testing.assert_array_equal(shown[1], b.astype(np.float32))
    np.testing.assert_array_equal(shown[2], (b - a).astype(np.float32))
    assert view.titles[0].text() == "left: original"
    return view


def test_right_click_on_a_heatmap_unit(window, qtbot, qapp):
    w, s = window, window.session
    s.goto("bwd:5:ds")
    w.view_docks["heatmaps"].show()
    w.view_docks["heatmaps"].raise_()
    qapp.processEvents()
    panel = w.views["heatmaps"].backward
    vb = panel.map.plot.getViewBox()
    pos = panel.graphics.mapFromScene(vb.mapViewToScene(QPointF(5, 2.5)))
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.RightButton, pos=pos)
    menu = w.intervener.last_menu
    assert menu is not None and "--knockout 2@5:" in lines(menu)
    assert s.frame_text == "bwd:5:ds"                     # a right-click does not move
    lines(menu)["--knockout 2@5:"].trigger()
    got = s.whatif.intervened
    want = engine_pass(s, knockout=["2@5:"])
    for n in STEP_NAMES:
        np.testing.assert_array_equal(got[n], want[n], err_msg=n)
    assert w.intervener.panel.text() == "--knockout 2@5:"
    assert w.intervener.dock.isVisible()
    view = shows_the_comparison(w, qapp)
    s.goto("bwd:3:ds")
    assert view.comparison.right.frame_text == "bwd:3:ds"   # frames follow the cursor
    curve = w.intervener.panel.curves["ds", "intervened"]
    want = np.linalg.norm(got.ds, axis=1)
    np.testing.assert_allclose(curve.yData, np.where(want > 0, want, np.nan), rtol=1e-6)


def test_right_click_on_a_carousel_gate(window, qapp):
    w, s = window, window.session
    carousel = w.views["carousel"]
    pos = carousel.view.mapFromScene(carousel.gates["f"].sceneBoundingRect().center())
    carousel.view.customContextMenuRequested.emit(pos)
    menu = w.intervener.last_menu
    assert "--clamp f=1" in lines(menu) and "--scale f.h=0.5" in lines(menu)
    off = carousel.view.mapFromScene(QPointF(1, 1))
    assert w.intervener.carousel_menu_at(carousel, off) is None      # not on a gate
    lines(menu)["--clamp f=1"].trigger()
    np.testing.assert_array_equal(s.whatif.intervened.f, 1.0)
    np.testing.assert_array_equal(s.whatif.intervened.ds,
                                  engine_pass(s, clamp=["f=1"]).ds)
    shows_the_comparison(w, qapp)


def test_right_click_on_a_timeline_step_and_stepping_the_intervened_pass(window, qapp):
    w, s = window, window.session
    bar = w.timeline.bar
    index = s.frames.index("bwd:4")
    bar.customContextMenuRequested.emit(QPoint(round(bar.x_of(index)), 10))
    menu = w.intervener.last_menu
    assert {"--cut h@4", "--cut s@4", "--edit-input zero@4", "--truncate 4"} <= set(lines(menu))
    lines(menu)["--cut h"].trigger()
    panel = w.intervener.panel
    assert s.whatif.applied == Interventions.parse(cut=["h"])
    panel.stepping.setCurrentText("intervened")
    panel.stepping.activated.emit(1)
    assert s.trace is s.whatif.intervened
    s.goto("bwd:2:ds")
    qapp.processEvents()
    np.testing.assert_array_equal(s.trace.bottom_diff_h, 0.0)
    assert "intervened pass" in panel.summary.text()


def test_bad_text_stays_in_the_panel_and_the_session_is_unchanged(window, qtbot, qapp):
    w, s = window, window.session
    panel = w.intervener.panel
    s.whatif.apply("--cut s")
    before, trace = s.whatif.intervened, s.trace
    panel.editor.setPlainText("--clamp f=7@2")
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert panel.text() == "--clamp f=7@2"
    assert "gate f takes values in [0, 1]" in panel.error.text()
    assert "\n" not in panel.error.text()
    assert panel.error.textFormat() == Qt.TextFormat.PlainText
    assert s.whatif.intervened is before and s.trace is trace
    assert s.whatif.text == "--cut s"


def test_the_path_decomposition_view(window, qapp):
    w, s = window, window.session
    w.view_docks["paths"].show()
    w.view_docks["paths"].raise_()
    s.goto("bwd:7:ds")
    qapp.processEvents()
    view = w.views["paths"]
    st = view.state
    sp = path_split(s.trace)
    carousel, through_h = sp.shares()
    lo, hi = st.known
    assert (lo, hi) == (7, 12)
    np.testing.assert_allclose(st.shares["carousel"], carousel[lo:hi], rtol=1e-6)
    np.testing.assert_allclose(st.shares["through_h"], through_h[lo:hi], rtol=1e-6)
    t, shown = view.shown(view.shares, "carousel")     # the steps known, as computed
    np.testing.assert_array_equal(t, np.arange(lo, hi))
    np.testing.assert_allclose(shown, carousel[lo:hi], rtol=1e-6)
    t, shown = view.shown(view.norms, "ds")
    np.testing.assert_allclose(shown, np.linalg.norm(s.trace.ds[lo:hi], axis=1), rtol=1e-6)
    np.testing.assert_allclose(st.norms["ds"], np.linalg.norm(s.trace.ds[lo:hi], axis=1),
                               rtol=1e-6)
    assert view.info.text().startswith("t = 7: carousel")


def test_the_gradient_flow_view_draws_both_passes(window, qapp):
    w, s = window, window.session
    w.view_docks["flow"].show()
    w.view_docks["flow"].raise_()
    s.goto("bwd:0")
    qapp.processEvents()
    view = w.views["flow"]
    assert view.other.yData is None or len(view.other.yData) == 0
    s.whatif.apply("--clamp f=1")
    qapp.processEvents()
    want = np.linalg.norm(s.whatif.intervened.ds, axis=1)
    np.testing.assert_allclose(view.other.yData, np.where(want > 0, want, np.nan),
                               rtol=1e-6)
    assert view.other_label == "‖ds(t)‖ intervened"
    s.whatif.step("intervened")
    qapp.processEvents()
    want = np.linalg.norm(s.whatif.original.ds, axis=1)
    np.testing.assert_allclose(view.other.yData, want, rtol=1e-6)
    np.testing.assert_allclose(view.curves["ds"].yData,
                               np.linalg.norm(s.whatif.intervened.ds, axis=1), rtol=1e-6)


def test_whatif_on_the_command_line():
    from lstm_engine.errors import UserError
    from lstm_viz.widgets.app import build_session, parse_args

    s = build_session(parse_args(["--task", "adding", "--goto", "bwd:3", "--whatif",
                                  "clamp f=1 cut h"]))
    assert s.whatif.applied == Interventions.parse(clamp=["f=1"], cut=["h"])
    assert s.frame_text == "bwd:3" and s.trace is s.whatif.original
    with pytest.raises(UserError, match="gate f takes values"):
        build_session(parse_args(["--task", "adding", "--whatif", "clamp f=7"]))


def test_the_panels_plots_keep_their_labels_apart_at_1366(window, qtbot, qapp):
    """At 1366×768 the panel's two plots are a few dozen pixels high: their vertical axes'
    labels ("1.0 0.5 0" of the loss, "2 1 0.4 0.2 0.1" of ‖ds‖) piled up."""
    from lstm_viz.widgets.plots import ROOM_PX

    window.resize(1366, 768)
    panel = window.intervener.panel
    window.intervener.choose("--cut h")
    qtbot.wait(50)
    for plot in (panel.flow, panel.loss):
        axis = plot.getAxis("left")
        lo, hi = plot.getViewBox().viewRange()[1]
        size = plot.getViewBox().height()
        assert size > 0
        labelled = sorted({v for _, values in axis.tickValues(lo, hi, size) for v in values
                           if lo <= v <= hi})
        gaps = np.diff(labelled) * size / (hi - lo)
        assert (gaps >= ROOM_PX - 1e-9).all(), (plot is panel.flow, size, labelled)
