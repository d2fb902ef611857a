"""The window's layout at the sizes people use (issue 15, layout): opening a dock leaves
every picture a usable height, the room a resized window gains is shared, colour bars
draw one set of tick labels after a dock closed, and the layout is restored docked."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session

USABLE_PLOT = 80            # px: the least a heatmap or curve needs to be read
USABLE_CAROUSEL = 170       # px: the cell diagram's text still readable
USABLE_PANEL = 200          # px: the Training or Breakpoints panel when it opens


def pictures(w):
    """(name, drawing widget, least usable height) of every picture view."""
    v = w.views
    return [("carousel", v["carousel"].view, USABLE_CAROUSEL),
            ("heatmaps forward", v["heatmaps"].forward.graphics, USABLE_PLOT),
            ("heatmaps backward", v["heatmaps"].backward.graphics, USABLE_PLOT),
            ("param_grads", v["param_grads"].graphics, 2 * USABLE_PLOT),
            ("flow", v["flow"].graphics, USABLE_PLOT),
            ("loss_to_cell", v["loss_to_cell"].graphics, USABLE_PLOT)]


def shown(widget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def openers(w):
    wb = w.workbench
    out = [("training", wb.show_training, wb.training_dock),
           ("breakpoints", wb.show_breakpoints, wb.breakpoints_dock)]
    for name, dock in w.view_docks.items():
        out.append((name, lambda d=dock: (d.show(), d.raise_()), dock))
    return out


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_opening_each_dock_leaves_every_picture_a_usable_height(make_window, qtbot, size):
    w = make_window()
    w.resize(*size)
    qtbot.wait(20)
    w.session.goto("bwd:2:ds")
    for name, open_it, dock in openers(w):
        open_it()
        qtbot.wait(20)
        assert shown(dock), name
        if name in ("training", "breakpoints"):
            assert dock.height() >= USABLE_PANEL, (name, dock.height())
        for what, widget, least in pictures(w):
            if shown(widget):
                assert widget.height() >= least, (name, what, widget.height())
        assert shown(w.views["carousel"].view), name    # no dock hides the cell diagram
    # everything opened: nothing of the window went off the screen's size
    assert w.height() <= size[1] and w.width() <= size[0]


def test_a_panel_under_the_pictures_keeps_its_share_when_the_window_grows(make_window, qtbot):
    w = make_window()
    w.resize(1600, 1000)
    qtbot.wait(20)
    wb = w.workbench
    wb.show_breakpoints()
    qtbot.wait(20)
    dock = wb.breakpoints_dock
    assert w.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    carousel = w.views["carousel"].view
    share, before = dock.height() / w.height(), carousel.height()
    w.resize(1600, 1300)
    qtbot.wait(20)
    assert dock.height() / w.height() == pytest.approx(share, abs=0.02)
    assert carousel.height() > before + 50              # the pictures got room too


def _squeeze_and_grow(w, qtbot):
    """What a user does: open the Training and Breakpoints docks (the pictures get
    smaller), enlarge the window, close both, shrink it back."""
    wb = w.workbench
    heat = w.views["heatmaps"].forward.graphics
    heights = [heat.height()]
    wb.show_breakpoints()
    wb.show_training()
    qtbot.wait(20)
    heights.append(heat.height())
    w.resize(1600, 970)
    qtbot.wait(20)
    wb.training_dock.close()
    wb.breakpoints_dock.close()
    qtbot.wait(20)
    w.resize(1366, 740)
    qtbot.wait(20)
    heights.append(heat.height())
    return heights


def test_colour_bars_draw_one_set_of_tick_labels_after_a_dock_closed(make_window, qtbot):
    w = make_window(Session(default_config("sine")))
    w.resize(1366, 740)
    w.session.goto("bwd:2:ds")
    qtbot.wait(20)
    view = w.views["heatmaps"]
    # The pictures are squeezed and grown again. Opening docks alone no longer squeezes
    # them (their minimum height); a panel dragged smaller does, so shrink one by hand.
    view.forward.graphics.setMaximumHeight(95)
    view.backward.graphics.setMaximumHeight(95)
    qtbot.wait(20)
    view.forward.graphics.setMaximumHeight(16777215)
    view.backward.graphics.setMaximumHeight(16777215)
    heights = _squeeze_and_grow(w, qtbot)
    assert heights[-1] > 100
    for panel in (view.forward, view.backward):
        axis = panel.map.bar.getAxis("right")
        drawn = panel.graphics.grab().toImage()          # the axis from its pixmap cache
        axis.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        fresh = panel.graphics.grab().toImage()          # drawn anew from its ticks
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        assert drawn == fresh, panel.name


def test_a_floated_panel_comes_back_docked_at_the_next_start(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from lstm_viz.widgets.main_window import MainWindow

    w = make_window()
    flow = w.view_docks["flow"]
    flow.show()
    flow.setFloating(True)
    qtbot.wait(10)
    assert flow.isFloating()
    w.close()                                         # the layout is saved
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = MainWindow(Session(), settings=settings)
    qtbot.addWidget(again)
    assert not again.view_docks["flow"].isFloating()
    assert again.dockWidgetArea(again.view_docks["flow"]) != Qt.DockWidgetArea.NoDockWidgetArea


def test_a_saved_session_opened_from_the_command_line_brings_its_layout(make_window, tmp_path):
    from lstm_viz.widgets.app import _open_session_in, parse_args

    w = make_window()
    w.workbench.show_breakpoints()
    w.view_docks["carousel"].close()
    w.view_docks["flow"].setFloating(True)
    assert w.workbench.save_session_to(tmp_path / "s.npz")
    again = make_window(settings_name="other.ini")
    assert again.view_docks["carousel"].isVisible()
    _open_session_in(again, parse_args([str(tmp_path / "s.npz")]))   # lstm-viz s.npz
    assert again.workbench.breakpoints_dock.isVisible()
    assert not again.view_docks["carousel"].isVisible()
    assert again.view_docks["flow"].isFloating()         # a saved session reopens exactly


def _token_model():
    """Two layers, an embedding and a cross-entropy read-out: every pass view applies."""
    import numpy as np

    from lstm_engine import init_uniform
    from lstm_engine.losses import ReadoutCrossEntropy
    from lstm_engine.model import Model, record_model

    rng = np.random.default_rng(2)
    cells = [init_uniform(3, 4, rng, -0.5, 0.5), init_uniform(4, 4, rng, -0.5, 0.5)]
    readout = ReadoutCrossEntropy(rng.normal(0, 0.5, (5, 4)), np.zeros(5))
    model = Model(cells, "standard", readout, rng.normal(0, 0.5, (5, 3)))
    return record_model(model, rng.integers(0, 5, 8), rng.integers(0, 5, 8))


def _press(w, qtbot, keys):
    from PySide6.QtGui import QKeySequence

    combo = QKeySequence(keys)[0]
    qtbot.keyClick(w, combo.key(), combo.keyboardModifiers())
    qtbot.wait(10)


def _cycle_panel_keys(w, qtbot, names):
    """Each panel's key brings it forward, closes it in front, brings it back."""
    from lstm_viz.model.shortcuts import PANEL_KEYS
    from lstm_viz.widgets.view_docks import in_front

    docks = {"source": w.source_dock, "variables": w.variables_dock,
             "training": w.workbench.training_dock,
             "breakpoints": w.workbench.breakpoints_dock, **w.view_docks}
    for name, keys in PANEL_KEYS:
        if name not in names:
            continue
        dock = docks[name]
        assert dock.toggleViewAction().shortcut().toString() == keys     # shown in View
        if not in_front(dock):
            _press(w, qtbot, keys)
        assert in_front(dock), name                    # a tab behind another comes forward
        _press(w, qtbot, keys)
        assert dock.isHidden(), name                   # in front: the key closes it
        _press(w, qtbot, keys)
        assert in_front(dock), name


def test_every_panel_has_a_key_that_brings_it_forward_or_closes_it(make_window, qtbot):
    """Alt+1 … Alt+0 on the published example; the views only some passes have
    (Ctrl+Alt+1 … 4, once without a key in the View menu) on a stacked model with a
    cross-entropy read-out and tokens, and their keys do nothing on a pass without them."""
    from lstm_viz.model.shortcuts import BINDINGS, PANEL_KEYS, help_html
    from lstm_viz.widgets.view_docks import PASS_VIEWS

    taken = {b.keys for b in BINDINGS if b.keys}
    assert not taken & {k for _, k in PANEL_KEYS}        # no key does two things
    w = make_window()
    pass_views = {name for name, _, _ in PASS_VIEWS}
    assert {name for name, _ in PANEL_KEYS} >= set(w.view_docks)   # every view has a key
    _cycle_panel_keys(w, qtbot, {name for name, _ in PANEL_KEYS} - pass_views)
    for name, keys in PANEL_KEYS:
        if name in pass_views:
            _press(w, qtbot, keys)
            assert w.view_docks[name].isHidden(), name          # the published pass has none
    stacked = make_window(Session(None, trace=_token_model()), settings_name="s2.ini")
    _cycle_panel_keys(stacked, qtbot, pass_views)
    assert "Alt+1 … Alt+9" in help_html() and "Ctrl+Alt+1 … Ctrl+Alt+4" in help_html()


# ---- item 4: nothing drawn over anything else -----------------------------------------------

def _spacing_px(axis, lo, hi, size):
    """The pixel distance between neighbouring labelled ticks of ``axis`` over ``size`` px."""
    gaps = []
    for _, values in axis.tickValues(lo, hi, size):
        values = sorted(values)
        gaps += [(b - a) * size / (hi - lo) for a, b in zip(values, values[1:], strict=False)]
    return min(gaps) if gaps else float("inf")


def test_short_colour_bars_and_bar_plots_keep_their_labels_apart(make_window):
    from lstm_viz.widgets.plots import ROOM_PX

    w = make_window()
    bars = [w.views["param_grads"].maps[n].bar.axis for n in w.views["param_grads"].maps]
    bars.append(w.views["heatmaps"].forward.map.bar.axis)
    for axis in bars:
        for size in (30, 60, 120):
            assert _spacing_px(axis, -1.0, 1.0, size) >= ROOM_PX, size
    left = w.variables_panel.plot.plot.getPlotItem().getAxis("left")
    assert _spacing_px(left, -0.2, 0.4, 40) >= ROOM_PX


def test_the_bias_rows_have_room_for_their_labels(make_window, qtbot):
    from lstm_viz.widgets.plots import ROOM_PX

    w = make_window()
    w.view_docks["param_grads"].raise_()
    w.session.goto("bwd:3")
    qtbot.wait(20)
    box = w.views["param_grads"].maps["bias"].plot.getViewBox()
    assert box.height() / 4 >= ROOM_PX - 1                  # bi bf bo bg one above the other


def test_the_carousel_caption_crosses_no_line(make_window):
    from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsSimpleTextItem

    w = make_window()
    scene = w.views["carousel"].scene
    caption = next(i for i in scene.items() if isinstance(i, QGraphicsSimpleTextItem)
                   and "constant error carousel" in i.text())
    box = caption.sceneBoundingRect()
    for item in scene.items():
        if isinstance(item, QGraphicsPathItem) and item.isVisible():
            assert not item.shape().intersects(item.mapFromScene(box).boundingRect()), \
                item.path().boundingRect()


def test_every_task_description_fits_in_configure(qtbot):
    from lstm_viz.model.config import task_names
    from lstm_viz.widgets.config_dialog import ConfigDialog

    d = ConfigDialog(default_config("published"))
    qtbot.addWidget(d)
    d.show()
    qtbot.wait(10)
    for name in task_names():
        d.task.setCurrentText(name)
        qtbot.wait(10)
        about = d.about
        assert about.height() >= about.heightForWidth(about.width()), name


def test_empty_plots_show_no_stale_axes_and_no_si_factor(make_window, qtbot):
    import pyqtgraph as pg

    from lstm_viz.model.config import RunConfig

    w = make_window()
    s = w.session
    w.variables_panel.follow.setChecked(False)          # the user's choice, kept
    s.select("ds")                                      # not computed in the forward pass
    s.configure(default_config("sine"))                 # H = 16
    qtbot.wait(20)
    plot = w.variables_panel.plot.plot.getPlotItem()
    (x0, x1), _ = plot.getViewBox().viewRange()
    assert (x0, x1) == pytest.approx((-0.5, 15.5), abs=0.6)      # this run's 16 units
    view = w.views["loss_to_cell"]
    w.view_docks["loss_to_cell"].raise_()
    s.configure(RunConfig(task="random", steps=300, inputs=4, hidden=64, init="uniform"))
    qtbot.wait(20)
    assert not view.image                               # big enough to wait for Compute
    assert not view.map.plot.getAxis("left").isVisible()
    assert view.waiting.isVisible()
    panel = w.workbench.training_panel
    assert not panel.plot.getPlotItem().getAxis("left").isVisible()   # no iterations yet
    s.configure(default_config("published"))           # L < 1 everywhere
    w.workbench.show_training()
    panel.log.setChecked(False)                         # a linear axis from 0.3 to 0.8
    panel.step()
    panel.step()
    qtbot.wait(20)
    assert panel.plot.getPlotItem().getAxis("left").isVisible()
    for gv in w.findChildren(pg.GraphicsView):
        for item in gv.scene().items():
            if isinstance(item, pg.AxisItem):
                assert "(x" not in item.labelString(), item.labelString()


def test_the_loss_curve_labels_only_1_2_5_of_each_decade(make_window):
    w = make_window()
    panel = w.workbench.training_panel
    axis = panel.plot.getPlotItem().getAxis("left")
    labelled = [v for _, values in axis.tickValues(0.3, 1.0, 300) for v in values]
    mantissas = {round(10 ** (v % 1)) for v in labelled}
    assert mantissas <= {1, 2, 5, 10} and mantissas



def test_a_short_log_axis_keeps_its_labels_apart(qapp):
    """The Intervene panel's ‖ds(t)‖ plot is ~35 px high at 1366×768: its log axis piled
    "2 1 0.4 0.2 0.1" on top of each other. Labelled ticks keep ROOM_PX apart, at any height."""
    import numpy as np
    import pyqtgraph as pg

    from lstm_viz.widgets.plots import ROOM_PX, LogAxis

    axis = LogAxis("left")
    pg.PlotItem(axisItems={"left": axis}).setLogMode(y=True)
    for lo, hi, size in ((-1.2, 0.35, 35), (-4, 1, 40), (-1, 0.3, 300), (-12, 2, 120)):
        labelled = sorted({v for _, values in axis.tickValues(lo, hi, size) for v in values
                           if lo <= v <= hi})
        assert len(labelled) >= 1, (lo, hi, size)
        gaps = np.diff(labelled) * size / (hi - lo)
        assert (gaps >= ROOM_PX - 1e-9).all(), (lo, hi, size, labelled)
