"""The app's session given the engine's newer files (issue 12): a stacked model's trace or
a training run is refused in one line and the session keeps what it had; a one-layer
trace of format 2 opens."""

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


def test_a_stacked_trace_or_a_run_is_refused_in_one_line_and_nothing_changes(tmp_path):
    rng = np.random.default_rng(1)
    model = _model(2)
    save_model_trace(tmp_path / "stack.npz", record_model(
        model, rng.standard_normal((5, 3)), rng.standard_normal((5, 2))))
    trainer, config = build_trainer(TrainConfig(task="sine", iterations=1))
    save_run(tmp_path / "run.npz", trainer, config, History())
    session = Session()
    before = session.trace
    for name, words in (("stack.npz", "a trace of a 2-layer model"),
                        ("run.npz", "a training run")):
        with pytest.raises(UserError) as info:
            session.open(tmp_path / name)
        assert "\n" not in str(info.value) and words in str(info.value)
        assert session.trace is before


def test_a_one_layer_trace_of_format_2_opens(tmp_path):
    rng = np.random.default_rng(2)
    trace = record_model(_model(1), rng.standard_normal((3, 5, 3)),
                         rng.standard_normal((3, 5, 2)), sequence=2)
    save_model_trace(tmp_path / "one.npz", trace)
    session = Session()
    session.open(tmp_path / "one.npz")
    np.testing.assert_array_equal(session.trace.ds, trace.layers[0].ds)
    assert session.trace.loss_name == "mse"
