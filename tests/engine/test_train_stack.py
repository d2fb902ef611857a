"""Training a stack of L cells: one iteration against the independent per-step reference,
checkpoints, the run file of format 2, NaNs found in execution order across layers, and
the built-in tasks' read-outs."""

import json

import numpy as np
import pytest
from reference import reference_model_pass

from lstm_engine import Model, Trace, record_model
from lstm_engine.io import load_model
from lstm_engine.model import ModelTrace
from lstm_engine.params import PARAM_NAMES
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES
from lstm_engine.training import (
    History,
    TrainConfig,
    Trainer,
    build_trainer,
    first_nonfinite,
    init_layers,
    init_model,
    save_run,
)


def reference_grads(trainer, index):
    """(loss, gradients by flat name) of task sequence ``index``, from the reference."""
    seq = trainer.task.sequence(index)
    m = trainer.model
    spec = {"name": m.loss_name, "at": m.loss.at, "wy": m.loss.wy, "by": m.loss.by}
    layers, ref = reference_model_pass([p.as_dict() for p in m.layers], seq.x, seq.y,
                                       m.variant, spec)
    grads = {f"L{n}.{k}": layers[n][f"{k}_diff"] for n in range(len(layers))
             for k in PARAM_NAMES}
    grads.update({"loss.wy": ref["wy_diff"], "loss.by": ref["by_diff"]})
    return float(np.sum(ref["loss"])), grads


def test_one_sgd_iteration_of_a_stack_averages_the_references_gradients_over_the_batch():
    lr, B = 0.05, 2
    trainer, cfg = build_trainer(TrainConfig(task="sine", optimizer="sgd", lr=lr, seed=3,
                                             hidden=4, layers=3, batch=B,
                                             task_options={"length": 8}))
    assert trainer.num_layers == 3 and cfg.layers == 3
    before = {k: np.array(v) for k, v in trainer.model.arrays().items()}
    refs = [reference_grads(trainer, 1 + j) for j in range(B)]
    it = next(trainer)
    assert it.loss == pytest.approx(sum(r[0] for r in refs) / B, rel=1e-12)
    mean = {k: sum(r[1][k] for r in refs) / B for k in refs[0][1]}
    assert set(it.grad_norms) == set(mean)
    after = trainer.model.arrays()
    for k, g in mean.items():
        assert it.grad_norms[k] == pytest.approx(np.linalg.norm(g), rel=1e-10)
        np.testing.assert_allclose(after[k], before[k] - lr * g, rtol=1e-12, atol=1e-15,
                                   err_msg=k)


def test_a_stack_resumes_from_its_checkpoint_exactly():
    config = TrainConfig(task="sine", seed=5, hidden=4, layers=2, task_options={"length": 6})
    straight, _ = build_trainer(config)
    want = [it.loss for it in straight.run(4)]
    first, _ = build_trainer(config)
    got = [it.loss for it in first.run(2)]
    state = first.state()
    assert len(state.upper_layers) == 1
    second, _ = build_trainer(config)
    second.restore(state)
    got += [it.loss for it in second.run(2)]
    assert got == want
    for k, v in straight.model.arrays().items():
        np.testing.assert_array_equal(second.model.arrays()[k], v, err_msg=k)


def test_a_stack_of_one_is_the_single_cell():
    task_config = TrainConfig(task="sine", seed=2, task_options={"length": 6})
    single, _ = build_trainer(task_config)
    params, loss = init_model(single.task, "xavier", 16, 2)
    as_list = Trainer(single.task, [params], loss, single.optimizer)
    assert as_list.num_layers == 1
    assert [it.loss for it in single.run(3)] == [it.loss for it in as_list.run(3)]
    assert isinstance(next(Trainer(single.task, [params], loss, single.optimizer,
                                   trace_every=1)).trace, Trace)


def test_a_stack_starts_with_the_single_cells_layer_0_and_read_out():
    task = build_trainer(TrainConfig(task="text", task_options={"length": 5}))[0].task
    cell, head = init_model(task, "orthogonal", 6, 9)
    layers, head3 = init_layers(task, "orthogonal", 6, 9, layers=3)
    assert len(layers) == 3 and layers[1].inputs == 6 and layers[2].hidden == 6
    for k in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(layers[0], k), getattr(cell, k))
    np.testing.assert_array_equal(head3.wy, head.wy)


def test_a_stack_learns_the_sine():
    trainer, _ = build_trainer(TrainConfig(task="sine", seed=1, hidden=8, layers=2))
    losses = np.array([it.loss for it in trainer.run(200)])
    assert losses[-30:].mean() < losses[:10].mean() / 3


def test_the_run_of_a_stack_is_format_2_and_a_single_cells_is_as_before(tmp_path):
    trainer, config = build_trainer(TrainConfig(task="copy", hidden=5, layers=2,
                                                task_options={"delay": 3}))
    history = History()
    for it in trainer.run(2):
        history.append(it)
    save_run(tmp_path / "run.npz", trainer, config, history)
    with np.load(tmp_path / "run.npz") as f:
        meta = json.loads(str(f["meta"]))
        names = set(f.files)
    assert meta["version"] == 2 and meta["layers"] == 2 and meta["hidden"] == [5, 5]
    assert meta["config"]["layers"] == 2 and meta["loss"] == {"name": "xent", "at": "every"}
    assert {"L0.wg", "L1.bo", "loss.wy", "history.grad_norm.L1.wi",
            "history.grad_norm.loss.by"} <= names and "wg" not in names
    source = load_model(tmp_path / "run.npz")
    assert source.kind == "run" and source.variant_known
    for k, v in trainer.model.arrays().items():
        np.testing.assert_array_equal(source.model.arrays()[k], v, err_msg=k)
    one, config1 = build_trainer(TrainConfig(task="copy", hidden=5,
                                             task_options={"delay": 3}))
    save_run(tmp_path / "one.npz", one, config1, History())
    with np.load(tmp_path / "one.npz") as f:
        meta = json.loads(str(f["meta"]))
        assert meta["version"] == 1 and "layers" not in meta["config"]
        assert set(PARAM_NAMES) <= set(f.files) and "L0.wg" not in f.files


def _with_nan(trace: ModelTrace, changes) -> ModelTrace:
    """A copy of a ModelTrace with NaN written at (layer, array, step)."""
    layers = []
    for n, tr in enumerate(trace.layers):
        arrays = {k: np.array(tr[k]) for k in STEP_NAMES + GRAD_NAMES}
        for layer, name, t in changes:
            if layer == n:
                arrays[name][t] = np.nan
        layers.append(Trace(tr.params, tr.x, tr.y, arrays, tr.variant, tr.loss_fn,
                            tr.loss_grads))
    return ModelTrace(trace.model, layers, trace.tokens, trace.x, trace.y, trace.loss,
                      trace.outputs, trace.loss_grads, trace.dE)


@pytest.mark.parametrize("changes,phase,array,step", [
    ([(0, "s", 3), (1, "g", 2)], "forward", "L1.g", 2),        # the earlier step first
    ([(1, "g", 2), (0, "o", 2)], "forward", "L0.o", 2),        # one step: bottom-up
    ([(0, "ds", 4), (1, "ds", 4)], "backward", "L1.ds", 4),    # one step: top-down
    ([(1, "ds", 3), (0, "dg", 5)], "backward", "L0.dg", 5),    # the later step first
    ([(1, "dl_dh", 1), (0, "ds", 5)], "loss", "L1.dl_dh", 1),  # the loss before backward
    ([(0, "wf_diff", 0)], "gradient", "L0.wf_diff", None),
])
def test_the_first_nan_of_a_stack_is_found_in_execution_order(changes, phase, array, step):
    trainer, _ = build_trainer(TrainConfig(task="sine", hidden=3, layers=2,
                                           task_options={"length": 7}))
    seq = trainer.task.sequence(0)
    trace = record_model(trainer.model, seq.x, seq.y)
    assert first_nonfinite(trace) is None
    found = first_nonfinite(_with_nan(trace, changes), 7)
    assert (found.phase, found.array, found.step, found.iteration) == (phase, array, step, 7)


def test_a_nan_in_a_stack_stops_training_with_its_layer_named():
    trainer, _ = build_trainer(TrainConfig(task="sine", hidden=3, layers=2, lr=1e300,
                                           optimizer="sgd", task_options={"length": 5}))
    its = list(trainer.run(5))
    assert its[-1].problem is not None and trainer.stopped
    assert its[-1].problem.array.startswith(("L0.", "L1.", "loss."))


EXPECTED_LOSSES = {"published": ("toy", None), "sine": ("mse", "every"),
                   "text": ("xent", "every"), "adding": ("mse", "last"),
                   "copy": ("xent", "every"), "file": ("mse", "every")}


@pytest.mark.parametrize("task", list(EXPECTED_LOSSES))
def test_every_built_in_task_trains_a_stack_with_the_read_out_it_needs(tmp_path, task):
    options = {"published": {}, "sine": {"length": 5}, "text": {"length": 5},
               "adding": {"length": 10}, "copy": {"delay": 2, "pattern": 2}, "file": {}}
    if task == "file":
        np.save(tmp_path / "data.npy", np.random.default_rng(0).standard_normal((6, 3)))
        options["file"] = {"path": str(tmp_path / "data.npy")}
    trainer, _ = build_trainer(TrainConfig(task=task, hidden=4, layers=2,
                                           task_options=options[task]))
    it = next(Trainer(trainer.task, trainer.model.layers, trainer.loss_fn, trainer.optimizer,
                      trace_every=1))
    name, at = EXPECTED_LOSSES[task]
    trace = it.trace
    assert trace.num_layers == 2 and trace.loss_name == name
    if at is None:
        assert trace.model.outputs is None
    else:
        assert trace.model.loss.at == at and trace.model.outputs == trainer.task.outputs
    assert isinstance(trainer.model, Model)


def test_a_stack_stops_at_an_overflowing_pre_activation_naming_its_layer(capsys):
    from lstm_engine.cli import main

    code = main(["train", "--layers", "2", "--lr", "1e308", "--optimizer", "sgd",
                 "--steps", "20"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert "stopped: iteration 1: first NaN or Inf in L" in err and "·xc + b" in err
    assert "in the forward pass" in err
