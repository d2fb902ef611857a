"""The read-out, embedding, depth and token pictures (Qt-free) against a plain float64
reference written from the equations (tests/reference.py) and against the engine's own
arrays at the last frame."""

from types import SimpleNamespace

import numpy as np
import pytest
from reference import reference_model_pass

from lstm_engine import init_uniform
from lstm_engine.cell import BACKWARD_STATEMENTS
from lstm_engine.losses import ReadoutCrossEntropy, ReadoutMSE, ToyLoss
from lstm_engine.model import Model, record_model
from lstm_viz.model.config import default_config
from lstm_viz.model.frames import Frame
from lstm_viz.model.runs import record_config
from lstm_viz.pictures.depth_flow import DepthFlow
from lstm_viz.pictures.embedding_grads import EmbeddingGrads
from lstm_viz.pictures.model_pass import backward_at, model_pass
from lstm_viz.pictures.predictions import Predictions
from lstm_viz.pictures.readout_grads import ReadoutGrads
from lstm_viz.pictures.suffix_sums import SuffixSums
from lstm_viz.pictures.tokens import Tokens, pass_tokens, task_vocabulary, token_text

T, X, V, K = 9, 3, 7, 4
HIDDENS = (5, 4)


def _model(loss: str, embedding: bool, at: str = "every", seed: int = 3):
    rng = np.random.default_rng(seed)
    widths = [X, *HIDDENS]
    cells = [init_uniform(widths[n], widths[n + 1], rng, -0.7, 0.7) for n in range(2)]
    H = HIDDENS[-1]
    wy, by = rng.normal(0, 0.7, (K, H)), rng.normal(0, 0.3, K)
    spec = {"name": loss, "at": at, "wy": wy, "by": by}
    if loss == "xent":
        fn, y = ReadoutCrossEntropy(wy, by, at), rng.integers(0, K, T)
    elif loss == "mse":
        fn, y = ReadoutMSE(wy, by, at), rng.standard_normal((T, K))
    else:
        fn, y, spec = ToyLoss(), rng.standard_normal(T), {"name": "toy"}
    E = rng.normal(0, 0.8, (V, X)) if embedding else None
    # tokens with repeats, and token 5 never occurs (its row of dE stays zero)
    inputs = np.array([0, 3, 1, 3, 6, 0, 2, 3, 1]) if embedding else rng.standard_normal((T, X))
    model = Model(cells, "seed", fn, E)
    ref_layers, ref = reference_model_pass([p.as_dict() for p in model.layers], inputs, y,
                                           "seed", spec, E)
    return record_model(model, inputs, y), ref_layers, ref, inputs, y


@pytest.fixture(scope="module")
def xent():
    return _model("xent", embedding=True)


@pytest.fixture(scope="module")
def mse():
    return _model("mse", embedding=False)


def _frames(num_layers: int):
    """Every backward frame of a pass with ``num_layers`` layers, in the order they run,
    as (frame, step, layer, statement index) — frames with a layer, as stacked passes
    have them."""
    for t in range(T - 1, -1, -1):
        for layer in range(num_layers - 1, -1, -1):
            for k, stmt in enumerate(BACKWARD_STATEMENTS):
                yield SimpleNamespace(phase="bwd", t=t, stmt=stmt, layer=layer), t, layer, k


# ---- where a frame stands -------------------------------------------------------------------

def test_backward_position_of_one_layer_frames_and_the_order_of_nodes():
    assert backward_at(Frame("fwd", 2, "g")) is None and backward_at(Frame("loss")) is None
    at = backward_at(Frame("bwd", 4, "ds"))
    assert (at.t, at.layer, at.done) == (4, 0, 0)
    whole = backward_at(Frame("bwd", 4))               # the step's end: all of it ran
    assert whole.ran(4, 0, BACKWARD_STATEMENTS[-1]) and whole.first_step(0, "dxc") == 4
    assert not at.ran(4, 0, "dxc") and at.first_step(0, "dxc") == 5
    # two layers: step t runs layer 1 then layer 0; later steps ran, earlier ones did not
    mid = backward_at(SimpleNamespace(phase="bwd", t=4, stmt="dxc", layer=1))
    assert mid.ran(4, 1, "ds") and not mid.ran(4, 0, "ds") and mid.ran(5, 0, "dxc")
    assert not mid.ran(3, 1, "ds")
    assert mid.first_step(1, "ds") == 4 and mid.first_step(0, "ds") == 5


# ---- the read-out -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["xent", "mse"])
def test_readout_gradient_as_of_each_backward_frame_is_the_suffix_sum(case, request):
    mt, ref_layers, ref, _, _ = request.getfixturevalue(case)
    rg = ReadoutGrads(mt)
    assert rg.available
    h_top = ref_layers[-1]["h"]
    assert not rg.state(Frame("loss")).computed and not rg.state(Frame("fwd", 0)).computed
    for frame, t, _, _ in _frames(2):
        st = rg.state(frame)
        # written from the equations: Σ_{t' ≥ t} outer(dl/dz(t'), h_top(t')), Σ dl/dz(t')
        want_w = sum(np.outer(ref["dz"][u], h_top[u]) for u in range(t, T))
        want_b = ref["dz"][t:].sum(axis=0)
        np.testing.assert_allclose(st.wy, want_w, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(st.by, want_b, rtol=1e-10, atol=1e-13)
        assert st.first == t
    last = rg.state(Frame("bwd", 0))
    np.testing.assert_allclose(last.wy, mt.wy_diff, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(last.by, mt.by_diff, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mt.wy_diff, ref["wy_diff"], rtol=1e-10, atol=1e-13)
    lo, hi = last.levels
    assert hi >= np.abs(last.wy).max() and lo == -hi
    suffixes = [np.abs(ref["dz"][u:].sum(axis=0)).max() for u in range(T)]
    assert last.by_levels[1] == pytest.approx(max(suffixes))


def test_suffix_sums_answer_any_order_with_checkpoints():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((50, 4))
    s = SuffixSums(50, (3, 4), np.float64, lambda lo, hi: a[lo:hi].T @ b[lo:hi],
                   budget_bytes=5 * 3 * 4 * 8)          # 5 checkpoints: stride 10
    assert s.stride == 10
    for first in [50, 0, 49, 48, 13, 37, 36, 10, 3]:
        np.testing.assert_allclose(s.at(first), a[first:].T @ b[first:], atol=1e-12)
    assert not s.at(7).flags.writeable
    # the span over the checkpoints: S(0), S(10), …, S(40) and the zero S(50)
    expected = max(np.abs(a[f:].T @ b[f:]).max() for f in range(0, 50, 10))
    np.testing.assert_allclose(s.max_abs(), expected, rtol=1e-12)


def test_predictions_of_cross_entropy_against_the_reference(xent):
    mt, _, ref, _, y = xent
    p = Predictions(mt)
    z = ref["z"]
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p.p_target, probs[np.arange(T), y], rtol=1e-12)
    np.testing.assert_array_equal(p.predicted, probs.argmax(axis=1))
    np.testing.assert_array_equal(p.target, y)
    np.testing.assert_allclose(p.loss, -np.log(probs[np.arange(T), y]), rtol=1e-10)
    assert not p.state(Frame("fwd", T - 1), T - 1).known and p.state(Frame("loss"), T - 1).known
    header, rows = p.table(known=False)
    assert rows[0][2] is None and rows[0][1] == int(y[0])       # targets are data, known


def test_predictions_of_a_regression_and_a_last_step_loss(mse):
    mt, _, ref, _, y = mse
    p = Predictions(mt)
    np.testing.assert_allclose(p.y_hat, ref["z"], rtol=1e-12)
    np.testing.assert_array_equal(p.target, y)
    last, _, ref_last, _, y_last = _model("mse", embedding=False, at="last")
    q = Predictions(last)
    assert q.scored.tolist() == [False] * (T - 1) + [True]
    assert np.isnan(q.target[:-1]).all() and np.allclose(q.target[-1], y_last[-1])
    np.testing.assert_allclose(q.loss[-1], ref_last["loss"][-1], rtol=1e-12)
    assert "not scored" in q.describe(0)


# ---- the embedding --------------------------------------------------------------------------

def test_embedding_gradient_fills_in_as_layer_0_writes_dx(xent):
    mt, ref_layers, ref, tokens, _ = xent
    eg = EmbeddingGrads(mt)
    assert eg.available and eg.occurring.tolist() == [0, 1, 2, 3, 6]     # 4, 5 never occur
    dx = ref_layers[0]["dxc"][:, :X]
    assert not eg.state(Frame("loss")).computed
    for frame, t, layer, k in _frames(2):
        st = eg.state(frame)
        # step t's dx is written by layer 0's dxc statement
        first = t if (layer == 0 and k >= BACKWARD_STATEMENTS.index("dxc")) else t + 1
        want = np.zeros((V, X))
        for u in range(first, T):
            want[tokens[u]] += dx[u]
        np.testing.assert_allclose(st.rows, want[eg.occurring], rtol=1e-10, atol=1e-13)
    final = eg.state(Frame("bwd", 0)).rows
    np.testing.assert_allclose(final, mt.dE[eg.occurring], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mt.dE, ref["dE"], rtol=1e-10, atol=1e-13)
    assert not mt.dE[[4, 5]].any()


def test_dense_passes_have_no_embedding_picture(mse):
    assert not EmbeddingGrads(mse[0]).available


# ---- depth x time ------------------------------------------------------------------------------

def test_depth_flow_is_log10_of_every_layers_ds_norm_known_as_the_pass_reaches_it(xent):
    mt, ref_layers, _, _, _ = xent
    df = DepthFlow(mt)
    want = np.log10(np.array([np.linalg.norm(ref_layers[n]["ds"], axis=1) for n in range(2)]))
    np.testing.assert_allclose(df.log, want, rtol=1e-10)
    assert df.levels == (pytest.approx(want.min()), pytest.approx(want.max()))
    ds_at = BACKWARD_STATEMENTS.index("ds")
    assert df.state(Frame("loss"), T - 1).known_from == (T, T)
    for frame, t, layer, k in _frames(2):
        st = df.state(frame, t)
        for n in range(2):
            ran = n > layer or (n == layer and k >= ds_at)
            assert st.known_from[n] == (t if ran else t + 1)
    at_top = SimpleNamespace(phase="bwd", t=T - 1, stmt="ds", layer=1)
    header, rows = df.table(df.state(at_top, T - 1))
    assert rows[T - 1][2] is None and rows[2 * T - 1][2] == pytest.approx(
        np.linalg.norm(ref_layers[1]["ds"][T - 1]))


def test_depth_flow_draws_zero_nan_and_inf_norms_visibly():
    mt = _model("toy", embedding=False)[0]
    bad = [np.array(tr.ds) for tr in mt.layers]
    bad[0][1] = 0.0
    bad[0][2, 0] = np.nan
    bad[1][3, 1] = np.inf
    fake = SimpleNamespace(num_layers=2, steps=T, layers=[SimpleNamespace(ds=d) for d in bad])
    df = DepthFlow(fake)
    assert df.log[0, 1] == df.floor and np.isnan(df.log[0, 2]) and df.log[1, 3] == np.inf
    assert (df.special.nan, df.special.posinf) == (1, 1)


# ---- tokens ---------------------------------------------------------------------------------

def test_tick_choice_labels_every_step_that_fits_and_thins_the_rest():
    tokens = Tokens(np.array([0, 1, 2, 1] * 25), ("a", "b", " ", "\n"))
    assert tokens.at(2) == "␣" and tokens.text(3) == "⏎" and tokens.text(9) == "#9"
    # 100 steps on 1000 px, 7 px a character, 1-char tokens: 17.5 px a label, 10 per step
    assert tokens.tick_step(100, 1000, 7) == 2
    wide = tokens.ticks(-0.5, 99.5, 4000, 7)            # 40 px per step: every step
    assert len(wide) == 100 and wide[:3] == [(0, "a"), (1, "b"), (2, "␣")]
    thin = tokens.ticks(-0.5, 99.5, 300, 7)             # labels "ttt:x" need ~45 px
    step = thin[1][0] - thin[0][0]
    assert step in (10, 20) and thin[1][1] == f"{step}:{tokens.at(step)}"
    assert all(t % step == 0 for t, _ in thin)
    gaps = 300 / 100 * step
    assert gaps >= (len(thin[-1][1]) + 1) * 7 * 0.8
    assert tokens.ticks(50.2, 50.8, 100, 7) == []
    assert token_text("x" * 40).endswith("…") and len(token_text("x" * 40)) == 12
    assert token_text("\x07") == "\\x07"


def test_the_text_task_labels_its_steps_with_its_characters():
    cfg = default_config("text", steps=12)
    trace = record_config(cfg)
    vocab = task_vocabulary("text")
    ids = pass_tokens(trace, vocab)
    assert ids is not None and len(ids) == 12
    np.testing.assert_array_equal(np.eye(len(vocab))[ids], trace.x)
    assert task_vocabulary("sine") is None and pass_tokens(trace, None) is None
    # and its read-out is shown from the single cell's Trace
    mt = model_pass(trace)
    rg = ReadoutGrads(mt)
    assert rg.available
    np.testing.assert_allclose(rg.state(Frame("bwd", 0)).wy, trace.loss_grads["wy_diff"],
                               rtol=1e-12, atol=1e-14)
    p = Predictions(mt)
    np.testing.assert_allclose(p.loss, trace.loss, rtol=1e-12)


def test_token_ids_of_an_embedding_pass_are_its_tokens(xent):
    mt, _, _, tokens, _ = xent
    np.testing.assert_array_equal(pass_tokens(mt, None), tokens)


def test_readout_and_embedding_gradients_count_nan_and_inf_as_of_the_frame(xent):
    mt = xent[0]
    e = np.array(mt.outputs["dl_dlogits"])
    e[6, 1] = np.nan                                   # step 6: reached at bwd:6
    h = np.array(mt.top.h)
    h[2, 0] = np.inf
    fake = SimpleNamespace(loss_name="xent", outputs={"dl_dlogits": e}, wy_diff=mt.wy_diff,
                           by_diff=mt.by_diff, steps=T, top=SimpleNamespace(h=h))
    rg = ReadoutGrads(fake)
    assert rg.state(Frame("bwd", 7)).special.total == 0
    at6 = rg.state(Frame("bwd", 6))
    assert at6.special.nan == HIDDENS[-1] + 1           # wy_diff's row 1 and by_diff[1]
    assert np.isnan(at6.wy[1]).all() and np.isnan(at6.by[1])
    assert np.isfinite(rg.levels()[0][1]) and rg.levels()[0][1] > 0   # levels stay drawable
    dxc = np.array(mt.layers[0].dxc)
    dxc[4, 0] = -np.inf
    emb = SimpleNamespace(tokens=mt.tokens, dE=mt.dE, steps=T, inputs=X,
                          layers=[SimpleNamespace(dxc=dxc)])
    eg = EmbeddingGrads(emb)
    assert eg.state(Frame("bwd", 5)).special.total == 0
    row = list(eg.occurring).index(mt.tokens[4])
    st = eg.state(Frame("bwd", 4))
    assert st.special.neginf == 1 and st.rows[row, 0] == -np.inf


def test_depth_flow_says_how_many_decades_ds_changes_down_the_layers_and_back_in_time(xent):
    mt, ref_layers, _, _, _ = xent
    df = DepthFlow(mt)
    logs = np.log10(np.array([np.linalg.norm(ref_layers[n]["ds"], axis=1) for n in range(2)]))
    assert df.ratio_text(df.state(Frame("loss"), T - 1)) == ""
    text = df.ratio_text(df.state(Frame("bwd", 3), 3))       # steps 3 … T-1 of both layers
    down = np.median(logs[0, 3:] - logs[1, 3:])
    back = np.median(logs[:, 3] - logs[:, -1])
    assert f"layer 1 → 0: {down:+.2f} decades" in text and f"t={T - 1} → 3: {back:+.2f}" in text


def test_one_layer_of_a_stacked_pass_shown_alone_has_no_read_out(xent):
    mt = xent[0]
    alone = model_pass(mt.layers[0])             # its loss reads the top layer's h, not its own
    assert alone.loss_name == "toy" and not Predictions(alone).available
    assert not ReadoutGrads(alone).available
    assert model_pass(mt.layers[1]).loss_name == "xent"   # the top layer's does fit
