"""Saved sessions: the .npz round trip, damaged files, and the short text form."""

import json
import zipfile

import numpy as np
import pytest

from lstm_engine.errors import UserError
from lstm_engine.io import save_trace
from lstm_engine.params import PARAM_NAMES
from lstm_engine.trace import STEP_NAMES
from lstm_viz.model.config import default_config
from lstm_viz.model.saved_session import load_session, save_session
from lstm_viz.model.session import Session
from lstm_viz.model.session_text import session_from_text, state_text
from lstm_viz.model.training_run import TrainingSettings

SMALL = TrainingSettings(task="adding", length=20, hidden=8, ring=5)


@pytest.fixture
def trained():
    s = Session()
    s.start_training(SMALL)
    s.train(9)
    s.add_breakpoint("norm ds < 1e-06")
    s.add_breakpoint("saturation f > 0.9 eps 0.01")
    s.add_breakpoint("bwd:3:ds")
    s.set_breakpoint_enabled("saturation f > 0.9 eps 0.01", False)
    s.first()
    s.continue_()                                      # a hit count to keep
    s.seek_iteration(6)
    s.goto("bwd:2:di")
    s.select("ds")
    s.set_speed(25)
    return s


def test_a_training_session_round_trips_exactly(trained, tmp_path):
    path = tmp_path / "run.npz"
    save_session(path, trained, {"docks": ["training"], "diff": True})
    s, view = load_session(path)
    assert view == {"docks": ["training"], "diff": True}
    assert s.frame_text == "bwd:2:di" and s.selected == "ds" and s.speed == 25
    assert s.iteration == 6 and s.iterations() == trained.iterations()
    assert [b.to_dict() for b in s.breakpoints] == [b.to_dict() for b in trained.breakpoints]
    assert s.breakpoints[2].hit_count == 1 and not s.breakpoints[1].enabled
    assert s.history == trained.history
    for k in s.iterations():                          # the ring is recorded again, bit for bit
        for name in STEP_NAMES:
            np.testing.assert_array_equal(s.training.trace_at(k)[name],
                                          trained.training.trace_at(k)[name])
    assert s.config == trained.config
    # and training goes on exactly as it would have
    trained.train(4)
    s.train(4)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(s.training.trainer.params, name),
                                      getattr(trained.training.trainer.params, name))
    assert [e.loss for e in s.history] == [e.loss for e in trained.history]


def test_a_plain_session_with_the_wrong_backward_round_trips(tmp_path):
    cfg = default_config("random", steps=5, inputs=2, hidden=3, init="uniform")
    a = Session(cfg.with_(variant="standard", backward="seed"))
    a.goto("bwd:1:ds")
    a.add_breakpoint("nan")
    path = tmp_path / "plain.npz"
    save_session(path, a)
    b, view = load_session(path)
    assert view == {} and b.training is None and b.config == a.config
    assert b.frame_text == "bwd:1:ds" and b.breakpoints == a.breakpoints
    np.testing.assert_array_equal(b.trace.ds, a.trace.ds)
    assert b.forward_variant == "standard" and b.trace.variant == "seed"


def _rewrite_meta(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "meta.npy":
                import io as _io
                meta = json.loads(str(np.load(_io.BytesIO(data))[()]))
                change(meta)
                buf = _io.BytesIO()
                np.save(buf, np.array(json.dumps(meta)))
                data = buf.getvalue()
            zout.writestr(item, data)


def test_bad_files_give_one_line_errors(trained, tmp_path):
    good = tmp_path / "good.npz"
    save_session(good, trained)
    trace_file = tmp_path / "trace.npz"
    save_trace(trace_file, trained.trace)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    newer, bad_bp, bad_frame = (tmp_path / n for n in ("newer.npz", "bp.npz", "frame.npz"))
    _rewrite_meta(good, newer, lambda m: m.update(version=99))
    _rewrite_meta(good, bad_bp, lambda m: m["breakpoints"].append({"spec": "norm zz < 1"}))
    _rewrite_meta(good, bad_frame, lambda m: m.update(frame="bwd:999"))
    for path, words in ((trace_file, "not a saved"), (cut, "valid .npz"), (newer, "newer"),
                        (bad_bp, "zz"), (bad_frame, "past the last step"),
                        (tmp_path / "none.npz", "no such file")):
        with pytest.raises(UserError, match=words) as err:
            load_session(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(UserError):
        save_session(tmp_path / "missing" / "x.npz", trained)
    assert good.exists() and not list((tmp_path).glob(".*.tmp"))


def test_the_text_form_reopens_the_same_view(trained):
    text = state_text(trained)
    assert text.startswith("lstm-viz:1 train task=adding") and "iteration=6" in text
    assert "frame=bwd:2:di" in text and len(text) < 120
    s = session_from_text(text)
    assert s.iteration == 6 and s.frame_text == "bwd:2:di"
    np.testing.assert_array_equal(s.trace.ds, trained.trace.ds)
    plain = Session(default_config("adding", steps=30).with_(variant="standard"))
    plain.goto("bwd:4:ds")
    text = state_text(plain)
    assert text == "lstm-viz:1 task=adding variant=standard steps=30 frame=bwd:4:ds"
    again = session_from_text(text)
    assert again.config == plain.config and again.frame_text == "bwd:4:ds"
    np.testing.assert_array_equal(again.trace.h, plain.trace.h)
    for bad in ("hello", "lstm-viz:1 task=adding colour=red", "lstm-viz:1 hidden=x",
                "lstm-viz:1 task=adding frame=bwd:99"):
        with pytest.raises(UserError):
            session_from_text(bad)


def test_restore_builds_a_session_from_what_it_holds_without_recording(monkeypatch):
    import lstm_viz.model.session as session_module
    from lstm_viz.model.session import HistoryEntry

    source = Session(default_config("random", steps=5, inputs=2, hidden=3))
    monkeypatch.setattr(session_module, "record_config", _refuse_recording)
    history = [HistoryEntry(0, 1.5, 0.25), HistoryEntry(1, 1.25, 0.5)]
    s = Session.restore(source.trace, source.config, frame="bwd:2:ds",
                        breakpoints=["fwd:1", "nan", "fwd:1"], history=history,
                        selected="s", speed=60, path="run.npz")
    assert s.trace is source.trace and s.config == source.config
    assert s.frame_text == "bwd:2:ds" and s.selected == "s" and s.speed == 60
    assert [b.spec() for b in s.breakpoints] == ["frame fwd:1", "nan"]     # once each
    assert s.history == tuple(history) and s.path == "run.npz" and s.training is None
    with pytest.raises(UserError, match="fwd:9"):                      # not in this pass
        Session.restore(source.trace, breakpoints=["fwd:9"])
    with pytest.raises(UserError):
        Session.restore(source.trace, frame="bwd:7")


def test_a_training_run_is_restored_at_its_iteration_with_its_history(monkeypatch):
    import lstm_viz.model.session as session_module
    from lstm_viz.model.training_run import TrainingRun

    run = TrainingRun(SMALL)
    for _ in range(4):
        run.step()
    monkeypatch.setattr(session_module, "record_config", _refuse_recording)
    s = Session.restore(training=run, iteration=2, frame="fwd:3")
    assert s.training is run and s.iteration == 2 and s.trace is run.trace_at(2)
    assert s.config == run.run_config() and s.frame_text == "fwd:3"
    assert [e.loss for e in s.history] == list(run.history_arrays()["loss"])
    s.train(1)                                          # and it trains on
    assert s.iteration == 4 and len(s.history) == 5


def test_the_text_form_records_no_throwaway_session(monkeypatch):
    import lstm_viz.model.session as session_module

    real, calls = session_module.record_config, []

    def counted(config):
        calls.append(config.task)
        return real(config)
    monkeypatch.setattr(session_module, "record_config", counted)
    s = session_from_text("lstm-viz:1 train task=adding length=10 hidden=4 iteration=2")
    assert calls == [] and s.iteration == 2               # only the run's own passes
    s = session_from_text("lstm-viz:1 task=adding steps=12 frame=loss")
    assert calls == ["adding"] and s.frame_text == "loss"   # the run, recorded once


def _refuse_recording(config):
    raise AssertionError("a restored session records nothing")
