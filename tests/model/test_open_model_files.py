"""A researcher's model opened from files (lstm_viz/model/model_files.py) and vocabularies
(lstm_engine/vocab.py): the pass equals the engine's recording of the chosen sequence,
every bad input is one line naming the file or option, a run file is trained again to
its end. No Qt."""

import json

import numpy as np
import pytest
from char_model import B, H, K, T, V, X, char_model

from lstm_engine import Model, init_uniform, record_model
from lstm_engine.errors import UserError
from lstm_engine.io import load_model, load_model_trace, save_model_params, save_model_trace
from lstm_engine.io import load_vocab as read_vocab
from lstm_engine.vocab import MAX_TOKEN_CHARS
from lstm_viz.model import model_files
from lstm_viz.model.model_files import (
    ModelChoice,
    final_pass,
    open_model,
    read_run_file,
    replay_settings,
    sequences_in,
)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(5)
    model = char_model()
    save_model_params(tmp_path / "p.npz", model)
    tokens = rng.integers(0, V, (B, T))
    nxt = rng.integers(0, K, (B, T))
    np.save(tmp_path / "x.npy", tokens)
    np.save(tmp_path / "y.npy", nxt)
    return tmp_path, model, tokens, nxt


def choice(d, **kw):
    return ModelChoice(str(d / "p.npz"), str(d / "x.npy"), str(d / "y.npy"), **kw)


def test_a_batch_files_sequence_is_the_engines_recording_of_that_sequence(files):
    d, model, tokens, nxt = files
    assert sequences_in(d / "p.npz", d / "x.npy") == B
    got = open_model(choice(d, sequence=2))
    want = record_model(model, tokens[2], nxt[2])
    tr = got.trace
    assert (tr.sequence, tr.batch, tr.num_layers) == (2, B, 2)
    np.testing.assert_array_equal(tr.tokens, tokens[2])
    assert tr.total_loss == pytest.approx(want.total_loss, rel=1e-13)
    for n in range(2):
        np.testing.assert_allclose(tr.layers[n].ds, want.layers[n].ds, rtol=1e-12, atol=0)
    np.testing.assert_allclose(tr.dE, want.dE, rtol=1e-12, atol=1e-15)
    assert "sequence 2 of 4" in got.note
    # the default is sequence 0
    assert open_model(choice(d)).trace.sequence == 0


def test_a_single_sequence_has_no_batch(files):
    d, model, tokens, nxt = files
    np.save(d / "x.npy", tokens[1])
    np.save(d / "y.npy", nxt[1])
    assert sequences_in(d / "p.npz", d / "x.npy") is None
    tr = open_model(choice(d)).trace
    assert tr.batch is None
    assert tr.total_loss == pytest.approx(record_model(model, tokens[1], nxt[1]).total_loss)


def test_the_loss_option_changes_the_loss_and_the_files_variant_is_used(files):
    d, _, tokens, _ = files
    np.save(d / "y.npy", np.random.default_rng(0).normal(size=(B, T)))
    tr = open_model(choice(d, loss="toy")).trace
    assert tr.loss_name == "toy" and tr.variant == "standard"
    with pytest.raises(UserError, match=r"y\.npy: float64 targets do not fit the xent loss"):
        open_model(choice(d))
    with pytest.raises(UserError, match="--loss 'hinge'"):
        open_model(choice(d, loss="hinge"))


@pytest.mark.parametrize("change, match", [
    ({"params": "missing.npz"}, r"missing\.npz: no such file"),
    ({"inputs": "missing.npy"}, r"missing\.npy: no such file"),
    ({"params": ""}, r"--params: needs a file name"),
    ({"sequence": 4}, r"--sequence 4 is out of range: .*x\.npy holds 4 sequences"),
    ({"sequence": -1}, r"--sequence -1: a sequence is a whole number"),
])
def test_bad_choices_are_one_line_naming_the_file_or_option(files, change, match):
    d, *_ = files
    c = choice(d)
    fields = {k: (str(d / v) if k in ("params", "inputs") and v else v)
              for k, v in change.items()}
    c = ModelChoice(**{**c.__dict__, **fields})
    with pytest.raises(UserError, match=match) as err:
        open_model(c)
    assert "\n" not in str(err.value)


def test_bad_arrays_are_refused_naming_the_file(files):
    d, model, tokens, nxt = files
    np.save(d / "x.npy", np.full((B, T), V))                      # ids out of range
    with pytest.raises(UserError, match=r"x\.npy: token ids must lie in \[0, 6\)"):
        open_model(choice(d))
    np.save(d / "x.npy", tokens.astype(float))                    # not token ids
    with pytest.raises(UserError, match=r"x\.npy: .*token ids"):
        open_model(choice(d))
    np.save(d / "x.npy", tokens)
    np.save(d / "y.npy", nxt[:, :3])                              # wrong shape
    with pytest.raises(UserError, match=r"y\.npy"):
        open_model(choice(d))
    np.save(d / "y.npy", np.full((B, T), K))                      # class ids out of range
    with pytest.raises(UserError, match=r"y\.npy"):
        open_model(choice(d))
    np.save(d / "y.npy", nxt)
    (d / "p.npz").write_bytes(b"PK\x03\x04 truncated")            # damaged parameters
    with pytest.raises(UserError, match=r"p\.npz"):
        open_model(choice(d))


def test_nan_in_dense_inputs_and_targets_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    cells = [init_uniform(X, H, rng, -0.5, 0.5)]
    from lstm_engine import ReadoutMSE
    m = Model(cells, "seed", ReadoutMSE(rng.normal(size=(2, H)), rng.normal(size=2), "every"))
    save_model_params(tmp_path / "p.npz", m)
    x = rng.normal(size=(T, X))
    y = rng.normal(size=(T, 2))
    x[2, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(UserError, match=r"x\.npy: contains NaN or Inf"):
        open_model(choice(tmp_path))
    x[2, 1] = 0.0
    y[0, 0] = np.inf
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(UserError, match=r"y\.npy: .*NaN or Inf"):
        open_model(choice(tmp_path))


def test_a_pass_too_big_for_memory_is_refused_before_it_is_recorded(files, monkeypatch):
    d, *_ = files
    import lstm_engine.memory as memory

    monkeypatch.setattr(memory, "memory_limit", lambda: 2000)
    calls = []
    monkeypatch.setattr(model_files, "record_model", lambda *a, **k: calls.append(a))
    with pytest.raises(UserError, match=r"recording T=5, X=3, H=4, 2 layers .*"):
        open_model(choice(d))
    assert calls == []


# ---- vocabularies -------------------------------------------------------------------------

def test_vocab_files_one_per_line_or_a_json_list(tmp_path):
    (tmp_path / "v.txt").write_text("a\nb\r\n \nd\ne\nf\n", encoding="utf-8")
    assert read_vocab(tmp_path / "v.txt", 6) == ("a", "b", " ", "d", "e", "f")
    (tmp_path / "v.json").write_text(json.dumps(["\n", "a", "é", "", "x", "y"]))
    assert read_vocab(tmp_path / "v.json", 6) == ("\n", "a", "é", "", "x", "y")


@pytest.mark.parametrize("content, match", [
    (b"a\nb\n", r"2 tokens, but the model's vocabulary has 6"),
    (b'["a", 1, "c", "d", "e", "f"]', r"token 1 is 1, not a string"),
    (b'["a", "b"', r"not valid JSON"),
    (b"a\0b\n", r"NUL bytes"),
    (b"\xff\xfe\n", r"not a UTF-8 text file"),
    (json.dumps(["x" * (MAX_TOKEN_CHARS + 1)] + ["a"] * 5).encode(), r"more than 200"),
    (b'["\\ud800", "a", "b", "c", "d", "e"]', r"lone surrogate"),
])
def test_bad_vocab_files_are_one_line(tmp_path, content, match):
    (tmp_path / "v").write_bytes(content)
    with pytest.raises(UserError, match=match) as err:
        read_vocab(tmp_path / "v", 6)
    assert str(err.value).startswith(str(tmp_path / "v"))
    assert "\n" not in str(err.value)


def test_the_vocab_option_and_the_parameters_files_vocab_label_the_pass(files):
    d, model, *_ = files
    assert open_model(choice(d)).vocab is None
    (d / "v.txt").write_text("abcdef")
    (d / "v.json").write_text(json.dumps(list("uvwxyz")))
    assert open_model(choice(d, vocab=str(d / "v.json"))).vocab == tuple("uvwxyz")
    with pytest.raises(UserError, match=r"v\.txt: 1 tokens, but .* has 6"):
        open_model(choice(d, vocab=str(d / "v.txt")))
    save_model_params(d / "p.npz", model, vocab=tuple("ABCDEF"))
    assert load_model(d / "p.npz").vocab == tuple("ABCDEF")
    got = open_model(choice(d))
    assert got.vocab == tuple("ABCDEF")
    # --vocab overrides the file's, and a trace file keeps it
    assert open_model(choice(d, vocab=str(d / "v.json"))).vocab == tuple("uvwxyz")
    save_model_trace(d / "t.npz", got.trace)
    assert load_model_trace(d / "t.npz").vocab == tuple("ABCDEF")
    with pytest.raises(UserError, match=r"5 tokens, but the model's vocabulary has 6"):
        save_model_params(d / "q.npz", model, vocab=tuple("ABCDE"))


def test_a_parameters_file_with_a_bad_vocab_entry_is_refused(files):
    d, model, *_ = files
    save_model_params(d / "p.npz", model, vocab=tuple("ABCDEF"))
    arrays = dict(np.load(d / "p.npz"))
    arrays["vocab"] = np.array(list("ABC"))
    np.savez(d / "p.npz", **arrays)
    with pytest.raises(UserError, match=r"p\.npz: 'vocab': 3 tokens, but .* has 6"):
        load_model(d / "p.npz")


# ---- run files -----------------------------------------------------------------------------

def _train(tmp_path, *args):
    from lstm_engine.cli import main

    out = tmp_path / "run.npz"
    assert main(["train", *args, "-o", str(out), "--every", "1000"]) == 0
    return out


def test_a_single_cell_task_run_is_trained_again_to_the_files_parameters(tmp_path, capsys):
    from lstm_viz.model.model_files import _same_model
    from lstm_viz.model.training_run import TrainingRun

    path = _train(tmp_path, "--task", "adding", "--length", "12", "--steps", "7")
    run = read_run_file(path)
    settings = replay_settings(run)
    assert (settings.task, settings.length) == ("adding", 12)
    training = TrainingRun(settings)
    for _ in range(7):
        assert not _same_model(training.trainer, run.model)
        training.step()
    assert _same_model(training.trainer, run.model)
    np.testing.assert_array_equal(training.history_arrays()["loss"], run.history["loss"])


def test_a_stacked_run_with_the_tasks_sizes_is_trained_again_to_its_end(tmp_path, capsys):
    from lstm_viz.model.jobs import finish
    from lstm_viz.model.model_files import _same_model, run_file_job

    path = _train(tmp_path, "--task", "copy", "--layers", "2", "--steps", "4",
                  "--task-option", "delay=3")
    run = read_run_file(path)
    settings = replay_settings(run)
    assert (settings.layers, settings.delay) == (2, 3)
    session = finish(run_file_job(path))
    assert _same_model(session.training.trainer, run.model)
    assert session.num_layers == 2 and session.iteration == 3
    assert session.iterations() == [0, 1, 2, 3]
    np.testing.assert_array_equal([e.loss for e in session.history], run.history["loss"])


def test_a_batch_run_is_its_final_model_on_the_tasks_example_with_its_history(tmp_path,
                                                                             capsys):
    from lstm_engine.tasks import make_task
    from lstm_viz.model.jobs import finish
    from lstm_viz.model.model_files import run_file_job

    path = _train(tmp_path, "--task", "copy", "--layers", "2", "--steps", "3", "--batch", "2")
    run = read_run_file(path)
    assert replay_settings(run) is None
    tr = final_pass(run)
    seq = make_task("copy", 0).sequence(0)
    want = record_model(run.model, seq.x, seq.y)
    assert tr.num_layers == 2 and tr.total_loss == pytest.approx(want.total_loss, rel=1e-13)
    session = finish(run_file_job(path))
    assert session.training is None and session.num_layers == 2
    np.testing.assert_array_equal([e.loss for e in session.history], run.history["loss"])


def test_a_file_that_is_not_a_run_is_named(files):
    d, *_ = files
    with pytest.raises(UserError, match=r"p\.npz: not a training run"):
        read_run_file(d / "p.npz")
    assert not model_files.is_run_file(d / "p.npz")


def test_configuring_a_model_from_files_records_the_whole_model_again(files):
    from lstm_engine import Model as M
    from lstm_viz.model.model_files import session_for

    d, model, tokens, nxt = files
    session = session_for(open_model(choice(d, sequence=2, vocab=None)).trace)
    assert session.config.layers == 2 and session.config.variant == "standard"
    session.goto("bwd:3:L1:ds")
    assert session.configure(session.config.with_(variant="seed"))
    tr = session.model_trace
    want = record_model(M(model.layers, "seed", model.loss, model.embedding), tokens[2],
                        nxt[2])
    assert tr.variant == "seed" and tr.num_layers == 2 and tr.sequence == 2
    assert tr.total_loss == pytest.approx(want.total_loss, rel=1e-13)
    assert session.frame_text == "bwd:3:L1:ds"


def test_the_engines_record_and_info_keep_and_name_the_vocabulary(files, capsys):
    from lstm_engine.cli import main

    d, model, *_ = files
    save_model_params(d / "p.npz", model, vocab=tuple("ABCDEF"))
    assert main(["info", str(d / "p.npz")]) == 0
    assert "a vocabulary of 6 tokens" in capsys.readouterr().out
    assert main(["record", "--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
                 "--targets", str(d / "y.npy"), "-o", str(d / "t.npz")]) == 0
    assert load_model_trace(d / "t.npz").vocab == tuple("ABCDEF")
    capsys.readouterr()
    assert main(["info", str(d / "t.npz")]) == 0
    assert "a vocabulary of 6 tokens" in capsys.readouterr().out


def test_a_saved_session_of_a_model_from_files_reopens_whole(files):
    from lstm_viz.model.model_files import session_for
    from lstm_viz.model.saved_session import load_session, save_session

    d, *_ = files
    (d / "v.json").write_text(json.dumps(list("uvwxyz")))
    s = session_for(open_model(choice(d, sequence=3, vocab=str(d / "v.json"))).trace)
    s.goto("bwd:2:L0:dg")
    s.add_breakpoint("norm ds < 1e-06")
    save_session(d / "s.npz", s)
    again, _view = load_session(d / "s.npz")
    a, b = again.model_trace, s.model_trace
    assert (a.num_layers, a.sequence, a.batch, a.vocab) == (2, 3, B, tuple("uvwxyz"))
    np.testing.assert_array_equal(a.tokens, b.tokens)
    for n in range(2):
        np.testing.assert_array_equal(a.layers[n].ds, b.layers[n].ds)
    np.testing.assert_array_equal(a.dE, b.dE)
    assert again.config == s.config and again.frame_text == "bwd:2:L0:dg"
    assert again.breakpoints == s.breakpoints


def test_a_vocab_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path,
                                                                       monkeypatch):
    import lstm_engine.vocab as vocab

    monkeypatch.setattr(vocab, "MAX_FILE_BYTES", 10)
    (tmp_path / "v.txt").write_text("a\nb\nc\nd\ne\nf\n")       # 12 bytes
    with pytest.raises(UserError, match=r"v\.txt: 12 bytes is more than"):
        read_vocab(tmp_path / "v.txt", 6)
    with pytest.raises(UserError, match=r"is a directory"):
        read_vocab(tmp_path, 6)


def test_a_task_option_the_app_does_not_train_with_is_shown_not_trained_again(tmp_path,
                                                                             capsys):
    default = read_run_file(_train(tmp_path, "--task", "sine", "--steps", "2"))
    assert replay_settings(default).task == "sine"          # noise, period: the defaults
    noisy = read_run_file(_train(tmp_path, "--task", "sine", "--steps", "2",
                                 "--task-option", "noise=0.2"))
    assert replay_settings(noisy) is None


@pytest.mark.parametrize("iterations", [
    np.array([0, 2**64 - 1, 2**64 - 2], np.uint64),   # iteration -1 once cast to int64
    np.array([0, 5, 3], np.uint64),                    # counts down: np.diff of uint wraps
    np.array([0, 1, 2**40], np.int64),                 # beyond what the app counts
])
def test_a_run_files_history_iterations_are_checked_before_any_cast(tmp_path, capsys,
                                                                     iterations):
    path = _train(tmp_path, "--task", "adding", "--length", "12", "--steps", "3")
    with np.load(path, allow_pickle=False) as f:
        arrays = dict(f)
    arrays["history.iteration"] = iterations
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(UserError, match="history.iteration"):
        read_run_file(bad)
