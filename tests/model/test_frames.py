"""The frame model: text forms, indexing and the cursor moves, without Qt."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.errors import UserError
from lstm_viz.model.frames import Frame, FrameModel, describe


@pytest.mark.parametrize("steps", [1, 2, 4, 7])
def test_every_frame_round_trips_through_index_and_text(steps):
    model = FrameModel(steps)
    assert len(model) == 7 * steps + 1 + 20 * steps
    texts = set()
    for i in range(len(model)):
        frame = model.frame(i)
        assert model.index(frame) == i
        assert Frame.parse(str(frame)) == frame
        assert model.index(str(frame)) == i
        texts.add(str(frame))
    assert len(texts) == len(model)                  # every frame has its own text
    assert str(model.frame(0)) == "fwd:0:xc"
    assert str(model.frame(model.loss_index)) == "loss"
    assert str(model.frame(len(model) - 1)) == "bwd:0"


def test_examples_of_the_text_form():
    for text in ("fwd:3", "fwd:3:s", "loss", "bwd:2", "bwd:2:ds", "bwd:0:wi_diff"):
        assert str(Frame.parse(text)) == text
    assert Frame.parse("fwd:3:h") == Frame.parse("fwd:3")         # the step frame's alias
    assert Frame.parse("bwd:2:bottom_diff_h") == Frame("bwd", 2)
    assert Frame.parse(" bwd:2:ds ") == Frame("bwd", 2, "ds")


def test_the_order_is_the_order_of_the_computation():
    model = FrameModel(3)
    got = [str(model.frame(i)) for i in range(len(model))]
    assert got[:8] == [f"fwd:0:{s}" for s in FORWARD_STATEMENTS[:-1]] + ["fwd:0", "fwd:1:xc"]
    after_loss = got[got.index("loss") + 1:]
    assert after_loss[:20] == [f"bwd:2:{s}" for s in BACKWARD_STATEMENTS[:-1]] + ["bwd:2"]
    assert after_loss[-1] == "bwd:0"


@pytest.mark.parametrize("text", ["", "fwd", "fwd:x", "fwd:-1", "bwd:1:zz", "fwd:1:ds",
                                  "loss:1", "mid:1", "fwd:1:2:3"])
def test_bad_text_is_a_one_line_user_error(text):
    with pytest.raises(UserError) as err:
        Frame.parse(text)
    assert "\n" not in str(err.value)


def test_a_step_past_the_run_is_refused():
    with pytest.raises(UserError, match="past the last step"):
        FrameModel(4).index("bwd:4:ds")


def test_describe_says_what_the_frame_computes():
    assert describe(Frame.parse("bwd:2:ds")) == "backward t=2 · ds = o*top_diff_h + top_diff_s"
    assert "tanh(s)" in describe(Frame.parse("bwd:2:ds"), "standard")
    assert describe(Frame.parse("fwd:0")).endswith("step done")
    assert "0.75" in describe(Frame("loss"), total_loss=0.7534)


@given(steps=st.integers(1, 12), data=st.data())
def test_moves_go_the_right_way_and_land_on_step_boundaries(steps, data):
    m = FrameModel(steps)
    i = data.draw(st.integers(0, len(m) - 1))
    over = m.next_step_end(i)
    assert over == m.last if i == m.last else over > i
    assert m.is_step_end(over)
    back = m.prev_step_end(i)
    assert back == 0 if m.step_bounds(i)[0] == 0 else (back < i and m.is_step_end(back))
    out = m.step_out(i)
    assert out >= i and (m.is_step_end(out))
    back_out = m.step_back_out(i)
    assert back_out <= i
    first, last = m.step_bounds(i)
    assert first <= i <= last
    assert all(m.step_bounds(j) == (first, last) for j in range(first, last + 1))
