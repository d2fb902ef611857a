"""Frames of a stacked model (issue 13): the order of the readable driver's loops, the
layered texts and their round trips, the moves across layer boundaries both ways, and
``local_frame`` against a simulation of what each layer has run. One-layer frames keep
their texts. Each expectation is built here from the driver's loops, not from FrameModel."""

import pytest

from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.errors import UserError
from lstm_viz.model.frames import Frame, FrameModel, local_frame


def driver_order(T, L):
    """Every frame, in the order ``model_driver.run_model_stepwise`` runs the statements:
    (frame, layer) with layer None for the loss. Frames carry a layer only when L > 1."""
    named = L > 1
    out = []
    for t in range(T):
        for layer in range(L):
            out += [(Frame("fwd", t, k, layer if named else None), layer)
                    for k in FORWARD_STATEMENTS]
    out.append((Frame("loss"), None))
    for t in range(T - 1, -1, -1):
        for layer in range(L - 1, -1, -1):
            out += [(Frame("bwd", t, k, layer if named else None), layer)
                    for k in BACKWARD_STATEMENTS]
    return out


@pytest.mark.parametrize("T,L", [(1, 1), (3, 1), (1, 2), (3, 2), (2, 3), (4, 3)])
def test_frames_run_in_the_drivers_order_and_texts_round_trip(T, L):
    m = FrameModel(T, L)
    order = driver_order(T, L)
    assert len(m) == len(order) == 7 * T * L + 1 + 20 * T * L
    for i, (frame, _) in enumerate(order):
        assert m.frame(i) == frame
        text = m.text(i)
        assert m.index(text) == i and m.index(Frame.parse(text)) == i
        assert (":L" in text) == (L > 1 and frame.phase != "loss")


def test_one_layer_texts_are_exactly_todays():
    m = FrameModel(2)
    texts = [m.text(i) for i in range(len(m))]
    assert texts[:7] == ["fwd:0:xc", "fwd:0:g", "fwd:0:i", "fwd:0:f", "fwd:0:o", "fwd:0:s",
                         "fwd:0"]
    assert texts[14] == "loss" and texts[15] == "bwd:1:ds" and texts[-1] == "bwd:0"


def test_layered_texts():
    m = FrameModel(4, 2)
    assert m.text(0) == "fwd:0:L0:xc"
    assert m.text(6) == "fwd:0:L0" and m.text(7) == "fwd:0:L1:xc" and m.text(13) == "fwd:0:L1"
    assert m.text(m.backward_start) == "bwd:3:L1:ds"
    assert m.text(m.last) == "bwd:0:L0"
    assert str(Frame.parse("fwd:3:L1:h")) == "fwd:3:L1"        # the last statement
    assert Frame.parse("bwd:2:L0:ds") == Frame("bwd", 2, "ds", 0)


def test_texts_that_do_not_fit_the_run_are_one_line_errors():
    one, two = FrameModel(4), FrameModel(4, 2)
    for model, text, words in ((one, "fwd:3:L1:s", "one layer"),
                               (one, "bwd:2:L0", "one layer"),
                               (two, "fwd:3:s", "name one"),
                               (two, "bwd:1:ds", "name one"),
                               (two, "fwd:1:L2:s", "layers 0…1"),
                               (two, "fwd:4:L0", "past the last step")):
        with pytest.raises(UserError) as info:
            model.index(text)
        assert words in str(info.value) and "\n" not in str(info.value)
    for bad in ("fwd:3:Lx:s", "fwd:L1:3", "loss:L0", "fwd:3:L1:s:t"):
        with pytest.raises(UserError):
            two.index(bad)


def test_a_step_without_a_layer_is_the_end_of_the_whole_time_step():
    m = FrameModel(4, 3)
    assert m.text(m.index("fwd:2")) == "fwd:2:L2"             # the top layer's end
    assert m.text(m.index("bwd:2")) == "bwd:2:L0"             # layer 0's end, backwards
    assert m.index("loss") == m.loss_index


def _time_step(frame):
    return (frame.phase, frame.t)


def _brute(T, L):
    """The moves by their definitions in docs/frames.md, from the driver's order."""
    order = [f for f, _ in driver_order(T, L)]
    n = len(order)
    cell = [(f.phase, f.t, f.layer) for f in order]
    step = [_time_step(f) for f in order]
    ends = {i for i in range(n) if i == n - 1 or step[i + 1] != step[i]}
    cell_first = [min(j for j in range(n) if cell[j] == cell[i]) for i in range(n)]
    cell_last = [max(j for j in range(n) if cell[j] == cell[i]) for i in range(n)]
    step_first = [min(j for j in range(n) if step[j] == step[i]) for i in range(n)]
    step_last = [max(j for j in range(n) if step[j] == step[i]) for i in range(n)]
    loss = next(i for i, f in enumerate(order) if f.phase == "loss")

    def over(i):
        return min([j for j in ends if j > i], default=n - 1)

    def back_over(i):
        return max([j for j in ends if j < step_first[i]], default=0)

    def out(i):
        for j in (cell_last[i], step_last[i]):
            if j != i:
                return j
        return loss if i < loss else n - 1

    def back_out(i):
        for j in (cell_first[i], step_first[i]):
            if j != i:
                return j
        return loss if i > loss else 0

    return order, ends, over, back_over, out, back_out


@pytest.mark.parametrize("T,L", [(3, 1), (3, 2), (2, 3)])
def test_moves_across_layer_boundaries_both_ways(T, L):
    m = FrameModel(T, L)
    order, ends, over, back_over, out, back_out = _brute(T, L)
    for i in range(len(m)):
        assert m.next_step_end(i) == over(i), m.text(i)
        assert m.prev_step_end(i) == back_over(i), m.text(i)
        assert m.step_out(i) == out(i), m.text(i)
        assert m.step_back_out(i) == back_out(i), m.text(i)
        assert m.is_step_end(i) == (i in ends)


def test_step_over_goes_one_time_step_through_all_layers():
    m = FrameModel(3, 2)
    i = m.index("fwd:1:L0:s")
    assert m.text(m.next_step_end(i)) == "fwd:1:L1"           # through layer 1
    assert m.text(m.next_step_end(m.index("fwd:2:L1"))) == "loss"
    assert m.text(m.next_step_end(m.index("loss"))) == "bwd:2:L0"
    assert m.text(m.next_step_end(m.index("bwd:2:L1:do"))) == "bwd:2:L0"
    assert m.text(m.prev_step_end(m.index("bwd:1:L0:ds"))) == "bwd:2:L0"
    # step into enters layer 1's cell from layer 0's end, and the top layer's first
    # backward statement from the loss
    assert m.text(m.index("fwd:1:L0") + 1) == "fwd:1:L1:xc"
    assert m.text(m.index("loss") + 1) == "bwd:2:L1:ds"
    # step out: the cell's end, then the time step's, then the pass's
    assert m.text(m.step_out(m.index("fwd:1:L0:g"))) == "fwd:1:L0"
    assert m.text(m.step_out(m.index("fwd:1:L0"))) == "fwd:1:L1"
    assert m.text(m.step_out(m.index("fwd:1:L1"))) == "loss"
    assert m.text(m.step_back_out(m.index("bwd:1:L0:dxc"))) == "bwd:1:L0:ds"
    assert m.text(m.step_back_out(m.index("bwd:1:L0:ds"))) == "bwd:1:L1:ds"
    assert m.text(m.step_back_out(m.index("bwd:1:L1:ds"))) == "loss"


@pytest.mark.parametrize("T,L", [(1, 2), (3, 2), (3, 3)])
def test_local_frame_is_what_each_layer_has_run(T, L):
    """Run the driver's order and remember each layer's last one-layer frame; the loss is
    run by all. A layer that ran nothing yet is at its first statement."""
    first = Frame("fwd", 0, FORWARD_STATEMENTS[0])
    last = [None] * L
    m = FrameModel(T, L)
    for i, (frame, running) in enumerate(driver_order(T, L)):
        one = Frame("loss") if frame.phase == "loss" else Frame(frame.phase, frame.t, frame.stmt)
        if running is None:
            last = [one] * L
        else:
            last[running] = one
        for layer in range(L):
            want = last[layer] or first
            assert m.local_frame(m.frame(i), layer) == want, (m.text(i), layer)
            assert local_frame(m.frame(i), layer, T) == want
