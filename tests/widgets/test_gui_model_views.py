"""The read-out, embedding, depth and token views in the window (issue 13): shown only for a
pass that has what they draw, and showing the engine's numbers."""

import numpy as np
import pytest
from docks import show_view as _show

from lstm_engine import init_uniform
from lstm_engine.losses import ReadoutCrossEntropy, ReadoutMSE
from lstm_engine.model import Model, record_model
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.pictures.tokens import task_vocabulary
from lstm_viz.widgets.depth_flow_view import DepthFlowView
from lstm_viz.widgets.view_docks import PASS_VIEWS

T, X, V, K = 12, 3, 6, 6
VOCAB = ("a", "b", " ", "\n", "é", "zz")
TOKENS = np.array([0, 1, 2, 1, 3, 0, 4, 1, 0, 2, 1, 4])          # 5 never occurs


def _stacked(loss: str):
    rng = np.random.default_rng(5)
    cells = [init_uniform(X, 5, rng, -0.7, 0.7), init_uniform(5, 4, rng, -0.7, 0.7)]
    if loss == "xent":
        fn = ReadoutCrossEntropy(rng.normal(0, 0.7, (K, 4)), rng.normal(0, 0.3, K))
        mt = record_model(Model(cells, "standard", fn, rng.normal(0, 0.8, (V, X))), TOKENS,
                          rng.integers(0, K, T))
        mt.vocab = VOCAB        # as Open Model keeps a --vocab file or the parameters file's
        return mt
    fn = ReadoutMSE(rng.normal(0, 0.7, (2, 4)), np.zeros(2))
    return record_model(Model(cells, "seed", fn), rng.standard_normal((T, X)),
                        rng.standard_normal((T, 2)))


@pytest.fixture
def xent_window(make_window, qapp):
    mt = _stacked("xent")
    w = make_window(Session(None, trace=mt))
    qapp.processEvents()
    return w, mt


def test_pass_views_are_offered_only_for_a_pass_that_has_them(make_window, xent_window, qapp):
    w, _ = xent_window
    for name, _, _ in PASS_VIEWS:
        assert not w.view_docks[name].isHidden(), name
        assert w.view_docks[name].toggleViewAction().isEnabled()
    w.session.configure(default_config("random", steps=5, inputs=3, hidden=4))
    qapp.processEvents()
    for name, _, _ in PASS_VIEWS:                  # the toy loss, one layer, dense inputs
        assert w.view_docks[name].isHidden(), name
        assert not w.view_docks[name].toggleViewAction().isEnabled()
    published = make_window()
    assert all(published.view_docks[n].isHidden() for n, _, _ in PASS_VIEWS)
    w.session.configure(default_config("text", steps=8))     # a read-out, one layer
    qapp.processEvents()
    shown = {n for n, _, _ in PASS_VIEWS if not w.view_docks[n].isHidden()}
    assert shown == {"predictions", "readout_grads"}


def test_readout_gradient_view_fills_in_with_the_engines_numbers(xent_window, qapp):
    w, mt = xent_window
    view = _show(w, "readout_grads", qapp)
    w.session.goto("loss")
    qapp.processEvents()
    assert view.map.pending_span() is not None and "not computed" in view.info.text()
    w.session.goto("bwd:5:L1:ds")
    qapp.processEvents()
    e, h = mt.outputs["dl_dlogits"], mt.top.h
    want = e[5:].T @ h[5:]                         # the steps T-1 … 5 processed
    np.testing.assert_allclose(view.state.wy, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(view.map.image.image, want.astype(np.float32))
    assert view.map.pending_span() is None and "11 … 5" in view.info.text()
    w.session.last()
    qapp.processEvents()
    np.testing.assert_allclose(view.map.image.image, mt.wy_diff.astype(np.float32))
    np.testing.assert_allclose(view.bias.image.image[:, 0], mt.by_diff.astype(np.float32))
    assert view.rows.texts == ["a", "b", "␣", "⏎", "é", "zz"]       # classes = the vocabulary
    assert "complete" in view.info.text()


def test_embedding_view_rows_are_the_tokens_that_occur(xent_window, qapp):
    w, mt = xent_window
    view = _show(w, "embedding_grads", qapp)
    assert view.rows.texts == ["a", "b", "␣", "⏎", "é"]
    w.session.goto("bwd:3:L1")                     # layer 1 done at step 3, layer 0 not
    qapp.processEvents()
    dx = mt.layers[0].dxc[:, :X]
    want = np.zeros((V, X))
    for t in range(4, T):
        want[TOKENS[t]] += dx[t]
    np.testing.assert_allclose(view.state.rows, want[:5], rtol=1e-12, atol=1e-14)
    w.session.last()
    qapp.processEvents()
    np.testing.assert_allclose(view.map.image.image, mt.dE[:5].astype(np.float32))


def test_depth_view_greys_what_the_backward_pass_has_not_reached(xent_window, qapp):
    w, mt = xent_window
    view = _show(w, "depth_flow", qapp)
    w.session.goto("bwd:7:L1:ds")
    qapp.processEvents()
    want = np.log10(np.stack([np.linalg.norm(tr.ds, axis=1) for tr in mt.layers]))
    np.testing.assert_allclose(view.map.data, want.astype(np.float32), rtol=1e-6)
    grey = view.grey.image[..., 3] > 0
    assert grey[1, :7].all() and not grey[1, 7:].any()     # layer 1: steps 7 … 11 known
    assert grey[0, :8].all() and not grey[0, 8:].any()     # layer 0: 8 … 11
    # ... and drawn cell for cell over the picture, also by a view whose first refresh is
    # at this frame (as when the tab is first opened there): its grey layer, placed before
    # it had an image, came out T×L times too large and hid every known cell.
    fresh = DepthFlowView(w.session)
    fresh.refresh()
    for v in (view, fresh):
        placed = v.grey.mapRectToParent(v.grey.boundingRect())
        assert placed == v.map.image.mapRectToParent(v.map.image.boundingRect())
        assert (placed.x(), placed.y(), placed.width(), placed.height()) == (-0.5, 0, T, 2)
    assert view.layer_axis.texts == ["L0", "L1"]
    ticks = view.time_axis.tickValues(-0.5, T - 0.5, 2000)[0][1]
    labels = view.time_axis.tickStrings(ticks, 1, 1)
    assert labels == ["a", "b", "␣", "b", "⏎", "a", "é", "b", "a", "␣", "b", "é"]


def test_predictions_of_cross_entropy_appear_at_the_loss_frame(xent_window, qapp):
    w, mt = xent_window
    view = _show(w, "predictions", qapp)
    w.session.goto("fwd:4:L0:g")
    qapp.processEvents()
    assert not view.prediction.isVisible() and view.target_class.isVisible()
    w.session.goto("loss")
    qapp.processEvents()
    assert view.prediction.isVisible()
    p = mt.outputs["probs"]
    _, ys = view.prediction.getData()
    np.testing.assert_allclose(ys, p[np.arange(T), mt.y])
    _, classes = view.predicted.getData()
    np.testing.assert_array_equal(classes - 0.5, p.argmax(axis=1))
    _, loss = view.loss_curve.getData()
    np.testing.assert_allclose(loss, mt.loss)
    assert f"l = {mt.loss[T - 1]:.4g}" in view.info.text()


def test_predictions_of_a_regression_and_no_embedding_view(make_window, qapp):
    mt = _stacked("mse")
    w = make_window(Session(None, trace=mt))
    view = _show(w, "predictions", qapp)
    w.session.goto("bwd:0")
    qapp.processEvents()
    xs, ys = view.prediction.getData()
    np.testing.assert_allclose(ys, mt.outputs["y_hat"][:, 0])
    _, targets = view.target.getData()
    np.testing.assert_allclose(targets, mt.y[:, 0])
    view.output.setCurrentIndex(1)
    qapp.processEvents()
    np.testing.assert_allclose(view.prediction.getData()[1], mt.outputs["y_hat"][:, 1])
    assert w.view_docks["embedding_grads"].isHidden()
    assert not w.view_docks["embedding_grads"].toggleViewAction().isEnabled()


def test_the_text_task_labels_steps_by_characters_everywhere(make_window, qapp):
    w = make_window(Session(default_config("text", steps=10)))
    s = w.session
    vocab = task_vocabulary("text")
    ids = np.argmax(s.trace.x, axis=1)
    s.goto("bwd:3:ds")
    qapp.processEvents()
    char = vocab[ids[3]].replace(" ", "␣").replace("\n", "⏎")
    assert f"token '{char}'" in w.timeline.text()
    assert f"token '{char}'" in w.timeline.bar.tip(s.cursor)
    heat = _show(w, "heatmaps", qapp)
    axis = heat.backward.time_axis
    ticks = axis.tickValues(-0.5, 9.5, 3000)[0][1]
    assert axis.tickStrings(ticks, 1, 1)[3] == char


def test_a_saved_layout_does_not_show_the_pass_views_of_another_pass(make_window, qapp):
    w = make_window(Session(default_config("text", steps=6)), settings_name="pass.ini")
    assert not w.view_docks["predictions"].isHidden()
    w.save_settings()                              # the layout had Predictions open
    w.close()
    w2 = make_window(settings_name="pass.ini")      # the published example: no read-out
    qapp.processEvents()
    assert w2.view_docks["predictions"].isHidden()
    w2.session.configure(default_config("text", steps=6))
    qapp.processEvents()
    assert not w2.view_docks["predictions"].isHidden()
