"""Live training driven from the session, without Qt: iterations, the ring, NaN, resume."""

import numpy as np
import pytest
from nonfinite import trace_with

from lstm_engine.errors import UserError
from lstm_engine.params import PARAM_NAMES
from lstm_engine.recorder import run_stepwise
from lstm_engine.training import TrainConfig, build_trainer
from lstm_viz.model.config import trace_bytes
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingRun, TrainingSettings

SMALL = TrainingSettings(task="adding", length=20, hidden=8)


class Log:
    def __init__(self, session, *names):
        self.calls = []
        for n in names:
            getattr(session.events, n).connect(lambda *a, n=n: self.calls.append((n, a)))

    def of(self, name):
        return [a for n, a in self.calls if n == name]


def test_training_advances_one_iteration_at_a_time_and_emits_events():
    s = Session()
    log = Log(s, "iteration_changed", "history_changed", "trace_changed", "training_changed")
    s.start_training(SMALL)
    assert s.iteration == 0 and s.iterations() == [0] and s.history == ()
    assert s.config.task == "adding" and s.trace.steps == 20 and s.trace.hidden == 8
    s.goto("bwd:3:ds")
    log.calls.clear()
    report = s.train(3)
    assert report.done == 3 and s.iteration == 2 and len(s.history) == 3
    assert s.frame_text == "bwd:3:ds"                 # the frame stays as passes change
    assert log.of("iteration_changed") == [(2,)]       # one update of the views per call
    assert len(log.of("trace_changed")) == 1 and len(log.of("history_changed")) == 1
    # the engine's own trainer, run separately, gives the same losses
    trainer, _ = build_trainer(TrainConfig(task="adding", task_options={"length": 20},
                                           hidden=8))
    losses = [next(trainer).loss for _ in range(3)]
    assert [e.loss for e in s.history] == losses
    np.testing.assert_array_equal(s.history_arrays()["loss"], losses)


def test_pause_step_resume_is_the_uninterrupted_run_bit_for_bit():
    a = Session()
    a.start_training(SMALL)
    a.run_training()
    assert a.training_running
    a.train_slice(0.0)                                 # one slice: at least one iteration
    a.pause_training()
    assert a.train_slice() is None                     # paused: the timer does nothing
    a.train_step()                                     # the "one iteration" button
    done = a.training.iterations_done
    a.run_training()
    while a.training.iterations_done < 12:
        a.train(1)
    a.pause_training()
    b = Session()
    b.start_training(SMALL)
    b.train(12)
    assert done >= 2 and a.training.iterations_done == b.training.iterations_done == 12
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(a.training.trainer.params, name),
                                      getattr(b.training.trainer.params, name))
    assert [e.loss for e in a.history] == [e.loss for e in b.history]
    np.testing.assert_array_equal(a.trace.ds, b.trace.ds)


def test_the_ring_is_bounded_and_iteration_is_a_scrub_axis():
    s = Session()
    s.start_training(SMALL.with_(ring=4))
    s.train(10)
    assert s.iterations() == [6, 7, 8, 9] and s.iteration == 9
    latest = s.trace
    s.goto("fwd:5:s")
    log = Log(s, "iteration_changed", "frame_changed")
    assert s.seek_iteration(7) is True
    assert s.iteration == 7 and s.frame_text == "fwd:5:s"
    assert s.trace is s.training.trace_at(7) and s.trace is not latest
    assert s.previous_trace() is s.training.trace_at(6)
    assert s.seek_iteration(7) is False
    s.seek_iteration(0)                                # clamped to the oldest kept
    assert s.iteration == 6 and s.previous_trace() is None
    assert log.of("iteration_changed") == [(7,), (6,)]
    one = trace_bytes(20, 2, 8)
    assert s.training.memory_estimate() == 4 * one
    assert s.training.memory_estimate(100) == 100 * one
    s.set_ring_size(2)
    assert s.iterations() == [8, 9] and s.iteration == 9
    with pytest.raises(UserError):
        s.set_ring_size(0)


def test_nan_stops_training_and_keeps_the_last_good_parameters():
    s = Session()
    s.start_training(SMALL.with_(optimizer="sgd", lr=1e10))
    s.add_breakpoint("nan")
    s.run_training()
    report = s.train(100)
    assert report.problem is not None and "NaN or Inf" in report.problem
    bad = s.training.failed
    assert report.done == bad + 1 and not s.training_running
    # the shown pass is the failing one, at its first NaN; the parameters are the last good
    assert s.iteration == bad and not np.all(np.isfinite(s.trace.loss))
    assert s.stop is not None and "NaN or Inf" in s.stop.reasons[0]
    good = s.training.trace_at(bad).params
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(s.training.trainer.params, name),
                                      getattr(good, name))
    with pytest.raises(UserError, match="reset"):
        s.train(1)
    s.reset_training()
    assert s.iteration == 0 and s.training.problem is None and s.history == ()


def test_the_wrong_backward_trains_with_the_standard_forward_and_the_seed_backward():
    run = TrainingRun(SMALL.with_(variant="standard", backward="seed"))
    run.step()
    tr = run.trace_at(0)
    seq = run.trainer.task.sequence(1)
    trainer, _ = build_trainer(TrainConfig(task="adding", task_options={"length": 20},
                                           hidden=8))
    ref = run_stepwise(trainer.params, seq.x, seq.y, "seed", trainer.loss_fn,
                       forward_variant="standard")
    np.testing.assert_array_equal(tr.ds, ref.ds)
    np.testing.assert_array_equal(tr.h, ref.h)
    assert tr.variant == "seed"


def test_settings_are_checked_and_leaving_training():
    s = Session()
    for bad in (SMALL.with_(task="nope"), SMALL.with_(lr=-1.0), SMALL.with_(ring=0),
                SMALL.with_(optimizer="rmsprop"), SMALL.with_(watch="all")):
        with pytest.raises(UserError):
            s.start_training(bad)
        assert s.training is None and s.config.task == "published"
    s.start_training(SMALL.with_(watch="example"))
    s.train(2)
    np.testing.assert_array_equal(s.trace.x, s.training.trainer.task.sequence(0).x)
    s.configure(s.config.with_(task="published", hidden=100, steps=4, inputs=50,
                               init="published", lr=0.1, forget_bias=None))
    assert s.training is None and s.iteration is None


def test_iteration_text_is_the_iteration_shown_and_the_count_done():
    s = Session()
    assert s.iteration_text() == "iteration 0"
    s.train_step()
    s.train_step()
    assert s.iteration_text() == "iteration 2"
    s.start_training(SMALL)
    s.train(4)
    # four iterations done (0 … 3); the pass shown is the last one's, iteration 3: the
    # status bar said "3 / 3" where the Training panel counted "4 / 4"
    assert s.training.iterations_done == 4 and s.iteration == 3
    assert s.iteration_text() == "iteration 3 · 4 done"
    s.seek_iteration(1)
    assert s.iteration_text() == "iteration 1 · 4 done"


def test_training_settings_start_from_the_loaded_run_s_configuration():
    from lstm_viz.model.config import default_config

    published = TrainingSettings.from_config(default_config())      # T=4, H=100, seed cell
    assert (published.task, published.variant, published.hidden, published.seed,
            published.backward, published.init) == ("published", "seed", 100, 0, "", None)
    assert TrainingSettings.from_config(default_config(init="xavier")).init == "xavier"
    assert published.length is None                                  # the task fixes T
    cfg = default_config("adding", steps=30, hidden=12, seed=5, variant="standard",
                         backward="seed", forget_bias=0.0, dtype="float32")
    base = TrainingSettings(optimizer="sgd", lr=0.3, clip=1.0, watch="example", ring=7,
                            hidden=64, length=100)
    s = TrainingSettings.from_config(cfg, base)
    assert (s.task, s.length, s.variant, s.backward, s.hidden, s.seed, s.forget_bias,
            s.dtype) == ("adding", 30, "standard", "seed", 12, 5, 0.0, "float32")
    assert (s.optimizer, s.lr, s.clip, s.watch, s.ring) == ("sgd", 0.3, 1.0, "example", 7)
    assert TrainingSettings.from_config(cfg.with_(backward="standard")).backward == ""
    # a task the trainer cannot run keeps base's task and length, takes the rest
    rnd = TrainingSettings.from_config(default_config("random", hidden=9, seed=2,
                                                      variant="standard"), base)
    assert (rnd.task, rnd.length, rnd.hidden, rnd.seed, rnd.variant) == (
        "adding", 100, 9, 2, "standard")
    # the run these settings start is the loaded one: same weights, same first sequence
    s = Session(cfg)
    s.start_training(TrainingSettings.from_config(cfg))
    assert s.config.hidden == 12 and s.trace.steps == 30 and s.trace.dtype == np.float32
    np.testing.assert_array_equal(s.trace.params.wf, Session(cfg).trace.params.wf)


def test_loss_curve_and_gradient_image_are_what_the_dock_draws():
    from lstm_viz.model.training_run import gradient_image, loss_curve

    h = {"iteration": np.arange(4), "loss": np.array([2.0, 0.0, -1.0, 0.5])}
    x, y = loss_curve(h, log=False)
    assert x.dtype == y.dtype == np.float32 and list(y) == [2.0, 0.0, -1.0, 0.5]
    _, y = loss_curve(h, log=True)                    # log scale: no log of 0 or of -1
    assert y[0] == 2.0 and y[3] == 0.5 and np.isnan(y[1]) and np.isnan(y[2])
    s = Session()
    s.start_training(SMALL)
    s.train(2)
    g = gradient_image(s.trace, "wi_diff")
    m = float(np.abs(s.trace.wi_diff).max())
    assert g.max_abs == pytest.approx(m) and g.levels == pytest.approx((-m, m))
    assert g.text.startswith("wi_diff  max |·| ")
    prev = s.previous_trace()
    d = gradient_image(s.trace, "wi_diff", prev, diff=True)
    np.testing.assert_array_equal(d.image, (s.trace.wi_diff - prev.wi_diff).astype(np.float32))
    assert "(k−1)" in d.label and gradient_image(s.trace, "wi_diff", None, diff=True) is None
    same = gradient_image(s.trace, "wi_diff", s.trace, diff=True)     # no change at all
    assert same.max_abs == 0.0 and same.levels == (-1.0, 1.0)


# ---- NaN: the first bad value shown, the last good parameters kept ----------------------

@pytest.mark.parametrize("changes,frame", [
    ([("s", 3, np.inf), ("g", 4, np.nan)], "fwd:3:s"),
    ([("h", 2, np.nan), ("ds", 1, np.nan)], "fwd:2"),            # h ends the step
    ([("xc", 5, np.nan)], "fwd:5:xc"),
    ([("loss", 4, np.inf), ("ds", 3, np.nan)], "loss"),
    ([("dl_dh", 0, np.nan)], "loss"),
    ([("df", 4, np.nan), ("ds", 2, np.inf)], "bwd:4:df"),        # backward runs from T-1
    ([("top_diff_h", 3, np.nan)], "bwd:3:ds"),                   # known as step 3 begins
    ([("dxc", 1, np.inf), ("bottom_diff_h", 1, np.nan)], "bwd:1:dxc"),
    ([("wi_diff", 0, np.inf)], "bwd:0"),                          # the sums: the last frame
])
def test_the_frame_of_the_first_bad_value(changes, frame):
    from lstm_engine.training import NonFinite, first_nonfinite
    from lstm_viz.model.breakpoints import problem_frame
    from lstm_viz.model.frames import FrameModel

    trace = trace_with(changes, seed=4)
    problem = first_nonfinite(trace, iteration=3)
    model = FrameModel(trace.steps)
    assert model.text(problem_frame(model, problem)) == frame
    if problem.step is not None:
        assert not np.isfinite(np.asarray(trace[problem.array])[problem.step]).all()
    update = NonFinite(3, "update", "wo")                          # after the pass
    assert model.text(problem_frame(model, update)) == "bwd:0"


def test_a_blow_up_stops_at_its_first_bad_value_with_the_last_good_parameters():
    s = Session()
    s.start_training(SMALL.with_(optimizer="sgd", lr=1e10))
    s.goto("fwd:2:g")                                     # no breakpoint: the cursor moves
    before = None
    while True:                                           # one iteration at a time
        before = s.training.trainer.state()
        report = s.train(1)
        if report.problem is not None:
            break
        assert s.frame_text == "fwd:2:g"                  # a good iteration keeps the cursor
    run = s.training
    bad = run.failed
    p = run.trainer.problem
    assert (p.iteration, p.phase, p.array, p.step) == (bad, "loss", "loss", 19)
    # the failing pass is shown, at the frame of its first bad value
    assert s.iteration == bad and s.trace is run.trace_at(bad)
    assert s.frame_text == "loss" and not np.isfinite(s.trace.loss[19])
    assert s.stop.iteration == bad and s.stop.frame == "loss"
    assert s.stop.text() == (f"stopped at iteration {bad}, loss: first NaN or Inf in loss, "
                             "in the loss at step 19")
    # the parameters are those from before the bad iteration, bit for bit
    assert run.trainer.iteration == before.iteration == bad
    for name in PARAM_NAMES:
        assert getattr(run.trainer.params, name).tobytes() == \
            getattr(before.params, name).tobytes()
    for k, v in before.loss_params.items():
        assert run.trainer.state().loss_params[k].tobytes() == v.tobytes()
    assert [e.iteration for e in s.history] == list(range(bad))   # no NaN in the history
    # reset: a fresh run from iteration 0 that trains again
    s.reset_training()
    assert s.training is not run and s.training.problem is None and s.stop is None
    s.train(3)
    assert s.training.iterations_done == 3


def test_a_forward_nan_shows_the_forward_step(monkeypatch):
    from lstm_engine.trace import GRAD_NAMES, STEP_NAMES, Trace

    s = Session()
    s.start_training(SMALL)
    s.train(2)
    trainer = s.training.trainer
    real = trainer._record

    def overflowing(params, loss, index):           # the pass where s overflows at step 3
        tr = real(params, loss, index)
        arrays = {n: np.array(tr[n]) for n in STEP_NAMES + GRAD_NAMES}
        arrays["s"][3, 1] = np.inf
        return Trace(tr.params, tr.x, tr.y, arrays, tr.variant, tr.loss_fn)

    monkeypatch.setattr(trainer, "_record", overflowing)
    good = trainer.state()
    s.goto("bwd:5")
    report = s.train(5)
    assert report.done == 1
    assert report.problem == "iteration 2: first NaN or Inf in s, in the forward pass at step 3"
    assert s.frame_text == "fwd:3:s" and s.iteration == 2 and np.isinf(s.trace.s[3, 1])
    assert "in the forward pass at step 3" in s.stop.text()
    assert trainer.params.wg.tobytes() == good.params.wg.tobytes()


@pytest.mark.parametrize("changes, words", [
    (dict(task="sine", hidden=4096, length=100_000), "T=100000, H=4096"),
    (dict(task="adding", hidden=2048, length=20_000, ring=256), "256 passes kept"),
])
def test_training_too_big_for_memory_is_refused_before_anything_is_built(
        changes, words, monkeypatch):
    import tracemalloc

    from lstm_viz.model import training_run

    def forbidden(*_, **__):
        raise AssertionError("built a trainer for settings that do not fit")
    monkeypatch.setattr(training_run, "build_trainer", forbidden)
    monkeypatch.setattr(training_run, "memory_limit", lambda: 8 * 2**30)
    s = Session()
    tracemalloc.start()
    try:
        too_big = r"needs about [0-9.]+ [GT]iB, more than the 8.0 GiB"
        with pytest.raises(UserError, match=too_big) as info:
            s.start_training(SMALL.with_(**changes))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in str(info.value) and "\n" not in str(info.value)
    assert peak < 8 * 2**20 and s.training is None


@pytest.mark.parametrize("bad", [dict(hidden=0), dict(hidden=10**6), dict(length=-3),
                                 dict(hidden=2.5), dict(dtype="float16")])
def test_training_sizes_and_dtype_are_checked(bad):
    with pytest.raises(UserError):
        TrainingRun(SMALL.with_(**bad))
