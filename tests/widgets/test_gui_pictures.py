"""Pictures that show what changed (issue 15, items 11–15), in the window."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from lstm_viz.model.config import default_config
from lstm_viz.model.frame_data import VARIABLES, computed_at
from lstm_viz.model.session import Session


def _front(w, name, qtbot):
    w.view_docks[name].show()
    w.view_docks[name].raise_()
    qtbot.wait(10)
    return w.views[name]


def test_a_gradient_statement_marks_the_rows_it_changed(make_window, qtbot):
    w = make_window()
    s = w.session
    view = _front(w, "param_grads", qtbot)
    s.goto("bwd:3:wo_diff")                   # the last step: unit 0's row only, 1 px high
    qtbot.wait(10)
    xs, ys = view.marks["wo_diff"].getData()
    assert len(ys) == 1 and 0 <= ys[0] < 10                # one mark, at row 0 (inside)
    assert view.marks["wo_diff"].isVisible()
    assert view.maps["wo_diff"].plot.getViewBox().border.style() != Qt.PenStyle.NoPen
    assert view.change.text().startswith("wo_diff: step 3 changed 1 of 100 rows")
    # the other maps' marks are hidden (those of a map marked before keep their points,
    # hidden: its next update marks the same rows, mostly)
    for other in ("wi_diff", "wf_diff", "wg_diff", "bias"):
        assert not view.marks[other].isVisible(), other
    s.goto("bwd:1:bf_diff")                   # earlier steps: every unit gets a share
    qtbot.wait(10)
    xs, ys = view.marks["bias"].getData()
    assert len(xs) == 100 and np.all((ys > 1) & (ys < 2))  # row 1 of (i f o g): bf
    assert view.marks["bias"].isVisible() and not view.marks["wo_diff"].isVisible()
    s.goto("bwd:1:dxc")                       # no gradient statement: no marks, no frame
    qtbot.wait(10)
    assert not any(m.isVisible() for m in view.marks.values())    # no paint for nothing
    assert all(h.plot.getViewBox().border.style() == Qt.PenStyle.NoPen
               for h in view.maps.values())
    s.goto("bwd:3:wo_diff")                   # marked again: its one row, not the bias's
    qtbot.wait(10)
    xs, ys = view.marks["wo_diff"].getData()
    assert len(ys) == 1 and view.marks["wo_diff"].isVisible()
    assert not view.marks["bias"].isVisible()


def test_the_selected_quantity_is_what_each_statement_computed(make_window, qtbot):
    w = make_window(Session(default_config("random", steps=2, inputs=2, hidden=3,
                                           init="uniform")))
    s = w.session
    panel = w.variables_panel
    assert s.selected == "xc"                               # the first frame: fwd:0:xc
    assert panel.plot.values.size == 5                      # its bars, not an empty plot
    for index in range(len(s.frames)):
        s.seek(index)
        name = computed_at(s.frame)
        assert s.selected == name, s.frame_text
        assert panel.plot.title.text().startswith(("‖" + name, name, "l(t)")), s.frame_text
        assert panel.plot.values.size > 0, s.frame_text     # computed: something to plot
    # a row clicked: the user's choice stays while stepping; the box brings following back
    s.seek(0)
    row = VARIABLES.index("x")
    panel.table.selectRow(row)
    assert s.selected == "x" and not panel.follow.isChecked()
    s.step_into()
    assert s.selected == "x"
    panel.follow.setChecked(True)
    assert s.selected == computed_at(s.frame)


def test_the_published_run_notes_that_its_gate_matrices_start_equal(make_window):
    w = make_window()
    assert "four gate matrices start equal" in w.timeline.note.full_text()
    w.session.configure(default_config("sine"))
    assert w.timeline.note.full_text() == ""


def _click_step(qtbot, panel, t):
    vb = panel.map.plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(t, panel.map.data.shape[1] / 2))
    pos = panel.graphics.mapFromScene(scene)
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_a_click_on_the_forward_heatmap_in_the_backward_pass_goes_forward(make_window, qtbot):
    w = make_window()
    s = w.session
    view = _front(w, "heatmaps", qtbot)
    s.goto("bwd:2:ds")
    qtbot.wait(10)
    _click_step(qtbot, view.forward, 1)
    assert s.frame_text == "fwd:1"                          # forward step 1, not bwd:1:ds
    _click_step(qtbot, view.backward, 3)                    # from the forward pass: backward
    assert s.frame_text == "bwd:3"
    _click_step(qtbot, view.backward, 2)                    # in the same pass: same statement
    assert s.frame_text == "bwd:2"
    s.goto("fwd:0:g")
    qtbot.wait(10)
    _click_step(qtbot, view.forward, 3)
    assert s.frame_text == "fwd:3:g"


def test_the_wrong_backward_shows_the_seed_side_of_ds_as_the_one_that_ran(make_window, qtbot):
    w = make_window()
    w.workbench.wrong_backward()                           # Run ▸ Wrong Backward Example
    s = w.session
    assert (s.config.variant, s.trace.variant) == ("standard", "seed")
    s.goto("bwd:3:ds")
    qtbot.wait(10)
    note = w.source_panel.note_for("ds")
    assert note.startswith("ds (seed side ran): ")
    st = w.source_panel.view.state
    line = next(n for n, name in st.ran.items() if name == "ds")
    b = st.branches[line]
    assert st.lines[line][b.ran[0]:b.ran[1]] == "o"        # underlined: what ran
    carousel = _front(w, "carousel", qtbot)
    assert not carousel.tanh.isVisible()                   # no tanh′ on the seed's path
    assert "the seed's (tanh′ left out)" in carousel.title.text()
    s.goto("fwd:3")
    qtbot.wait(10)
    assert w.source_panel.note_for("h").startswith("h (standard side ran): ")
    assert carousel.tanh.isVisible()                       # the forward is the standard cell


# ---- item 17: export at 2× and 4×, and every format from File ▸ Export ------------------------

def _png_size(path):
    import struct

    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_views_and_the_window_export_at_2x_and_4x(make_window, tmp_path, qtbot):
    from lstm_viz.widgets.export import export_view, write_png

    w = make_window()
    w.session.goto("bwd:2:ds")
    view = _front(w, "heatmaps", qtbot)
    width, height = view.export_widget().width(), view.export_widget().height()
    for scale in (1, 2, 4):
        path = tmp_path / f"heat{scale}.png"
        export_view(view, path, "Heatmaps over time", scale)
        assert _png_size(path) == (width * scale, height * scale)
    write_png(w, tmp_path / "window.png", scale=2)
    assert _png_size(tmp_path / "window.png") == (2 * w.width(), 2 * w.height())
    # 2× is drawn at 2×, not the 1× picture enlarged: it has detail the 1× one lacks
    from PySide6.QtGui import QImage
    one, two = QImage(str(tmp_path / "heat1.png")), QImage(str(tmp_path / "heat2.png"))
    up = one.scaled(two.size())
    assert up != two


def test_file_export_offers_every_view_as_png_svg_and_csv(make_window, tmp_path, qtbot,
                                                         monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w = make_window()
    w.session.goto("bwd:1:wo_diff")
    menu = w.export_menu
    assert menu in [a.menu() for a in w.menus["File"].actions() if a.menu()]
    # (the views of a read-out, an embedding or layers are offered for passes that have them)
    subs = {a.text(): a.menu() for a in menu.actions() if a.menu() and a.isVisible()}
    assert set(subs) == {"Carousel", "Heatmaps over time", "Parameter gradients",
                         "Gradient flow", "Loss → cell gradients", "Path decomposition"}
    window_items = [a.text() for a in menu.actions() if not a.menu() and a.text()]
    assert window_items == ["Window as PNG…", "Window as PNG at 2×…", "Window as PNG at 4×…",
                            "Window as SVG…"]
    answers = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (answers.pop(0), ""))
    for title, sub in subs.items():
        texts = [a.text() for a in sub.actions()]
        assert texts == ["PNG…", "PNG at 2×…", "PNG at 4×…", "SVG…", "CSV…"], title
        stem = title.split()[0].lower()
        for action, suffix in ((sub.actions()[2], "png"), (sub.actions()[3], "svg"),
                               (sub.actions()[4], "csv")):
            path = tmp_path / f"{stem}.{suffix}"
            answers.append(str(path))
            action.trigger()
            assert path.exists(), (title, suffix, w.errors.messages)
        assert b"<svg" in (tmp_path / f"{stem}.svg").read_bytes()[:2000]
        assert (tmp_path / f"{stem}.csv").read_text().splitlines()[0].count(",") >= 1
        widget = w.views[next(n for n, d in w.view_docks.items()
                              if d.windowTitle() == title)].export_widget()
        assert _png_size(tmp_path / f"{stem}.png") == (4 * widget.width(), 4 * widget.height())
    answers.append(str(tmp_path / "window.svg"))
    menu.actions()[3].trigger()
    assert b"<svg" in (tmp_path / "window.svg").read_bytes()[:2000]
    assert w.errors.messages == []


# ---- item 16: any two runs, frame by frame, with a shared colour scale shown ------------------

def _shared_scale(view):
    """Left and right drawn with one scale, shown once, beside the right map."""
    left, right, diff = view.maps
    assert left.image.levels is not None
    assert tuple(left.image.levels) == tuple(right.image.levels)
    assert not left.bar.isVisible() and view.shared_bar.isVisible()
    assert tuple(view.shared_bar.levels()) == pytest.approx(tuple(right.image.levels))
    assert "left and right" in view.shared_bar.getAxis("right").labelText
    return tuple(right.image.levels)


def test_compare_two_files_frame_by_frame(make_window, tmp_path, qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    small = default_config("random", steps=5, inputs=3, hidden=4, init="uniform")
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    Session(small).save(a)
    Session(small.with_(variant="standard")).save(b)
    w = make_window(Session(small))
    view = w.workbench.compare()
    picks = [str(a), str(b)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *x, **k: (picks.pop(0), ""))
    view.left.source.setCurrentText("a trace file")      # asks for the file
    view.right.source.setCurrentText("a trace file")
    view.quantity.setCurrentText("h")
    c = view.comparison
    assert c is not None and c.labels()[0].startswith("a.npz") and \
        c.labels()[1].startswith("b.npz")
    levels = _shared_scale(view)
    m = max(np.abs(c.left.trace.h).max(), np.abs(c.right.trace.h).max())
    assert levels == pytest.approx((-m, m), rel=1e-6)
    np.testing.assert_allclose(view.maps[2].image.image,
                               (c.right.trace.h - c.left.trace.h).astype(np.float32))
    w.session.goto("fwd:3")                                # the debugger drives both sides
    assert c.left.frame_text == c.right.frame_text == "fwd:3"
    assert "max |Δh(t=3)|" in view.at_frame.text()
    view.close()


def test_compare_before_and_after_training_and_two_seeds(make_window, qtbot):
    w = make_window(Session(default_config("sine")))
    s = w.session
    s.train_step()
    s.train_step()
    view = w.workbench.compare("before training against now")
    c = view.comparison
    assert c.labels()[0].endswith("iteration 0") and c.labels()[1].endswith("iteration 2")
    assert c.same_data and c.max_differences(["wi_diff"])["wi_diff"] > 0
    _shared_scale(view)
    view.compare(("this run", None, None), ("another seed", 3, None), "ds")
    c = view.comparison
    assert c.right.config.seed == 3 and not c.same_data
    assert "different inputs" in view.summary.text()
    levels = _shared_scale(view)
    assert f"±{levels[1]:.3g}" in view.summary.text()
    # a side that does not exist says so in one line, and nothing is drawn from it
    view.compare(("before training", None, None), ("this run", None, None))
    assert view.comparison is not None
    s.configure(default_config("sine", seed=4))            # a fresh run: not trained
    view.build()
    assert view.comparison is None and "not been trained" in view.summary.text()
    view.close()
