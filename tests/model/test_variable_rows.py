"""The variables table's rows (model/variable_rows.py), without Qt: the texts against the
values themselves, and the per-frame cache against the frame and the pass it was made for."""

import numpy as np

from lstm_viz.model.config import default_config
from lstm_viz.model.frame_data import ACCUMULATORS, VARIABLES, FrameData
from lstm_viz.model.session import Session
from lstm_viz.model.variable_rows import VariableRows, variable_row


def _expected(data: FrameData, name: str, index: int) -> tuple[str, ...] | None:
    """The row's statistics written from the value itself (None: not computed yet)."""
    v = data.value(name, index)
    if v is None:
        return None
    v = np.asarray(v, np.float64)
    return (f"{v.min():.4g}", f"{v.max():.4g}", f"{np.sqrt(np.sum(v * v)):.4g}")


def test_each_row_says_what_the_value_is_at_its_frame():
    s = Session(default_config("random", steps=6, inputs=3, hidden=4))
    data = s.data
    for index in np.random.default_rng(0).integers(len(s.frames), size=25):
        index = int(index)
        frame = data.model.frame(index)
        for name in VARIABLES:
            row = variable_row(data, name, index)
            want = _expected(data, name, index)
            assert row.texts[0] == name
            if want is None:
                assert not row.known and row.texts[2] == "not yet computed"
                continue
            assert row.known and row.texts[3:6] == want, (name, frame)
            assert row.texts[2] == str(tuple(np.shape(data.value(name, index)))) or \
                row.texts[2] == "()"
            if name == "loss":
                assert row.texts[1] == "all t"
            elif name in ACCUMULATORS:
                assert row.texts[1].startswith(("Σ t≥", "none yet"))
            else:
                assert row.texts[1] == f"t={data.focus_step(frame)}"


def test_the_rows_are_made_again_for_another_frame_or_another_pass():
    s = Session(default_config("random", steps=6, inputs=3, hidden=4))
    other = Session(default_config("random", steps=6, inputs=3, hidden=4, seed=5))
    rows = VariableRows()
    h = VARIABLES.index("h")
    a = s.frames.index("bwd:2:ds")
    b = s.frames.index("bwd:4:ds")
    at_a = rows.row(s.data, a, h)
    assert rows.row(s.data, a, h) is at_a                       # kept at the same frame
    at_b = rows.row(s.data, b, h)                               # another frame
    assert at_b.texts == variable_row(s.data, "h", b).texts != at_a.texts
    in_other = rows.row(other.data, b, h)                       # another pass, same frame
    assert in_other.texts == variable_row(other.data, "h", b).texts != at_b.texts
    rows.clear()
    assert rows.row(s.data, b, h) is not at_b and rows.row(s.data, b, h).texts == at_b.texts



def test_moving_to_a_frame_names_the_shown_rows_that_read_differently():
    s = Session(default_config("random", steps=6, inputs=3, hidden=4))
    data, at = s.data, s.frames.index
    rows = VariableRows()
    shown = range(0, 9)                                  # x … loss
    first = rows.move_to(data, at("fwd:2:g"), shown)    # the table holds nothing yet
    assert [(r, before) for r, _, before in first] == [(r, None) for r in shown]
    assert all(now == variable_row(data, VARIABLES[r], at("fwd:2:g")) for r, now, _ in first)
    held = {r: now for r, now, _ in first}
    # the next statement: its row alone is new (i computed); the others are the same
    changed = rows.move_to(data, at("fwd:2:i"), shown)
    i = VARIABLES.index("i")
    assert [(r, before) for r, _, before in changed] == [(i, held[i])]
    assert changed[0][1] == variable_row(data, "i", at("fwd:2:i")) != held[i]
    assert rows.move_to(data, at("fwd:2:i"), shown) == []           # now held
    # the next step: every row known at both frames reads differently (x too)
    changed = rows.move_to(data, at("fwd:3:i"), shown)
    assert {r for r, _, _ in changed} == {VARIABLES.index(n) for n in ("x", "xc", "g", "i")}
    # lines not shown keep what they hold, and are compared with it when shown again
    x_at_3 = rows.row(data, at("fwd:3:i"), 0)
    assert [r for r, _, _ in rows.move_to(data, at("fwd:4:i"), range(2, 4))] == [2, 3]
    assert rows.move_to(data, at("fwd:4:i"), range(0, 1)) == \
        [(0, variable_row(data, "x", at("fwd:4:i")), x_at_3)]
    # another pass at the same frame: compared too
    other = Session(default_config("random", steps=6, inputs=3, hidden=4, seed=5))
    assert [r for r, _, _ in rows.move_to(other.data, at("fwd:4:i"), range(0, 1))] == [0]
