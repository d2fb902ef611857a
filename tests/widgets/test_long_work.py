"""Issue 14, class 10: a session text or a saved session can ask for any amount of work
(``lstm-viz:1 train task=adding length=1000 iteration=99999`` was 36 minutes behind a
busy cursor). The window runs it with a progress dialog whose Cancel works: the window
stays responsive, Cancel stops the work within a slice, and nothing changes."""

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog

from lstm_viz.model import saved_session, session_text
from lstm_viz.model.saved_session import save_session
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings

LONG = "lstm-viz:1 train task=adding length=1000 iteration=99999"


def _counting(job_fn, counts):
    def wrapped(*args):
        job = job_fn(*args)
        try:
            while True:
                report = next(job)
                counts.append(report)
                yield report
        except StopIteration as stop:
            return stop.value
        finally:
            job.close()
    return wrapped


def _cancel_after(window, slices, counts):
    """Press Cancel once ``slices`` progress reports came (checked from the event loop
    the progress dialog keeps running)."""
    def check():
        dialogs = window.findChildren(QProgressDialog)
        if len(counts) >= slices and dialogs:
            dialogs[0].cancel()
        else:
            QTimer.singleShot(5, check)
    QTimer.singleShot(0, check)


def test_cancel_stops_retraining_a_long_session_text(make_window, monkeypatch):
    counts = []
    monkeypatch.setattr(session_text, "session_from_text_job",
                        _counting(session_text.session_from_text_job, counts))
    w = make_window()
    before = w.session.trace
    _cancel_after(w, 3, counts)
    assert not w.workbench.open_text(LONG)
    done, total, what = counts[-1]
    assert total == 100_000 and done < 100 and "training iteration" in what
    assert w.session.trace is before and w.session.training is None
    assert "cancelled" in w.statusBar().currentMessage()
    assert QApplication.overrideCursor() is None
    assert not [d for d in w.findChildren(QProgressDialog) if d.isVisible()]


def test_cancel_stops_reopening_a_saved_ring(make_window, monkeypatch, tmp_path):
    run = Session()
    run.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=20))
    run.train(20, stop_at_breakpoints=False)
    path = tmp_path / "ring.npz"
    save_session(path, run)
    counts = []
    monkeypatch.setattr(saved_session, "load_session_job",
                        _counting(saved_session.load_session_job, counts))
    w = make_window()
    before = w.session.trace
    _cancel_after(w, 2, counts)
    assert not w.workbench.open_session_from(path)
    assert counts[-1][1] == 20 and counts[-1][0] < 20
    assert w.session.trace is before
    counts.clear()
    assert w.workbench.open_session_from(path)                 # not cancelled: it opens
    assert len(counts) == 20 and w.session.training.ring_indices() == run.training.ring_indices()


def test_lstm_viz_session_file_opens_in_the_window_with_progress(make_window, tmp_path,
                                                                  monkeypatch):
    """``lstm-viz SESSION.npz`` (the window, not --screenshot) reopens the session once
    the window is there, through the same job with progress and Cancel, then --goto."""
    from lstm_viz.widgets import app

    run = Session()
    run.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=4))
    run.train(4, stop_at_breakpoints=False)
    path = tmp_path / "s.npz"
    save_session(path, run)
    counts = []
    monkeypatch.setattr(saved_session, "load_session_job",
                        _counting(saved_session.load_session_job, counts))
    w = make_window()
    app._open_session_in(w, app.parse_args([str(path), "--goto", "bwd:3:ds"]))
    assert len(counts) == 4 and w.session.training is not None
    assert w.session.frame_text == "bwd:3:ds"
    app._open_session_in(w, app.parse_args([str(path), "--goto", "bwd:99"]))
    assert "bwd:99" in w.errors.messages[-1]
    w.errors.box.close()
