"""A stacked model's pass in the session (issue 13): stepping across layer boundaries both
ways, the layer in view (following and pinned, with its event), every value the views
read equal to the engine's arrays of that layer, breakpoints per layer and for any layer,
goto texts, the trace file and a saved session round trip."""

import numpy as np
import pytest

from lstm_engine import Model, ReadoutMSE, init_uniform, record_model
from lstm_engine.errors import UserError
from lstm_engine.io import save_model_trace
from lstm_engine.model import ModelTrace
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES, Trace
from lstm_viz.model.frames import Frame
from lstm_viz.model.saved_session import load_session, save_session
from lstm_viz.model.session import Session

T = 5


def stacked(layers=2, seed=0):
    rng = np.random.default_rng(seed)
    widths = [3, 6, 5, 4][: layers + 1]
    cells = [init_uniform(widths[n], widths[n + 1], rng, -0.7, 0.7) for n in range(layers)]
    model = Model(cells, "seed", ReadoutMSE(rng.standard_normal((2, widths[layers])),
                                           np.zeros(2)))
    return record_model(model, rng.standard_normal((T, 3)), rng.standard_normal((T, 2)))


@pytest.fixture
def mt():
    return stacked()


@pytest.fixture
def session(mt):
    return Session(trace=mt)


def test_the_session_holds_the_model(session, mt):
    assert session.model_trace is mt and session.num_layers == 2
    assert session.frame_text == "fwd:0:L0:xc" and session.view_layer == 0
    assert session.trace is mt.layers[0]
    assert len(session.frames) == (7 + 20) * T * 2 + 1


def test_a_plain_trace_is_a_one_layer_run_as_before(mt):
    s = Session(trace=mt.layers[0])
    assert s.model_trace is None and s.num_layers == 1
    s.goto("bwd:2:ds")
    assert s.view_index == s.cursor and s.frame.layer is None


def test_stepping_across_layer_boundaries_both_ways(session):
    s = session
    s.goto("fwd:1:L0:s")
    s.step_over()
    assert s.frame_text == "fwd:1:L1"
    s.step_into()
    assert s.frame_text == "fwd:2:L0:xc"
    s.step_back_into()
    s.step_back_into()
    assert s.frame_text == "fwd:1:L1:s"
    s.step_back_out()
    assert s.frame_text == "fwd:1:L1:xc"
    s.step_back_out()
    assert s.frame_text == "fwd:1:L0:xc"                # the time step's first frame
    s.goto("loss")
    s.step_into()
    assert s.frame_text == f"bwd:{T - 1}:L1:ds"        # the top layer first
    s.step_out()
    assert s.frame_text == f"bwd:{T - 1}:L1"
    s.step_out()
    assert s.frame_text == f"bwd:{T - 1}:L0"
    s.step_back_over()
    assert s.frame_text == "loss"
    s.step_over()
    s.step_over()
    assert s.frame_text == f"bwd:{T - 2}:L0"


def test_the_views_show_the_cursors_layer_with_the_engines_numbers(session, mt):
    s = session
    seen = []
    s.events.view_layer_changed.connect(seen.append)
    s.goto("bwd:2:L1:do")
    assert s.view_layer == 1 and seen == [1] and s.trace is mt.layers[1]
    assert s.data.value("do", s.view_index) is not None
    np.testing.assert_array_equal(s.data.value("do", s.view_index), mt.layers[1].do[2])
    np.testing.assert_array_equal(s.data.value("top_diff_h", s.view_index),
                                  mt.layers[1].top_diff_h[2])
    assert s.data.value("dxc", s.view_index) is None        # not run yet in this cell
    s.goto("bwd:2:L0:ds")
    assert s.view_layer == 0 and seen == [1, 0]
    np.testing.assert_array_equal(s.data.value("ds", s.view_index), mt.layers[0].ds[2])
    # what layer 0 receives from above is layer 1's dxc[:X] at the same step
    np.testing.assert_array_equal(s.data.value("dl_dh", s.view_index),
                                  mt.layers[1].dxc[2, :6])
    # the accumulated gradient of layer 0 as of here: steps T-1 … 3 and nothing of step 2
    want = sum(np.outer(mt.layers[0].di_input[t], mt.layers[0].xc[t]) for t in range(3, T))
    np.testing.assert_allclose(s.data.value("wi_diff", s.view_index), want, rtol=1e-12)


def test_what_another_layer_shows_is_what_it_has_run(session, mt):
    s = session
    s.goto("fwd:2:L0:g")
    s.set_view_layer(1)                         # layer 1 has finished step 1 only
    assert s.layers.local_frame() == Frame("fwd", 1)
    np.testing.assert_array_equal(s.data.value("h", s.view_index), mt.layers[1].h[1])
    s.goto("bwd:2:L1:ds")
    s.set_view_layer(0)                         # layer 0 has finished backward step 3
    assert s.layers.local_frame() == Frame("bwd", 3)
    np.testing.assert_array_equal(s.data.value("ds", s.view_index), mt.layers[0].ds[3])


def test_pinning_the_layer_and_following_again(session):
    s = session
    seen = []
    s.events.view_layer_changed.connect(seen.append)
    assert s.set_view_layer(1) and s.view_layer == 1 and s.layers.pinned == 1
    s.goto("fwd:3:L0:s")
    assert s.view_layer == 1                     # pinned: the cursor's layer is 0
    assert s.set_view_layer(None) and s.view_layer == 0
    assert not s.set_view_layer(None)
    assert seen == [1, 0]
    s.layers.cycle()
    assert s.layers.pinned == 0
    assert seen == [1, 0, 0]                      # the same layer, now pinned: said too
    s.layers.cycle()
    s.layers.cycle()
    assert s.layers.pinned is None
    for bad in (2, -1, True, "1"):
        with pytest.raises(UserError):
            s.set_view_layer(bad)


def test_goto_texts(session):
    s = session
    s.goto("bwd:2")
    assert s.frame_text == "bwd:2:L0"
    s.goto("fwd:1")
    assert s.frame_text == "fwd:1:L1"
    for bad in ("fwd:1:s", "fwd:1:L2:s"):
        with pytest.raises(UserError):
            s.goto(bad)
    assert s.frame_text == "fwd:1:L1"


def test_breakpoints_on_one_layer_and_on_any(session, mt):
    s = session
    norms = {layer: np.linalg.norm(mt.layers[layer].ds, axis=1) for layer in (0, 1)}
    threshold = float(np.median(np.concatenate(list(norms.values()))))
    spec = f"norm ds > {threshold}"
    s.add_breakpoint(spec)
    any_layer = s.breakpoint_hits(s.stops.find(spec))
    want = sorted(s.frames.index(f"bwd:{t}:L{layer}:ds") for layer in (0, 1)
                  for t in range(T) if norms[layer][t] > threshold)
    assert list(any_layer.indices) == want
    assert [any_layer.layer(k) for k in range(len(any_layer))] == \
        [s.frames.frame(i).layer for i in want]
    s.clear_breakpoints()
    s.add_breakpoint(f"L1: norm ds > {threshold}")
    s.goto("loss")
    s.continue_()
    first = max(t for t in range(T) if norms[1][t] > threshold)
    assert s.frame_text == f"bwd:{first}:L1:ds"
    assert "layer 1:" in s.stop.text()
    s.add_breakpoint("frame bwd:1:L0:dg")
    assert s.frames.index("bwd:1:L0:dg") in s.breakpoint_indices()
    with pytest.raises(UserError):
        s.add_breakpoint("L2: nan")
    with pytest.raises(UserError):
        s.add_breakpoint("frame bwd:1:dg")              # a statement needs its layer here


def test_a_nan_in_one_layer_stops_there(mt):
    layers = list(mt.layers)
    arrays = {n: np.array(layers[1][n]) for n in STEP_NAMES + GRAD_NAMES}
    arrays["g"][3, 1] = np.nan
    bad = Trace(layers[1].params, layers[1].x, layers[1].y, arrays, layers[1].variant,
                layers[1].loss_fn, layers[1].loss_grads)
    broken = ModelTrace(mt.model, [layers[0], bad], mt.tokens, mt.x, mt.y, mt.loss,
                        mt.outputs, mt.loss_grads, mt.dE)
    s = Session(trace=broken)
    s.add_breakpoint("nan")
    s.continue_()
    assert s.frame_text == "fwd:3:L1:g" and "layer 1: NaN or Inf in g" in s.stop.text()
    s.first()
    s.clear_breakpoints()
    s.add_breakpoint("L0: nan")
    s.continue_()
    assert s.frame_text == s.frames.text(s.frames.last)      # none in layer 0


def test_a_stacked_trace_file_and_a_saved_session_round_trip(tmp_path, mt):
    save_model_trace(tmp_path / "stack.npz", mt)
    s = Session()
    s.open(tmp_path / "stack.npz")
    assert s.num_layers == 2 and s.frame_text == "fwd:0:L0:xc"
    s.goto("bwd:3:L1:df")
    s.add_breakpoint("L0: norm ds < 0.5")
    s.add_breakpoint("frame fwd:2:L1:o")
    s.set_view_layer(0)
    save_session(tmp_path / "session.npz", s)
    back, _ = load_session(tmp_path / "session.npz")
    assert back.num_layers == 2 and back.frame_text == "bwd:3:L1:df"
    assert [bp.spec() for bp in back.breakpoints] == ["L0: norm ds < 0.5",
                                                      "frame fwd:2:L1:o"]
    assert back.layers.pinned == 0 and back.view_layer == 0
    for layer in (0, 1):
        for name in ("h", "ds", "wi_diff"):
            np.testing.assert_array_equal(back.model_trace.layers[layer][name],
                                          mt.layers[layer][name])
    shown = Session()                                    # Open Session: the window adopts it
    shown.adopt(back)
    assert shown.model_trace is back.model_trace and shown.frame_text == "bwd:3:L1:df"
    assert shown.layers.pinned == 0 and len(shown.breakpoints) == 2
    s.save(tmp_path / "again.npz")                       # File ▸ Save keeps every layer
    again = Session()
    again.open(tmp_path / "again.npz")
    np.testing.assert_array_equal(again.layers.data(1).trace.ds, mt.layers[1].ds)


def test_three_layers(tmp_path):
    mt = stacked(3, seed=4)
    s = Session(trace=mt)
    s.goto("loss")
    s.step_into()
    assert s.frame_text == f"bwd:{T - 1}:L2:ds" and s.trace is mt.layers[2]
    s.step_out()
    s.step_into()
    assert s.frame_text == f"bwd:{T - 1}:L1:ds" and s.view_layer == 1
    np.testing.assert_array_equal(s.data.value("dl_dh", s.view_index),
                                  mt.layers[2].dxc[T - 1, :5])


def test_a_training_step_updates_the_whole_model(session, mt):
    # Train One Iteration steps every layer, the embedding and the read-out
    # (config.model_sgd_step; tests/model/test_config_sizes.py checks the numbers)
    s = session
    s.goto("bwd:1:L1:ds")
    s.train_step()
    assert s.model_trace is not mt and s.model_trace.num_layers == mt.num_layers
    assert s.frame_text == "bwd:1:L1:ds" and len(s.history) == 1
    for n in range(mt.num_layers):
        assert not np.array_equal(s.model_trace.model.layers[n].wi, mt.model.layers[n].wi)
    with pytest.raises(UserError):
        s.run_gradient_check()


def test_session_texts_keep_a_layered_frame():
    from lstm_viz.model.session_text import parse_text, session_from_text

    assert parse_text("lstm-viz:1 task=adding frame=bwd:2:L1:ds").frame == "bwd:2:L1:ds"
    with pytest.raises(UserError) as info:             # the adding task has one layer
        session_from_text("lstm-viz:1 task=adding frame=bwd:2:L1:ds")
    assert "one layer" in str(info.value) and "\n" not in str(info.value)


def test_another_variant_records_every_layer_again(session, mt):
    s = session
    s.goto("bwd:2:L1:ds")
    assert s.configure(s.config.with_(variant="standard", dtype="float32"))
    want = record_model(Model(mt.model.layers, "standard", mt.model.loss), mt.x, mt.y,
                        dtype="float32")
    assert s.num_layers == 2 and s.frame_text == "bwd:2:L1:ds"
    for layer in (0, 1):
        np.testing.assert_array_equal(s.layers.data(layer).trace.ds, want.layers[layer].ds)
    assert s.trace.variant == "standard" and s.trace.dtype == np.float32


def test_the_read_out_rows_are_the_top_layers_from_the_loss_on(session, mt):
    from lstm_viz.model.readout_rows import readout_rows

    s = session
    s.goto("fwd:2:L1:o")
    rows = readout_rows(s)
    assert [r.name for r in rows] == ["y_hat", "dl_dy_hat"]
    assert all(r.stats is None for r in rows)           # the loss has not run yet
    s.goto("bwd:2:L1:ds")
    for row in readout_rows(s):
        assert row.t == 2
        assert row.stats.norm == pytest.approx(np.linalg.norm(mt.outputs[row.name][2]),
                                               rel=1e-12)
    s.goto("bwd:2:L0:ds")                               # layer 0 in view: not its
    assert readout_rows(s) == []
    assert readout_rows(Session(trace=mt.layers[1])) == []
