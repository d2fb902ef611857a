"""What the pictures say about what a statement did (issue 15, items 11, 13, 15). No Qt."""

import numpy as np
import pytest

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS
from lstm_viz.model.config import default_config, run_note
from lstm_viz.model.frame_data import computed_at, seed_branches
from lstm_viz.model.frames import Frame
from lstm_viz.model.session import Session
from lstm_viz.pictures.view_data import ViewData


@pytest.mark.parametrize("t", [3, 1])
@pytest.mark.parametrize("name", [*WEIGHT_DIFFS, *BIAS_DIFFS])
def test_a_gradient_statement_names_the_rows_it_changed(name, t):
    s = Session()
    vd = ViewData.of(s.data)
    s.goto(f"bwd:{t}:{name}")
    st = vd.params.state(s.cursor)
    after = np.array(st.arrays[name])
    before = s.data.accumulators(s.cursor - 1)[name]      # the frame before the statement
    delta = np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64))
    per_row = delta.max(axis=1) if delta.ndim == 2 else delta
    assert st.changed == name
    np.testing.assert_array_equal(st.changed_rows, np.flatnonzero(per_row > 0))
    big = int(np.argmax(per_row))
    assert f"most unit {big}: {per_row[big]:.3g}" in st.change
    rows = "entries" if name in BIAS_DIFFS else "rows"
    if t == 3 and name.startswith("w"):       # the last step: only unit 0 gets a loss share
        assert list(st.changed_rows) == [0] and f"1 of 100 {rows}" in st.change


def test_other_frames_mark_nothing():
    s = Session()
    vd = ViewData.of(s.data)
    for text in ("fwd:2:g", "loss", "bwd:3:ds", "bwd:2", "bwd:1:dxc"):
        s.goto(text)
        st = vd.params.state(s.cursor)
        assert st.changed is None and not len(st.changed_rows) and st.change == "", text


def test_the_seed_conditionals_and_the_side_that_ran():
    s = Session(default_config().with_(variant="standard", backward="seed"))  # wrong backward
    s.goto("bwd:3:do")
    src = s.data.source(s.cursor)
    ds_line = next(n for n, name in src.ran.items() if name == "ds")
    text = src.lines[ds_line]
    b = src.branches[ds_line]
    assert b.variant == "seed"                        # the backward that ran is the seed's
    assert text[b.ran[0]:b.ran[1]] == "o"
    assert text[b.skipped[0]:b.skipped[1]] == "o * (1 - np.tanh(s) ** 2)"
    s.goto("fwd:3")                                   # its forward is the standard cell
    src = s.data.source(s.cursor)
    h_line = next(n for n, name in src.ran.items() if name == "h")
    b = src.branches[h_line]
    assert b.variant == "standard" and src.lines[h_line][b.ran[0]:b.ran[1]] == "o * np.tanh(s)"
    assert len(seed_branches("def f():\n    a = 1 if seed else 2\n    b = 3\n")) == 1


def test_the_carousel_draws_the_backward_that_ran():
    wrong = Session(default_config().with_(variant="standard", backward="seed"))
    car = ViewData.of(wrong.data).carousel
    wrong.goto("fwd:3:h")
    assert car.state(wrong.cursor).tanh_on_path            # a standard forward: tanh
    wrong.goto("bwd:3:ds")
    st = car.state(wrong.cursor)
    assert st.variant == "standard" and st.backward_variant == "seed"
    assert not st.tanh_on_path                             # the seed's backward: no tanh′
    assert st.edges["h_branch"].label == "o·top_diff_h"
    right = Session(default_config().with_(variant="standard"))
    right.goto("bwd:3:ds")
    assert ViewData.of(right.data).carousel.state(right.cursor).tanh_on_path


def test_the_published_run_says_its_gate_matrices_start_equal():
    s = Session()
    p = s.trace.params
    assert np.array_equal(p.wi, p.wf) and np.array_equal(p.wf, p.wo)   # what the note says
    assert "four gate matrices start equal" in run_note(s.config)
    assert run_note(default_config("sine")) == ""


def test_the_quantity_a_frame_computed():
    assert computed_at(Frame("fwd", 0, "xc")) == "xc"
    assert computed_at(Frame("fwd", 2)) == "h"
    assert computed_at(Frame("loss")) == "loss"
    assert computed_at(Frame("bwd", 1, "wo_diff")) == "wo_diff"
    assert computed_at(Frame("bwd", 1)) == "bottom_diff_h"
