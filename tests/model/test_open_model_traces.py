"""The app's session given the engine's newer files (issues 12, 13): a training run is
refused in one line and the session keeps what it had; a stacked model's trace and a
one-layer trace of format 2 open."""

import numpy as np
import pytest

from lstm_engine import Model, ReadoutMSE, init_uniform, record_model
from lstm_engine.errors import UserError
from lstm_engine.io import save_model_trace
from lstm_engine.training import History, TrainConfig, build_trainer, save_run
from lstm_viz.model.session import Session


def _model(layers):
    rng = np.random.default_rng(0)
    widths = [3, 4, 4][: layers + 1]
    cells = [init_uniform(widths[n], widths[n + 1], rng) for n in range(layers)]
    return Model(cells, "standard", ReadoutMSE(rng.standard_normal((2, 4)), np.zeros(2)))


def test_a_run_is_refused_in_one_line_and_nothing_changes_a_stacked_trace_opens(tmp_path):
    rng = np.random.default_rng(1)
    model = _model(2)
    stacked = record_model(model, rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))
    save_model_trace(tmp_path / "stack.npz", stacked)
    trainer, config = build_trainer(TrainConfig(task="sine", iterations=1))
    save_run(tmp_path / "run.npz", trainer, config, History())
    session = Session()
    before = session.trace
    with pytest.raises(UserError) as info:
        session.open(tmp_path / "run.npz")
    assert "\n" not in str(info.value) and "a training run" in str(info.value)
    assert session.trace is before
    session.open(tmp_path / "stack.npz")
    assert session.num_layers == 2 and session.model_trace is not None
    for layer in (0, 1):
        np.testing.assert_array_equal(session.layers.data(layer).trace.ds,
                                      stacked.layers[layer].ds)


def test_a_one_layer_trace_of_format_2_opens(tmp_path):
    rng = np.random.default_rng(2)
    trace = record_model(_model(1), rng.standard_normal((3, 5, 3)),
                         rng.standard_normal((3, 5, 2)), sequence=2)
    save_model_trace(tmp_path / "one.npz", trace)
    session = Session()
    session.open(tmp_path / "one.npz")
    np.testing.assert_array_equal(session.trace.ds, trace.layers[0].ds)
    assert session.trace.loss_name == "mse"
