"""The workbench in the window: live training, breakpoints panel, gradient check,
comparison view, saved sessions (pytest-qt, offscreen)."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from lstm_engine.params import PARAM_NAMES
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings


def small_panel(w, iterations=40):
    p = w.workbench.training_panel
    p.task.setCurrentText("adding")
    p.length.setValue(20)
    p.hidden.setValue(8)
    p.iterations.setValue(iterations)
    return p


def test_training_runs_while_the_window_processes_events_and_views_follow(make_window, qtbot):
    w = make_window()
    s = w.session
    w.workbench.show_training()
    p = small_panel(w, 60)
    traces = []
    s.events.trace_changed.connect(traces.append)
    ticks = []
    w.timer.timeout.connect(lambda: ticks.append(1))        # another timer keeps firing
    w.timer.start(1)
    p.run()
    assert s.training_running and not p.run_button.isEnabled()
    qtbot.waitUntil(lambda: not s.training_running, timeout=20000)
    w.timer.stop()
    assert s.training.iterations_done == 60 and s.iteration == 59
    assert len(traces) >= 2 and traces[-1] is s.trace          # the views saw several passes
    x, y = p.curve.getData()
    assert len(x) == 60 and ticks                               # the event loop ran meanwhile
    assert p.scrub.maximum() == 59 and p.scrub.value() == 59
    assert p.progress.value() == 60 and "60 / 60" in p.rate.text() and "it/s" in p.rate.text()
    # scrub back one iteration: every view shows that pass
    p.scrub.setValue(57)
    assert s.iteration == 57 and s.trace is s.training.trace_at(57)
    p.gradient.diff.setChecked(True)
    img = p.gradient.heat.image.image
    want = (s.trace["wg_diff"] - s.training.trace_at(56)["wg_diff"]).astype(np.float32)
    np.testing.assert_allclose(img, want, rtol=1e-6)


def test_pause_step_resume_in_the_panel_is_the_uninterrupted_run(make_window, qtbot):
    w = make_window()
    s = w.session
    p = small_panel(w, 10)
    p.step()
    p.step()
    assert s.training.iterations_done == 2 and not s.training_running
    p.run()                                            # runs to 10, then pauses
    qtbot.waitUntil(lambda: not s.training_running, timeout=10000)
    assert s.training.iterations_done == 10
    p.step()
    p.iterations.setValue(1000)
    p.run()
    assert s.training_running
    p.pause_button.click()                             # pause stops the timer at once
    done = s.training.iterations_done
    qtbot.wait(30)
    assert not s.training_running and s.training.iterations_done == done
    p.iterations.setValue(25)
    p.run()
    qtbot.waitUntil(lambda: not s.training_running, timeout=20000)
    ref = Session()
    ref.start_training(TrainingSettings(task="adding", length=20, hidden=8,
                                        optimizer=None, init=None))
    ref.train(25)
    assert s.training.iterations_done == 25
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(s.training.trainer.params, name),
                                      getattr(ref.training.trainer.params, name))


def test_breakpoints_panel_and_f5_show_the_reason(make_window, qtbot):
    w = make_window(Session(default_config("random", steps=10, inputs=3, hidden=4,
                                           init="uniform")))
    s = w.session
    w.workbench.show_breakpoints()
    panel = w.workbench.breakpoints_panel
    norms = np.linalg.norm(s.trace.ds, axis=1)
    ranked = np.sort(norms)
    threshold = float(ranked[5] + ranked[6]) / 2                 # 4 steps above, none near it
    panel.kind.setCurrentIndex(panel.kind.findData("norm"))
    panel.quantity.setCurrentText("ds")
    panel.op.setCurrentText(">")
    panel.threshold.setText(repr(threshold))
    panel.add_button.click()
    assert [b.spec() for b in s.breakpoints] == [f"norm ds > {threshold!r}"]
    assert panel.table.item(0, 3).text() == str(int(np.sum(norms > threshold)))
    qtbot.keyClick(w, Qt.Key.Key_F5)
    first = max(np.flatnonzero(norms > threshold))              # backward runs T-1 … 0
    assert s.frame_text == f"bwd:{first}:ds"
    assert "‖ds‖" in w.workbench.stop_label.text() and panel.table.item(0, 2).text() == "1"
    assert w.timeline.bar.session.stop.index == s.cursor
    panel.table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert not s.breakpoints[0].enabled
    s.first()
    qtbot.keyClick(w, Qt.Key.Key_F5)
    assert s.cursor == s.frames.last
    panel.spec.setText("norm zz < 1")
    panel.add_from_text()
    assert "zz" in w.errors.messages[-1] and len(s.breakpoints) == 1


def test_gradient_check_dialog_flags_the_wrong_backward(make_window, qtbot):
    cfg = default_config("random", steps=4, inputs=2, hidden=3, init="uniform")
    w = make_window(Session(cfg))
    w.workbench.wrong_backward()
    s = w.session
    assert s.config.variant == "standard" and s.config.backward == "seed"
    dialog = w.workbench.gradient_check()
    dialog.wait()
    assert dialog.result.verdict == "wrong" and dialog.verdict.text().startswith("WRONG")
    assert s.gradcheck_result() is dialog.result
    assert dialog.image.image is not None and dialog.table.rowCount() >= 8
    s.configure(cfg)
    dialog.start()
    assert dialog.table.rowCount() == 0 and dialog.result is None   # no stale verdicts
    dialog.wait()
    assert dialog.result.verdict == "correct" and dialog.verdict.text().startswith("CORRECT")
    assert dialog.table.rowCount() >= 8
    dialog.close()


def test_compare_view_shows_zero_for_a_run_against_itself(make_window):
    cfg = default_config("random", steps=6, inputs=3, hidden=4, init="uniform")
    w = make_window(Session(cfg))
    view = w.workbench.compare("this run against itself")
    assert not np.any(view.maps[2].image.image) and "identical" in view.summary.text()
    view.choose("seed against standard", "h")
    assert np.any(view.maps[2].image.image)
    w.session.goto("fwd:2")
    assert view.comparison.left.frame_text == "fwd:2"
    assert view.comparison.right.frame_text == "fwd:2"
    assert "max |Δh(t=2)|" in view.at_frame.text()
    view.close()


def test_save_and_reopen_a_session_in_the_window(make_window, tmp_path):
    w = make_window()
    s = w.session
    p = small_panel(w)
    p.step()
    p.step()
    p.step()
    s.add_breakpoint("nan")
    s.goto("bwd:3:ds")
    w.workbench.show_training()
    p.gradient.diff.setChecked(True)
    path = tmp_path / "s.npz"
    assert w.workbench.save_session_to(path)
    text = w.workbench.copy_state()
    other = make_window(settings_name="other.ini")
    assert other.workbench.open_session_from(path)
    o = other.session
    assert o.iteration == s.iteration and o.frame_text == "bwd:3:ds"
    assert o.breakpoints == s.breakpoints and o.history == s.history
    np.testing.assert_array_equal(o.trace.ds, s.trace.ds)
    assert other.workbench.training_panel.gradient.diff.isChecked()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert not other.workbench.open_session_from(bad)
    assert "bad.npz" in other.errors.messages[-1] and o.iteration == s.iteration
    assert other.workbench.open_text(text)
    assert o.frame_text == "bwd:3:ds" and o.iteration == s.iteration
    third = make_window(settings_name="third.ini")       # File > Open takes a session too
    assert third.open_path(path)
    assert third.session.iteration == s.iteration and third.session.frame_text == "bwd:3:ds"
    np.testing.assert_array_equal(third.session.trace.ds, s.trace.ds)


def test_status_bar_shows_the_scrubbed_iteration_and_fits_at_1366_px(make_window, qtbot):
    w = make_window()
    s = w.session
    assert w.width() == 1366
    s.train_step()
    assert w.status_line.iteration.text() == "iteration 1"       # one SGD step taken
    p = small_panel(w, 6)
    p.step()
    for _ in range(5):
        p.step()
    assert s.iteration == 5 and w.status_line.iteration.text() == "iteration 5 · 6 done"
    p.scrub.setValue(2)
    assert s.iteration == 2 and w.status_line.iteration.text() == "iteration 2 · 6 done"
    s.goto(f"bwd:{s.trace.steps - 1}:bottom_diff_h")       # the longest frame label
    qtbot.wait(10)
    st = w.status_line
    labels = [st.frame, st.loss, st.grads, st.iteration]
    for label in (st.frame, st.loss, st.iteration):                # shown whole
        assert label.text() == label.full_text()
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    bar = w.statusBar()                                   # (each field sits in a box)
    edges = [(lb.mapTo(bar, QPoint(0, 0)).x(), lb.mapTo(bar, QPoint(lb.width() - 1, 0)).x())
             for lb in labels]
    for (_, right), (left, _) in zip(edges, edges[1:], strict=False):
        assert right < left, edges                         # no field overlaps the next
    grads = w.status_line.grads
    assert grads.width() >= 400                           # the norms get the free room
    assert grads.fontMetrics().horizontalAdvance(grads.text()) <= grads.width()
    assert grads.text() == grads.full_text() or grads.text().endswith("…")


def test_after_adding_a_breakpoint_escape_gives_the_keys_back(make_window, qtbot):
    from PySide6.QtWidgets import QApplication

    w = make_window()
    s = w.session
    w.workbench.show_breakpoints()
    panel = w.workbench.breakpoints_panel
    panel.spec.setFocus()
    qtbot.waitUntil(panel.spec.hasFocus)
    qtbot.keyClicks(panel.spec, "norm ds > 1e9")                # never holds
    qtbot.keyClick(panel.spec, Qt.Key.Key_Return)
    assert [b.spec() for b in s.breakpoints] == ["norm ds > 1000000000.0"]
    assert panel.spec.hasFocus()                   # Return: the user goes on typing there
    qtbot.keyClicks(panel.spec, "nan ds")          # spaces type spaces, they do not play
    assert panel.spec.text() == "nan ds" and not s.playing and s.cursor == 0
    qtbot.keyClick(panel.spec, Qt.Key.Key_Escape)  # Escape: the window has the keys again
    assert not panel.spec.hasFocus()
    focused = QApplication.focusWidget() or w
    qtbot.keyClick(focused, Qt.Key.Key_End)
    assert s.cursor == s.frames.last
    qtbot.keyClick(focused, Qt.Key.Key_Home)
    assert s.cursor == 0
    qtbot.keyClick(focused, Qt.Key.Key_F5)                      # no breakpoint holds
    assert s.cursor == s.frames.last
    note = w.workbench.stop_label
    assert note.isVisible() and note.text() == "no breakpoint hit — at the end of the pass"
    qtbot.keyClick(focused, Qt.Key.Key_Left)                    # the note was about F5
    assert not note.isVisible()
    # a bad spec: the error box, and once it is closed the keys step again
    panel.spec.setFocus()
    qtbot.waitUntil(panel.spec.hasFocus)
    qtbot.keyClicks(panel.spec, "norm zz < 1")
    qtbot.keyClick(panel.spec, Qt.Key.Key_Return)
    assert "zz" in w.errors.messages[-1]
    w.errors.box.done(0)
    qtbot.waitUntil(lambda: not panel.spec.hasFocus())
    focused = QApplication.focusWidget() or w
    qtbot.keyClick(focused, Qt.Key.Key_Home)
    assert s.cursor == 0


def test_gradient_check_dialog_shows_progress_cancels_and_draws_biases_as_a_row(
        make_window, qtbot):
    w = make_window()                                   # the published example: ~1,200 entries
    dialog = w.workbench.gradient_check()
    qtbot.waitUntil(lambda: dialog.progress_state.done > 0, timeout=20000)
    qtbot.waitUntil(lambda: dialog.progress.format().startswith("checked "), timeout=5000)
    assert dialog.cancel.isVisible() and not dialog.again.isEnabled()
    assert dialog.progress.format().endswith(f"of {dialog.progress_state.total:,} entries")
    qtbot.mouseClick(dialog.cancel, Qt.MouseButton.LeftButton)
    dialog.wait()
    p = dialog.progress_state
    assert p.cancelled and p.done < p.total
    assert dialog.verdict.text().startswith("cancelled after")
    assert not dialog.cancel.isVisible() and dialog.again.isEnabled()
    assert "correct below 1e-6, wrong above 1e-3" in dialog.thresholds.text()
    # a small run, checked to the end: the worst array first, a bias drawn as one row
    w.session.configure(default_config("random", steps=4, inputs=2, hidden=3,
                                       init="uniform").with_(variant="standard",
                                                             backward="seed"))
    dialog.start()
    dialog.wait()
    errors = [a.max_error for a in dialog.arrays]
    assert dialog.table.currentRow() == 0 and errors[0] == max(errors)
    assert dialog.table.item(0, 0).text() == dialog.arrays[0].name
    row = next(r for r, a in enumerate(dialog.arrays) if a.name == "bi")
    dialog.table.setCurrentCell(row, 0)
    assert dialog.image.image.shape == (1, 3)
    ticks = dialog.plot.getAxis("bottom").tickValues(-0.5, 2.5, 300)
    assert all(float(v).is_integer() for _, values in ticks for v in values)
    dialog.close()


def test_training_dock_starts_from_the_loaded_run_and_reset_clears_the_progress(make_window):
    w = make_window()                                   # the published example: T=4, H=100
    s, p = w.session, w.workbench.training_panel
    w.workbench.show_training()
    assert (p.task.currentText(), p.variant.currentText(), p.hidden.value(),
            p.length.value(), p.length.isEnabled()) == ("published", "seed", 100, 4, False)
    assert p.settings() == TrainingSettings.from_config(s.config, p.settings())
    s.configure(s.config.with_(variant="standard", seed=3))    # no training: the dock follows
    assert p.variant.currentText() == "standard" and p.seed.value() == 3
    p.clip.setText("2.5")                               # what a config does not say stays
    s.configure(default_config("adding", steps=20, hidden=8, forget_bias=0.0))
    got = p.settings()
    assert (got.task, got.length, got.hidden, got.variant, got.forget_bias, got.clip) == (
        "adding", 20, 8, "seed", 0.0, 2.5)
    w.workbench.training_dock.hide()                    # edited, closed, opened again:
    p.hidden.setValue(33)
    w.workbench.show_training()
    assert p.hidden.value() == 8                        # the loaded run's again
    p.iterations.setValue(3)
    for _ in range(3):
        p.step()
    assert s.training.settings.forget_bias == 0.0 and s.training.resolved.forget_bias == 0.0
    assert p.progress.value() == 3 and "3 / 3" in p.rate.text() and "– it/s" not in p.rate.text()
    assert p.settings().with_(ring=32) == s.training.settings.with_(ring=32)
    p.reset()
    assert s.training.iterations_done == 0
    assert p.progress.value() == 0 and p.rate.text().startswith("0 / ") \
        and p.rate.text().endswith("– it/s")


def test_slow_openings_show_the_wait_cursor_and_always_restore_it(make_window, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from lstm_engine.errors import UserError
    from lstm_viz.model import session_text

    w = make_window()
    seen = []

    def slow(text):
        cursor = QApplication.overrideCursor()
        seen.append(None if cursor is None else cursor.shape())
        if text == "bad":
            raise UserError("a one-line reason")
        yield 0, 1, "working"
        return Session(default_config("random", steps=3, inputs=2, hidden=2))
    monkeypatch.setattr(session_text, "session_from_text_job", slow)
    assert w.workbench.open_text("good") and not w.workbench.open_text("bad")
    assert seen == [Qt.CursorShape.WaitCursor] * 2
    assert QApplication.overrideCursor() is None and w.errors.messages[-1] == "a one-line reason"


def _drawn(heat, x: int, y: int) -> tuple[int, int, int]:
    """The colour a Heatmap draws at image pixel (x, y): its NaN/Inf overlay where that
    is opaque, else the colour-mapped image."""
    heat.special.render()
    if heat.special.isVisible():
        c = heat.special.qimage.pixelColor(x, y)
        if c.alpha():
            return c.red(), c.green(), c.blue()
    heat.image.render()
    c = heat.image.qimage.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def test_training_heatmap_draws_nan_and_inf_in_their_reserved_colours(make_window, qapp):
    from nonfinite import trace_with

    from lstm_viz.pictures.colors import NAN_RGB, NEGINF_RGB, POSINF_RGB

    tr = trace_with([("wg_diff", (0, 1), np.nan), ("wg_diff", (1, 2), np.inf),
                     ("wg_diff", (2, 0), -np.inf)])
    w = make_window(Session(trace=tr))
    w.workbench.show_training()
    p = w.workbench.training_panel
    p.gradient.grad_name.setCurrentText("wg_diff")
    qapp.processEvents()
    heat = p.gradient.heat                          # row-major: pixel (column, unit)
    assert _drawn(heat, 1, 0) == NAN_RGB
    assert _drawn(heat, 2, 1) == POSINF_RGB
    assert _drawn(heat, 0, 2) == NEGINF_RGB
    assert np.isfinite(heat.image.image).all()     # the finite ones keep their levels
    finite = tr.wg_diff[np.isfinite(tr.wg_diff)]
    assert heat.levels[1] == pytest.approx(np.abs(finite).max(), rel=1e-6)
    assert _drawn(heat, 3, 0) not in (NAN_RGB, POSINF_RGB, NEGINF_RGB)


def test_compare_heatmaps_draw_nan_and_inf_in_their_reserved_colours(make_window):
    from nonfinite import trace_with

    from lstm_viz.model.compare import Comparison
    from lstm_viz.pictures.colors import NAN_RGB, NEGINF_RGB, POSINF_RGB

    clean = trace_with([])
    broken = trace_with([("ds", (1, 0), np.nan), ("ds", (2, 1), np.inf),
                         ("ds", (4, 2), -np.inf)])
    w = make_window(Session(trace=clean))
    view = w.workbench.compare("this run against itself")
    view.comparison = Comparison(Session(trace=clean), Session(trace=broken))
    view.refresh()                                  # col-major: pixel (t, unit)
    left, right, diff = view.maps
    assert not left.special.isVisible()
    assert _drawn(right, 1, 0) == NAN_RGB and _drawn(diff, 1, 0) == NAN_RGB
    assert _drawn(right, 2, 1) == POSINF_RGB and _drawn(diff, 2, 1) == POSINF_RGB
    assert _drawn(right, 4, 2) == NEGINF_RGB and _drawn(diff, 4, 2) == NEGINF_RGB
    assert _drawn(right, 0, 0) == _drawn(left, 0, 0)          # a finite entry, equal sides
    view.close()
