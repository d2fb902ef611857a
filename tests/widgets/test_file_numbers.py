"""Issue 14, class 3 in the window: the largest numbers a saved session may hold are
adopted by the controls that show them (Qt's ints are 32-bit: a value beyond one raised
OverflowError in a slider or spin box), and the ones beyond are refused in one line."""

import pytest
from session_files import rewrite_meta

from lstm_viz.model.config import MAX_SEED
from lstm_viz.model.saved_session import save_session
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import MAX_ITERATION, TrainingSettings


@pytest.fixture
def training_file(tmp_path):
    run = Session()
    run.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=4))
    run.train(2, stop_at_breakpoints=False)
    path = tmp_path / "training.npz"
    save_session(path, run)
    return path


def _largest(meta):
    t = meta["training"]
    t.update(iterations_done=MAX_ITERATION, shown=MAX_ITERATION, ring=[MAX_ITERATION])
    t["settings"].update(seed=MAX_SEED, ring=10_000)
    meta["breakpoints"] = [{"spec": "nan", "enabled": True, "hits": 2**31 - 1}]
    meta["speed"] = 5000


def test_the_largest_valid_numbers_fit_the_controls(make_window, training_file, qapp):
    rewrite_meta(training_file, _largest)
    w = make_window()
    w.workbench.show_training()
    w.workbench.show_breakpoints()
    assert w.workbench.open_session_from(training_file), w.errors.messages
    qapp.processEvents()
    p = w.workbench.training_panel
    assert p.scrub.maximum() == MAX_ITERATION and p.scrub.value() == MAX_ITERATION
    assert p.seed.value() == MAX_SEED and p.ring.value() == 10_000
    assert w.workbench.breakpoints_panel.table.item(0, 2).text() == str(2**31 - 1)
    assert w.session.speed == 5000
    assert not w.errors.messages


@pytest.mark.parametrize("change", [
    lambda m: m["training"].update(iterations_done=2**31, shown=2**31, ring=[2**31]),
    lambda m: m["training"]["settings"].update(seed=2**31),
    lambda m: m.update(speed=float("nan")),
    lambda m: m["breakpoints"].append({"spec": "nan", "hits": 2**40}),
])
def test_numbers_beyond_them_are_refused_in_one_line(make_window, training_file, change):
    rewrite_meta(training_file, change)
    w = make_window()
    before = w.session.trace
    assert not w.workbench.open_session_from(training_file)
    assert "\n" not in w.errors.messages[-1] and "training.npz" in w.errors.messages[-1]
    assert w.session.trace is before
    w.errors.box.close()
