"""Run configurations with layers and every size a task has (lstm_viz/model/config.py):
the copy task's sizes set X and T, a stack is recorded whole with the task's read-out,
the published example is unchanged, and Train One Iteration updates a whole model."""

import numpy as np
import pytest

from lstm_engine.errors import UserError
from lstm_engine.model import Model, record_model
from lstm_engine.model_arrays import model_trace_of
from lstm_engine.tasks import make_task
from lstm_engine.training import init_layers
from lstm_viz.model.config import (
    check_config,
    default_config,
    model_sgd_step,
    readout_text,
    sgd_step,
    task_sizes,
)
from lstm_viz.model.runs import record_config
from lstm_viz.model.session import Session
from lstm_viz.model.session_text import session_from_text, state_text


def test_the_copy_tasks_sizes_set_its_inputs_and_length():
    assert task_sizes("copy") == {"symbols": 4, "pattern": 5, "delay": 10}
    assert task_sizes("adding") == {}
    c = check_config(default_config("copy", symbols=3, pattern=2, delay=6))
    assert (c.inputs, c.steps) == (3 + 2, 2 * 2 + 6)
    # a size the task does not take is not kept
    assert check_config(default_config("adding", delay=6)).delay is None
    with pytest.raises(UserError, match="delay must be between 1 and 10000, got 0"):
        check_config(default_config("copy", delay=0))


def test_layers_are_checked():
    with pytest.raises(UserError, match="number of layers must be an integer from 1 to 16"):
        check_config(default_config("sine", layers=0))
    with pytest.raises(UserError, match="wrong backward is a single cell's example"):
        check_config(default_config("sine", layers=2, variant="standard", backward="seed"))


@pytest.mark.parametrize("task", ["sine", "text", "adding", "copy"])
def test_a_stack_is_the_engines_recording_of_the_tasks_model(task):
    cfg = check_config(default_config(task, layers=2, hidden=6))
    tr = record_config(cfg)
    t = make_task(task, 0, **({"length": cfg.steps} if task != "copy" else {}))
    layers, loss = init_layers(t, cfg.init, 6, 0, t.defaults.get("forget_bias"), "float64", 2)
    seq = t.sequence(0)
    want = record_model(Model(layers, cfg.variant, loss), seq.x, seq.y)
    assert tr.num_layers == 2 and tr.loss_name == t.loss
    assert tr.total_loss == pytest.approx(want.total_loss, rel=1e-13)
    np.testing.assert_allclose(tr.wy_diff, want.wy_diff, rtol=1e-12, atol=1e-15)
    assert set(tr.outputs) == set(want.outputs)
    assert readout_text(cfg).startswith(f"{t.loss} read-out, K={t.outputs}")


def test_one_layer_records_as_before_and_the_published_loss_holds():
    tr = record_config(default_config())
    assert float(np.sum(tr.loss)) == pytest.approx(0.753483886253, rel=1e-9)
    assert type(tr).__name__ == "Trace"
    text = record_config(default_config("text"))
    assert text.vocab == tuple(make_task("text").vocab)
    assert model_trace_of(text).vocab == text.vocab


def test_the_whole_models_sgd_step_is_the_seeds_for_one_layer():
    tr = record_config(default_config("copy"))
    params, loss = sgd_step(tr, 0.05)
    model = model_sgd_step(model_trace_of(tr), 0.05)
    for name, a in params.as_dict().items():
        np.testing.assert_array_equal(getattr(model.layers[0], name), a)
    for name, a in loss.params().items():
        np.testing.assert_array_equal(model.loss.params()[name], a)


def test_train_one_iteration_updates_every_layer_of_a_stack():
    s = Session(default_config("copy", layers=2, lr=0.01))
    before = s.model_trace
    s.goto("bwd:3:L1:ds")
    entry = s.train_step()
    after = s.model_trace
    want = record_model(model_sgd_step(before, 0.01), before.x, before.y)
    assert entry.loss == before.total_loss
    assert after.num_layers == 2 and s.frame_text == "bwd:3:L1:ds"
    assert after.total_loss == pytest.approx(want.total_loss, rel=1e-13)
    assert after.total_loss < before.total_loss
    assert not np.array_equal(after.model.layers[1].wi, before.model.layers[1].wi)


def test_the_session_text_keeps_layers_and_sizes():
    s = Session(default_config("copy", layers=2, delay=3))
    s.goto("bwd:2:L0:ds")
    text = state_text(s)
    assert "layers=2" in text and "delay=3" in text
    again = session_from_text(text)
    assert again.config == s.config and again.frame_text == "bwd:2:L0:ds"


def test_the_training_dock_trains_a_stack_at_the_tasks_sizes(tmp_path):
    from lstm_engine.training import TrainConfig, build_trainer
    from lstm_viz.model.saved_session import save_session
    from lstm_viz.model.training_run import TrainingSettings

    s = Session(default_config("copy", layers=2, delay=3, hidden=8))
    settings = TrainingSettings.from_config(s.config)
    assert (settings.layers, settings.delay, settings.task) == (2, 3, "copy")
    s.start_training(settings)
    s.train(3)
    assert s.num_layers == 2 and s.model_trace.steps == 2 * 5 + 3
    assert s.config.layers == 2 and s.config.delay == 3
    # the engine's trainer, on its own, makes the same losses
    engine, _ = build_trainer(TrainConfig(task="copy", task_options={"delay": 3}, hidden=8,
                                          layers=2, iterations=3))
    want = [float(next(engine).loss) for _ in range(3)]
    assert [e.loss for e in s.history] == pytest.approx(want, rel=1e-13)
    assert s.seek_iteration(1) and s.previous_trace() is s.training.trace_at(0).layers[
        s.view_layer]
    with pytest.raises(UserError, match="2-layer model cannot be saved yet"):
        save_session(tmp_path / "s.npz", s)
    assert not (tmp_path / "s.npz").exists()
