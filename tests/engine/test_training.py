"""The training loop: it learns, it can be paused and resumed exactly, it reports NaNs."""

import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from nonfinite import trace_with

from lstm_engine import PARAM_NAMES, Params, record, training
from lstm_engine.cli import main
from lstm_engine.errors import UserError
from lstm_engine.init import make_params, with_forget_bias
from lstm_engine.losses import ToyLoss
from lstm_engine.optim import SGD
from lstm_engine.tasks import Task, make_task
from lstm_engine.training import TrainConfig, Trainer, build_trainer, first_nonfinite

# ---- it learns --------------------------------------------------------------------


def test_published_run_matches_the_golden_figures_and_falls():
    trainer, cfg = build_trainer(TrainConfig(task="published"))
    assert (cfg.hidden, cfg.init, cfg.optimizer, cfg.lr) == (100, "published", "sgd", 0.1)
    losses = [it.loss for it in trainer.run(100)]
    # Figures of the published run (design notes, section 1), not computed by this code.
    np.testing.assert_allclose(losses[:2], [0.753483886253, 0.599065083953], rtol=1e-6)
    assert losses[-1] < losses[0] / 1000


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_sine_loss_falls_by_a_factor_of_five(variant):
    trainer, _ = build_trainer(TrainConfig(task="sine", variant=variant, seed=1))
    losses = np.array([it.loss for it in trainer.run(300)])
    assert losses[-50:].mean() < losses[:10].mean() / 5


def test_adding_at_length_20_beats_the_trivial_predictor():
    task = make_task("adding", seed=0, length=20)
    # The best constant prediction is the mean target; its squared error is the variance.
    targets = np.array([task.sequence(n).y[0] for n in range(10_000, 12_000)])
    trivial = float(np.mean((targets - targets.mean()) ** 2))
    assert 0.14 < trivial < 0.19                       # 1/6 for a sum of two U(0, 1)
    trainer, _ = build_trainer(TrainConfig(task="adding", task_options={"length": 20}))
    losses = np.array([it.loss for it in trainer.run(2500)])
    assert losses[-200:].mean() < 0.25 * trivial


# ---- one iteration, checked against the recorder directly -------------------------


def test_iteration_reports_the_recorders_gradients_and_applies_sgd():
    trainer, cfg = build_trainer(TrainConfig(task="sine", optimizer="sgd", lr=0.05, seed=2))
    p0, loss0 = trainer.params, trainer.loss_fn
    seq = trainer.task.sequence(1)                      # iteration 0 trains on sequence 1
    ref = record(p0, seq.x, seq.y, "seed", loss0)
    it = next(trainer)
    assert it.index == 0 and it.loss == pytest.approx(ref.total_loss, rel=1e-12)
    grads = {**ref.grads.as_dict(), "wy": ref.loss_grads["wy_diff"],
             "by": ref.loss_grads["by_diff"]}
    assert set(it.grad_norms) == set(grads)
    for name, g in grads.items():
        assert it.grad_norms[name] == pytest.approx(np.linalg.norm(g), rel=1e-12)
    total = math.sqrt(sum(np.sum(g * g) for g in grads.values()))
    assert it.grad_norm == pytest.approx(total, rel=1e-12) and not it.clipped
    for name in PARAM_NAMES:
        np.testing.assert_allclose(getattr(trainer.params, name),
                                   getattr(p0, name) - 0.05 * grads[name], rtol=1e-13)
    np.testing.assert_allclose(trainer.loss_fn.wy, loss0.wy - 0.05 * grads["wy"], rtol=1e-13)


def test_clipping_bounds_the_step_and_reports_the_norm_before():
    trainer, _ = build_trainer(TrainConfig(task="published", clip=0.5))
    p0 = trainer.params
    seq = make_task("published").sequence(0)
    ref = record(p0, seq.x, seq.y, "seed", ToyLoss())
    norm = math.sqrt(sum(np.sum(g * g) for g in ref.grads.as_dict().values()))
    it = next(trainer)
    assert it.clipped and it.grad_norm == pytest.approx(norm, rel=1e-12) and norm > 0.5
    np.testing.assert_allclose(trainer.params.wf, p0.wf - 0.1 * ref.wf_diff * 0.5 / norm,
                               rtol=1e-12)


def _reference_grads(trace):
    return {**trace.grads.as_dict(), "wy": trace.loss_grads["wy_diff"],
            "by": trace.loss_grads["by_diff"]}


def test_a_batch_averages_loss_and_gradients_over_its_own_sequences():
    B, lr = 3, 0.05
    trainer, _ = build_trainer(TrainConfig(task="sine", optimizer="sgd", lr=lr, seed=6,
                                           batch=B, task_options={"length": 9}))
    params, head = trainer.params, trainer.loss_fn
    for n in range(2):                                  # iteration n: 1+n*B … (n+1)*B
        refs = [record(params, s.x, s.y, "seed", head)
                for s in (trainer.task.sequence(1 + n * B + j) for j in range(B))]
        mean = {k: sum(_reference_grads(r)[k] for r in refs) / B
                for k in _reference_grads(refs[0])}
        it = next(trainer)
        assert it.index == n
        assert it.loss == pytest.approx(sum(r.total_loss for r in refs) / B, rel=1e-12)
        for name, g in mean.items():
            assert it.grad_norms[name] == pytest.approx(np.linalg.norm(g), rel=1e-12)
        for name in PARAM_NAMES:
            np.testing.assert_allclose(getattr(trainer.params, name),
                                       getattr(params, name) - lr * mean[name], rtol=1e-13)
        np.testing.assert_allclose(trainer.loss_fn.wy, head.wy - lr * mean["wy"], rtol=1e-13)
        np.testing.assert_allclose(trainer.loss_fn.by, head.by - lr * mean["by"], rtol=1e-13)
        params, head = trainer.params, trainer.loss_fn


def test_clipping_just_above_the_norm_still_clips():
    # max_norm < norm < 2 max_norm: a rule off by a factor (2 max_norm) would not clip.
    config = TrainConfig(task="sine", optimizer="sgd", lr=0.1, seed=2)
    probe, _ = build_trainer(config)
    seq = probe.task.sequence(1)
    grads = _reference_grads(record(probe.params, seq.x, seq.y, "seed", probe.loss_fn))
    norm = math.sqrt(sum(np.sum(g * g) for g in grads.values()))
    clip = norm / 1.5
    trainer, _ = build_trainer(replace(config, clip=clip))
    p0 = trainer.params
    it = next(trainer)
    assert it.clipped and it.grad_norm == pytest.approx(norm, rel=1e-12)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(getattr(trainer.params, name),
                                   getattr(p0, name) - 0.1 * grads[name] / 1.5, rtol=1e-12)
    # Just below the norm: no clipping, the full step.
    trainer, _ = build_trainer(replace(config, clip=norm * 1.01))
    it = next(trainer)
    assert not it.clipped
    np.testing.assert_allclose(trainer.params.wo, p0.wo - 0.1 * grads["wo"], rtol=1e-12)


def test_trace_on_request_every_k_and_of_a_chosen_sequence():
    trainer, _ = build_trainer(TrainConfig(task="sine", seed=3))
    assert next(trainer).trace is None
    trainer.request_trace()
    p_before = trainer.params
    it = next(trainer)
    assert it.trace is not None and it.trace.total_loss == pytest.approx(it.loss, rel=1e-12)
    np.testing.assert_array_equal(it.trace.x, trainer.task.sequence(2).x)
    np.testing.assert_array_equal(it.trace.params.wg, p_before.wg)   # before the update
    assert next(trainer).trace is None

    every, _ = build_trainer(TrainConfig(task="sine", seed=3), trace_every=3, trace_index=0)
    p0, loss0 = every.params, every.loss_fn
    its = list(every.run(7))
    assert [i for i, it in enumerate(its) if it.trace is not None] == [0, 3, 6]
    seq0 = every.task.sequence(0)
    ref = record(p0, seq0.x, seq0.y, "seed", loss0)
    np.testing.assert_array_equal(its[0].trace.h, ref.h)
    np.testing.assert_array_equal(its[0].trace.loss_grads["wy_diff"], ref.loss_grads["wy_diff"])


# ---- pause, resume, stop ------------------------------------------------------------


def _final(trainer):
    return {**trainer.params.as_dict(), **trainer.loss_fn.params()}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_resuming_from_a_checkpoint_gives_the_uninterrupted_run(optimizer):
    config = TrainConfig(task="sine", seed=5, optimizer=optimizer, clip=0.5, batch=2,
                         task_options={"length": 12})
    straight, _ = build_trainer(config)
    losses = [it.loss for it in straight.run(12)]

    first, _ = build_trainer(config)
    head = [it.loss for it in first.run(5)]
    checkpoint = first.state()
    list(first.run(3))                                  # the checkpoint must not follow
    resumed, _ = build_trainer(config)
    resumed.restore(checkpoint)
    assert resumed.iteration == 5
    tail = [it.loss for it in resumed.run(7)]
    assert head + tail == losses
    for name, a in _final(straight).items():
        np.testing.assert_array_equal(_final(resumed)[name], a)

    paused, _ = build_trainer(config)                   # pausing: just not calling next()
    gen = iter(paused)
    part = [next(gen).loss for _ in range(4)]
    record(paused.params, np.ones((3, 1)), np.ones((3, 1)), "seed", paused.loss_fn)
    part += [next(gen).loss for _ in range(8)]
    assert part == losses


def test_stop_ends_the_iteration_between_iterations():
    trainer, _ = build_trainer(TrainConfig(task="published"))
    gen = trainer.run(10)
    next(gen), next(gen)
    trainer.stop()
    assert list(gen) == [] and trainer.iteration == 2
    with pytest.raises(StopIteration):
        next(trainer)


# ---- NaN and Inf -----------------------------------------------------------------


class _ZeroTask(Task):
    """x = 0 everywhere; targets 0 for sequences 1 and 2 (zero gradients, nothing moves),
    1 from sequence 3 on. Used with one memory cell sitting at the fixed point h = s = 0."""

    name, loss = "zeros", "toy"

    def __init__(self, steps):
        super().__init__(0)
        self.inputs, self.steps = 1, steps

    def _draw(self, rng):
        return np.zeros((self.steps, 1)), np.zeros(self.steps)

    def sequence(self, index=0):
        seq = super().sequence(index)
        return type(seq)(seq.x, seq.y + (1.0 if index >= 3 else 0.0))


def _first_overflowing_step(T, w, target):
    """The scalar cell at h = s = g = 0, i = f = o = 1/2 (design notes, section 1), by hand:
    ds = o top_diff_h + top_diff_s, dg_input = i ds, bottom_diff_h = w dg_input."""
    top_diff_s, bottom_diff_h = 0.0, 0.0
    for t in range(T - 1, -1, -1):
        top_diff_h = 2 * (0.0 - target) + bottom_diff_h
        ds = 0.5 * top_diff_h + top_diff_s
        bottom_diff_h = w * (0.5 * ds)
        if not math.isfinite(bottom_diff_h):
            return t
        top_diff_s = ds * 0.5
    return None


def test_an_exploding_gradient_is_reported_at_its_first_step_and_array():
    T, w = 20, 1e30
    zeros = {n: np.zeros((1, 2)) if n.startswith("w") else np.zeros(1) for n in PARAM_NAMES}
    zeros["wg"] = np.array([[0.0, w]])                  # a huge recurrent weight for g
    params = Params(**zeros)
    trainer = Trainer(_ZeroTask(T), params, ToyLoss(), SGD(0.1))
    its = list(trainer.run(10))
    assert [it.problem is None for it in its] == [True, True, False]
    problem = its[-1].problem
    expected = _first_overflowing_step(T, w, 1.0)
    assert expected is not None and 0 < expected < T - 1
    assert (problem.iteration, problem.phase, problem.array, problem.step) == \
        (2, "backward", "dxc", expected)
    assert "iteration 2" in str(problem) and f"step {expected}" in str(problem)
    assert not np.isfinite(its[-1].trace.dxc[expected]).all()      # the bad pass, to debug
    assert np.isfinite(its[-1].trace.dxc[expected + 1]).all()
    # Nothing propagated: the parameters are still the good ones, and the run is over.
    np.testing.assert_array_equal(trainer.params.wg, params.wg)
    assert trainer.iteration == 2 and trainer.problem == problem and trainer.stopped
    with pytest.raises(StopIteration):
        next(trainer)


@pytest.mark.parametrize("changes,expected", [
    ([], None),
    ([("h", 4, np.nan), ("s", 4, np.inf), ("g", 5, np.nan)], ("forward", "s", 4)),
    ([("ds", 1, np.inf), ("dl_dh", 5, np.nan)], ("loss", "dl_dh", 5)),
    ([("ds", 1, np.inf), ("dxc", 3, np.nan), ("top_diff_h", 3, np.nan)],
     ("backward", "top_diff_h", 3)),                     # backward runs from T-1 down
    ([("bf_diff", 0, np.inf)], ("gradient", "bf_diff", None)),
])
def test_first_nonfinite_follows_execution_order(changes, expected):
    found = first_nonfinite(trace_with(changes), iteration=7)
    if expected is None:
        assert found is None
    else:
        assert (found.iteration, found.phase, found.array, found.step) == (7, *expected)


def test_an_overflowing_update_is_reported_and_not_applied():
    trainer, _ = build_trainer(TrainConfig(task="sine", optimizer="sgd", lr=1e308))
    p0 = trainer.params
    it = next(trainer)
    assert it.problem is not None and it.problem.iteration == 0
    assert it.problem.phase == "update" and it.problem.array in PARAM_NAMES
    name = it.problem.array
    with np.errstate(over="ignore"):
        assert not np.isfinite(getattr(p0, name) - 1e308 * it.trace[f"{name}_diff"]).all()
    np.testing.assert_array_equal(trainer.params.wg, p0.wg)


@pytest.mark.parametrize("bias", [math.nan, math.inf, -math.inf])
def test_a_forget_bias_that_is_not_finite_is_refused(bias):
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match="forget-gate bias must be a finite number"):
        make_params("xavier", 2, 3, rng, forget_bias=bias)
    with pytest.raises(UserError, match="forget-gate bias must be a finite number"):
        with_forget_bias(make_params("uniform", 2, 3, rng), bias)
    with pytest.raises(UserError, match="forget-gate bias must be a finite number"):
        build_trainer(TrainConfig(task="adding", forget_bias=bias))
    assert make_params("xavier", 2, 3, rng, forget_bias=1.5).bf.tolist() == [1.5] * 3


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "one"])
def test_train_command_refuses_a_forget_bias_that_is_not_a_finite_number(text, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--task", "sine", "--steps", "1", f"--forget-bias={text}"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert "--forget-bias" in err and ("finite number" in err or "expected a number" in err)


def test_bad_settings_are_user_errors():
    for bad in (dict(hidden=0), dict(optimizer="rmsprop"), dict(init="he"),
                dict(variant="peephole"), dict(lr=-1.0), dict(task="nope"),
                dict(task="adding", task_options={"length": 5})):
        with pytest.raises(UserError):
            build_trainer(TrainConfig(**bad))


# ---- the train command ------------------------------------------------------------


def test_train_command_prints_iterations_and_writes_the_run(tmp_path, capsys):
    out = tmp_path / "run.npz"
    code = main(["train", "--task", "sine", "--steps", "6", "--every", "2", "--seed", "4",
                 "--clip", "1", "-o", str(out)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[1]) for line in lines if line.startswith("iter")] == [0, 2, 4, 5]
    assert any(line.startswith("6 iterations") for line in lines)
    with np.load(out, allow_pickle=False) as run:
        meta = json.loads(str(run["meta"]))
        assert meta["config"]["task"] == "sine" and meta["iterations_done"] == 6
        assert not meta["interrupted"] and meta["config"]["clip"] == 1.0
        assert run["history.loss"].shape == (6,) and run["loss.wy"].shape == (1, 16)
        assert set(PARAM_NAMES) <= set(run.files)
    # Same seed, same run: the loss history is reproduced exactly.
    trainer, _ = build_trainer(TrainConfig(task="sine", seed=4, clip=1.0))
    with np.load(out, allow_pickle=False) as run:
        np.testing.assert_array_equal(run["history.loss"], [it.loss for it in trainer.run(6)])


def test_train_command_bad_input_is_one_line(capsys):
    assert main(["train", "--task", "file"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstm-engine: error:") and err.count("\n") == 1
    assert main(["train", "--task", "sine", "--data", "x.csv"]) == 2


@pytest.mark.parametrize("where", ["missing/run.npz", "."])
def test_train_output_is_checked_before_the_first_iteration(tmp_path, monkeypatch, capsys,
                                                            where):
    steps = []
    step = training.Trainer._step
    monkeypatch.setattr(training.Trainer, "_step", lambda self: steps.append(1) or step(self))
    out = tmp_path / where
    assert main(["train", "--task", "sine", "--steps", "5", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lstm-engine: error: {out}") and err.count("\n") == 1
    assert "does not exist" in err or "is a directory" in err
    assert steps == [] and not (tmp_path / "missing").exists()
    assert main(["train", "--task", "sine", "--steps", "2", "-o", str(tmp_path / "r.npz")]) == 0
    assert len(steps) == 2                              # the counter counts


def test_cli_experiments_has_no_entry_point_of_its_own():
    import lstm_engine.cli_experiments as module
    assert not hasattr(module, "main")
    assert "__main__" not in Path(module.__file__).read_text()


def test_ctrl_c_stops_cleanly_and_still_writes_the_run(tmp_path):
    out = tmp_path / "run.npz"
    cmd = [sys.executable, "-m", "lstm_engine", "train", "--task", "adding",
           "--length", "100", "--steps", "1000000", "-o", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        seen = 0
        for line in proc.stdout:                        # wait until it is training
            seen += line.startswith("iter")
            if seen >= 3:
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted after" in rest and "Traceback" not in err
    with np.load(out, allow_pickle=False) as run:
        meta = json.loads(str(run["meta"]))
        assert meta["interrupted"] and meta["iterations_done"] >= 3
        assert run["history.loss"].shape == (meta["iterations_done"],)
