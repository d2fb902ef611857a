"""Conditional breakpoints on constructed traces: each kind stops at the frame it must."""

import numpy as np
import pytest

from lstm_engine.errors import UserError
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES, Trace
from lstm_viz.model.breakpoints import (
    FrameBreakpoint,
    GradCheckBreakpoint,
    NonFiniteBreakpoint,
    NormBreakpoint,
    SaturationBreakpoint,
    VanishingBreakpoint,
    parse_breakpoint,
)
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings

T = 12


@pytest.fixture(scope="module")
def base():
    return Session(default_config("random", steps=T, inputs=3, hidden=5, init="uniform")).trace


def edited(trace, **changes):
    """A copy of ``trace`` with some recorded arrays changed by ``fn(array)`` in place."""
    arrays = {n: np.array(trace[n]) for n in STEP_NAMES + GRAD_NAMES}
    for name, fn in changes.items():
        fn(arrays[name])
    return Trace(trace.params, trace.x, trace.y, arrays, trace.variant, trace.loss_fn,
                 trace.loss_grads)


def session_on(trace, *specs):
    s = Session(trace=trace)
    for spec in specs:
        s.add_breakpoint(spec)
    return s


def test_every_kind_round_trips_through_its_text_form():
    specs = ["frame bwd:2:ds", "nan", "nan ds", "norm ds < 1e-06", "norm top_diff_h > 1000.0",
             "vanish ds < 0.1", "saturation f > 0.9 eps 0.01", "gradcheck > 0.001"]
    for spec in specs:
        bp = parse_breakpoint(spec)
        assert bp.spec() == spec and parse_breakpoint(bp.spec()) == bp
        again = type(bp).from_dict(bp.to_dict())
        assert again == bp and again.enabled
    assert parse_breakpoint("fwd:3") == FrameBreakpoint("fwd:3")
    assert parse_breakpoint("norm ds < 1e-6") == NormBreakpoint("ds", "<", 1e-6)
    for bad in ["", "norm zz < 1", "norm ds = 1", "saturation g > 0.5", "vanish ds < x",
                "saturation f > 2", "gradcheck > -1", "nonsense"]:
        with pytest.raises(UserError) as err:
            parse_breakpoint(bad)
        assert "\n" not in str(err.value)


def test_nan_injected_at_a_known_step_stops_there_and_counts_the_hit(base):
    def forward_nan(f):
        f[5, 2] = np.nan

    def backward_inf(ds):
        ds[2, 0] = np.inf
    s = session_on(edited(base, f=forward_nan, ds=backward_inf), "nan")
    s.continue_()
    assert s.frame_text == "fwd:5:f"
    assert s.stop.index == s.cursor and "NaN or Inf in f" in s.stop.reasons[0]
    assert s.breakpoints[0].hit_count == 1
    s.continue_()
    assert s.frame_text == "bwd:2:ds" and "ds" in s.stop.reasons[0]
    s.continue_()                                    # no more: the last frame
    assert s.cursor == s.frames.last
    s.reverse_continue()
    assert s.frame_text == "bwd:2:ds"
    assert s.breakpoints[0].hit_count == 3


def test_nan_in_one_quantity_and_in_an_accumulator(base):
    def bad_input(di_input):
        di_input[7, 1] = np.nan
    s = session_on(edited(base, di_input=bad_input), "nan wi_diff")
    s.continue_()
    assert s.frame_text == "bwd:7:wi_diff"
    s2 = session_on(edited(base, di_input=bad_input), "nan ds")
    s2.continue_()
    assert s2.cursor == s2.frames.last and s2.stop is None


def test_a_saturated_forget_gate_stops_at_its_statement(base):
    def saturate(f):
        f[3] = 0.9999
        f[8, :2] = 0.0001                            # 2 of 5 units: 40 %, not above 50 %
    s = session_on(edited(base, f=saturate), "saturation f > 0.5 eps 0.01")
    s.continue_()
    assert s.frame_text == "fwd:3:f" and "100%" in s.stop.reasons[0]
    s.continue_()
    assert s.cursor == s.frames.last
    bp = SaturationBreakpoint("f", 0.3, 0.01)
    assert list(s.breakpoint_hits(bp).values) == pytest.approx([1.0, 0.4])


def test_a_vanishing_ds_stops_at_the_step_where_it_shrinks(base):
    def shrink(ds):
        ds[4] *= 1e-9
    s = session_on(edited(base, ds=shrink), "vanish ds < 0.001")
    s.continue_()
    assert s.frame_text == "bwd:4:ds" and "vanishing" in s.stop.reasons[0]
    ratio = np.linalg.norm(s.trace.ds[4]) / np.linalg.norm(s.trace.ds[5])
    assert s.breakpoint_hits(VanishingBreakpoint(0.001)).values[0] == pytest.approx(ratio)
    norms = session_on(edited(base, ds=shrink), "norm ds < 1e-6")
    norms.continue_()
    assert norms.frame_text == "bwd:4:ds"


def test_norm_above_a_threshold_and_the_step_inputs(base):
    def blow_up(a):
        a[6] *= 1e9
    s = session_on(edited(base, top_diff_h=blow_up), "norm top_diff_h > 1000.0")
    s.continue_()
    assert s.frame_text == "bwd:6:ds"                # the step's first statement
    hits = s.breakpoint_hits(NormBreakpoint("top_diff_h", ">", 1e3))
    assert len(hits) == 1


def test_disabled_breakpoints_do_not_stop_and_play_stops_on_conditions(base):
    def saturate(o):
        o[2] = 1.0
    s = session_on(edited(base, o=saturate), "saturation o > 0.5 eps 0.01", "fwd:6")
    s.set_breakpoint_enabled("saturation o > 0.5 eps 0.01", False)
    s.continue_()
    assert s.frame_text == "fwd:6"
    s.first()
    s.set_breakpoint_enabled("saturation o > 0.5 eps 0.01", True)
    s.set_speed(500)
    s.play()
    while s.tick():
        pass
    assert s.frame_text == "fwd:2:o" and not s.playing and s.stop.frame == "fwd:2:o"
    with pytest.raises(UserError):
        s.set_breakpoint_enabled("nan", False)


def test_gradient_check_breakpoint_flags_the_wrong_backward_only():
    small = default_config("random", steps=5, inputs=2, hidden=3, init="uniform")
    wrong = Session(small.with_(variant="standard", backward="seed"))
    wrong.add_breakpoint(GradCheckBreakpoint(1e-4))
    wrong.continue_()
    assert wrong.frame_text.startswith("bwd:0:w") and "gradient check" in wrong.stop.reasons[0]
    for variant in ("seed", "standard"):
        right = Session(small.with_(variant=variant))
        right.add_breakpoint("gradcheck > 0.0001")
        right.continue_()
        assert right.cursor == right.frames.last and right.stop is None


def test_training_stops_on_the_first_iteration_where_a_condition_holds():
    settings = TrainingSettings(task="adding", length=20, hidden=8)
    ref = Session()
    ref.start_training(settings.with_(ring=40))
    ref.train(30)
    maxima = {k: np.linalg.norm(ref.training.trace_at(k).top_diff_h, axis=1).max()
              for k in ref.iterations()}
    threshold = float(0.5 * (maxima[0] + max(maxima.values())))
    first = min(k for k, v in maxima.items() if v > threshold)
    s = Session()
    s.start_training(settings)
    s.add_breakpoint(f"norm top_diff_h > {threshold!r}")
    s.add_breakpoint("fwd:0:g")                      # frame breakpoints do not stop training
    report = s.train(30)
    assert report.done == first + 1 and s.iteration == first
    assert report.stop.iteration == first and s.stop.iteration == first
    steps_over = np.flatnonzero(np.linalg.norm(s.trace.top_diff_h, axis=1) > threshold)
    assert s.frame_text == f"bwd:{steps_over.max()}:ds"   # the backward pass runs T-1 … 0
    np.testing.assert_array_equal(s.trace.top_diff_h, ref.training.trace_at(first).top_diff_h)
    assert NonFiniteBreakpoint().spec() == "nan"


def test_continue_says_when_no_breakpoint_held_on_the_way():
    from lstm_viz.model.session import Session

    s = Session()
    notes = []
    s.events.no_hit.connect(notes.append)
    s.continue_()
    assert s.cursor == s.frames.last
    assert notes == ["no breakpoint enabled — at the end of the pass"]
    s.add_breakpoint("norm ds > 1e9")
    s.reverse_continue()
    assert s.cursor == 0 and notes[-1] == "no breakpoint hit — at the start of the pass"
    s.add_breakpoint("fwd:2:o")
    s.continue_()
    assert s.frame_text == "fwd:2:o" and len(notes) == 2        # a hit: no note


@pytest.mark.parametrize("number", ["abc\x1b[31m", "nan", "-inf", "1e999", "\u202e5"])
def test_a_bad_number_is_one_quoted_line_in_breakpoints_and_interventions(number):
    """Breakpoints and interventions read numbers with the same parser: what the user
    typed (or a file held) comes back quoted, escaped, on one line."""
    from lstm_engine.interventions import Clamp
    for parse in (lambda: parse_breakpoint(f"norm ds < {number}"),
                  lambda: Clamp.parse(f"f={number}")):
        with pytest.raises(UserError) as err:
            parse()
        message = str(err.value)
        assert "number" in message and "\n" not in message and "\x1b" not in message
        assert "\u202e" not in message
