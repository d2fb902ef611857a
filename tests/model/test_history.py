"""The training history's columns (model/history.py) and how a session holds them: every
entry as appended, read-only views that stay valid, no copy per slice of training."""

import numpy as np
import pytest

from lstm_viz.model.history import History, HistoryEntry
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings

SMALL = TrainingSettings(task="adding", length=20, hidden=8)


def _filled(n, seed=0):
    """A history of n entries and, kept apart, the same numbers as plain lists."""
    rng = np.random.default_rng(seed)
    rows = [(i, float(rng.normal()), float(rng.random()), bool(rng.random() < 0.3))
            for i in range(n)]
    h = History()
    for row in rows:
        h.append(*row)
    return h, rows


@pytest.mark.parametrize("n", [0, 1, History.FIRST, History.FIRST + 1, 5 * History.FIRST + 7])
def test_the_columns_hold_every_entry_appended(n):
    h, rows = _filled(n)
    a = h.arrays()
    assert len(h) == n and all(len(a[k]) == n for k in a)
    assert a["iteration"].tolist() == [r[0] for r in rows]
    assert a["loss"].tolist() == [r[1] for r in rows]
    assert a["grad_norm"].tolist() == [r[2] for r in rows]
    assert a["clipped"].tolist() == [r[3] for r in rows]
    assert (a["iteration"].dtype, a["loss"].dtype, a["clipped"].dtype) == \
        (np.int64, np.float64, np.bool_)
    assert h.entries() == tuple(HistoryEntry(*r[:3]) for r in rows)


def test_views_handed_out_are_read_only_and_outlive_growth():
    h, rows = _filled(History.FIRST)
    before = h.arrays()
    with pytest.raises(ValueError):
        before["loss"][0] = 1.0
    for i in range(3 * History.FIRST):              # several doublings
        h.append(History.FIRST + i, -1.0, -1.0)
    assert before["loss"].tolist() == [r[1] for r in rows]
    assert h.arrays()["loss"][:History.FIRST].tolist() == [r[1] for r in rows]


def test_the_arrays_are_views_not_copies():
    """A slice's redraw takes the columns: the same memory each time, O(1)."""
    h, _ = _filled(1000)
    a, b = h.arrays(), h.arrays()
    assert all(np.shares_memory(a[k], b[k]) for k in a)


def test_indexing_is_by_entry_and_checked():
    h, rows = _filled(5)
    assert h[0] == HistoryEntry(*rows[0][:3]) and h[-1] == HistoryEntry(*rows[4][:3])
    for k in (5, -6):
        with pytest.raises(IndexError):
            h[k]


def test_from_arrays_and_of_entries_give_the_same_history():
    h, rows = _filled(300)
    again = History.from_arrays(h.arrays())
    assert again.same_as(h) and again.entries() == h.entries()
    plain = History.of(h.entries())                 # entries carry no clipped flag
    assert plain.entries() == h.entries()
    assert not plain.arrays()["clipped"].any() and not plain.same_as(h)
    no_flags = {k: v for k, v in h.arrays().items() if k != "clipped"}
    assert History.from_arrays(no_flags).same_as(plain)


def test_same_as_holds_a_nan_loss_equal_to_itself_and_sees_any_difference():
    a, b = History(), History()
    for h in (a, b):
        h.append(0, float("nan"), 1.0)
        h.append(1, 2.0, 1.0)
    assert a.same_as(b)
    b.append(2, 3.0, 1.0)
    assert not a.same_as(b)
    c = History.of([HistoryEntry(0, float("nan"), 1.0), HistoryEntry(1, 2.5, 1.0)])
    assert not a.same_as(c)


def test_a_session_holds_its_runs_history_and_says_how_long_it_is():
    s = Session()
    heard = []
    s.events.history_changed.connect(heard.append)
    s.start_training(SMALL)
    s.train(3)
    s.train(2)
    assert s.live.history is s.training.history     # held, never copied per slice
    assert heard[-2:] == [3, 5]                     # once per slice, with the count
    np.testing.assert_array_equal(s.history_arrays()["iteration"], range(5))
    before = len(heard)
    s.live.set_history(s.training.history)          # the same history again: nothing said
    assert len(heard) == before


def test_sgd_steps_without_a_run_append_to_the_sessions_own_history():
    s = Session()
    heard = []
    s.events.history_changed.connect(heard.append)
    first = s.train_step()
    second = s.train_step()
    assert s.history == (first, second) and [e.iteration for e in s.history] == [0, 1]
    assert heard == [1, 2]
    assert s.history_arrays()["loss"].tolist() == [first.loss, second.loss]


def test_opening_a_saved_training_session_keeps_its_clipped_flags(tmp_path):
    """Adopting a session read from a file takes its run's History itself: the entries
    (Session.history) carry no clipped flags, and a copy of them lost every flag."""
    from lstm_viz.model.saved_session import load_session, save_session

    s = Session()
    s.start_training(TrainingSettings(task="adding", length=20, hidden=8, clip=1e-6))
    s.train(5)
    flags = s.history_arrays()["clipped"].tolist()
    assert flags == [True] * 5                      # every gradient is over a 1e-6 norm
    save_session(tmp_path / "a.npz", s)
    loaded, _ = load_session(tmp_path / "a.npz")
    shown = Session()
    shown.adopt(loaded)
    assert shown.history_arrays()["clipped"].tolist() == flags
    assert shown.live.history is shown.training.history
    save_session(tmp_path / "b.npz", shown)         # and saved again, still there
    again, _ = load_session(tmp_path / "b.npz")
    assert again.history_arrays()["clipped"].tolist() == flags


def test_an_sgd_step_after_training_stops_leaves_the_runs_history_alone():
    s = Session()
    s.start_training(SMALL)
    s.train(5)
    run = s.training
    s.stop_training()
    s.train_step()
    assert len(run.history) == 5 and len(s.history) == 6
    assert s.history[:5] == run.history.entries()
