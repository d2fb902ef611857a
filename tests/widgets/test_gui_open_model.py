"""File ▸ Open Model…, a training run file opened and scrubbed along its iterations,
Configure's copy-task sizes and layers, and the command line's model and size options
(pytest-qt, offscreen)."""

import numpy as np
import pytest
from char_model import char_model

from lstm_engine.cli import main as engine_main
from lstm_engine.errors import UserError
from lstm_engine.io import save_model_params
from lstm_engine.model import record_model
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.app import build_session, parse_args


@pytest.fixture
def model_files(tmp_path):
    rng = np.random.default_rng(3)
    model = char_model()
    save_model_params(tmp_path / "p.npz", model, vocab=tuple("abcdef"))
    x, y = rng.integers(0, 6, (3, 5)), rng.integers(0, 6, (3, 5))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, model, x, y


def test_the_open_model_dialog_opens_a_two_layer_model_and_keeps_errors(qtbot, model_files):
    from PySide6.QtCore import Qt

    from lstm_viz.widgets.open_model_dialog import OpenModelDialog

    d, model, x, y = model_files
    session = Session()
    before = session.layers.shown_pass
    dialog = OpenModelDialog()
    qtbot.addWidget(dialog)
    dialog.set_files(str(d / "p.npz"), str(d / "x.npy"), str(d / "missing.npy"))
    assert dialog.sequence.isEnabled() and dialog.sequence.maximum() == 2
    assert dialog.sequences.text() == "of 3 sequences (0 … 2)"
    assert not dialog.try_open()
    assert dialog.message.text().endswith("missing.npy: no such file")
    assert dialog.message.textFormat() == Qt.TextFormat.PlainText
    assert dialog.opened is None and session.layers.shown_pass is before
    dialog.targets[0].setText(str(d / "y.npy"))
    dialog.sequence.setValue(2)
    assert dialog.try_open()
    session.runs.show_model(dialog.opened.trace)
    tr = session.model_trace
    assert session.num_layers == 2 and tr.sequence == 2 and tr.vocab == tuple("abcdef")
    assert tr.total_loss == pytest.approx(record_model(model, x[2], y[2]).total_loss, rel=1e-13)
    assert session.config.layers == 2 and session.config.task == "file"


def test_a_run_file_opens_at_its_last_iteration_and_scrubs_its_iterations(qtbot, tmp_path,
                                                                          capsys):
    from lstm_viz.widgets.main_window import MainWindow

    path = tmp_path / "run.npz"
    assert engine_main(["train", "--task", "adding", "--length", "10", "--steps", "6",
                        "-o", str(path)]) == 0
    window = MainWindow(Session(), settings=None)
    qtbot.addWidget(window)
    assert window.open_path(str(path))
    s = window.session
    assert s.iteration == 5 and s.iterations()[-1] == 5 and len(s.history) == 6
    last = s.layers.shown_pass
    assert s.seek_iteration(2)
    assert s.iteration == 2 and s.layers.shown_pass is not last
    assert s.history[2].loss == pytest.approx(float(np.sum(s.trace.loss)), rel=1e-12)


def test_configure_offers_the_copy_tasks_sizes_and_layers(qtbot):
    from lstm_viz.widgets.config_dialog import ConfigDialog

    dialog = ConfigDialog(default_config("copy"))
    qtbot.addWidget(dialog)
    assert all(w.isEnabled() for w in dialog.sizes.values())
    assert not dialog.steps.isEnabled()
    dialog.sizes["delay"].setValue(3)
    dialog.sizes["pattern"].setValue(2)
    dialog.layers.setValue(2)
    c = dialog.config()
    assert (c.delay, c.pattern, c.layers) == (3, 2, 2)
    assert dialog.steps.value() == 2 * 2 + 3                  # T follows
    assert dialog.readout.text() == "xent read-out, K=5, at every step"
    s = Session()
    s.configure(c)
    assert s.num_layers == 2 and s.model_trace.steps == 7
    assert s.model_trace.loss_name == "xent" and "logits" in s.model_trace.outputs
    dialog.task.setCurrentText("text")
    assert not any(w.isEnabled() for w in dialog.sizes.values())


def test_the_published_example_is_unchanged():
    s = Session()
    assert s.model_trace is None or s.num_layers == 1
    assert float(np.sum(s.trace.loss)) == pytest.approx(0.753483886253, rel=1e-9)


def test_random_sizes_and_model_files_on_the_command_line(model_files, tmp_path):
    s = build_session(parse_args(["--task", "random", "--length", "12", "--input-size", "5",
                                  "--hidden", "7", "--layers", "2"]))
    assert (s.model_trace.steps, s.model_trace.inputs, s.model_trace.hidden) == (12, 5, 7)
    assert s.num_layers == 2
    with pytest.raises(UserError, match="--delay: the random task has no such size"):
        build_session(parse_args(["--task", "random", "--delay", "3"]))
    d, model, x, y = model_files
    s = build_session(parse_args(["--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
                                  "--targets", str(d / "y.npy"), "--sequence", "1"]))
    assert s.model_trace.sequence == 1 and s.model_trace.vocab == tuple("abcdef")
    with pytest.raises(UserError, match="--sequence 3 is out of range"):
        build_session(parse_args(["--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
                                  "--targets", str(d / "y.npy"), "--sequence", "3"]))
    with pytest.raises(SystemExit):
        parse_args(["--params", str(d / "p.npz")])              # the three go together
    with pytest.raises(UserError, match="standard variant; --variant seed contradicts it"):
        build_session(parse_args(["--params", str(d / "p.npz"), "--inputs",
                                  str(d / "x.npy"), "--targets", str(d / "y.npy"),
                                  "--variant", "seed"]))


def test_a_random_run_with_sizes_renders_to_a_png(tmp_path):
    from lstm_viz.widgets.app import main

    out = tmp_path / "r.png"
    assert main(["--task", "random", "--length", "9", "--input-size", "4", "--hidden", "6",
                 "--goto", "bwd:3:ds", "--screenshot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_command_line_opens_a_model_from_files_in_the_window(model_files, tmp_path,
                                                                 capsys):
    from lstm_viz.widgets.app import main

    d, *_ = model_files
    out = tmp_path / "m.png"
    files = ["--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
             "--targets", str(d / "y.npy")]
    assert main([*files, "--sequence", "2", "--goto", "bwd:2:L0:ds",
                 "--screenshot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.png"
    assert main([*files, "--sequence", "7", "--screenshot", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "--sequence 7 is out of range" in err and err.count("\n") == 1
    assert not bad.exists()


def test_file_open_model_in_the_window_shows_the_pass_and_says_which(qtbot, model_files,
                                                                      monkeypatch):
    from PySide6.QtWidgets import QDialog

    from lstm_viz.widgets.main_window import MainWindow
    from lstm_viz.widgets.open_model_dialog import OpenModelDialog

    d, model, x, y = model_files

    def exec_(dialog):
        dialog.set_files(str(d / "p.npz"), str(d / "x.npy"), str(d / "y.npy"))
        dialog.sequence.setValue(1)
        return QDialog.DialogCode.Accepted if dialog.try_open() else 0
    monkeypatch.setattr(OpenModelDialog, "exec", exec_)
    window = MainWindow(Session(), settings=None)
    qtbot.addWidget(window)
    window.actions_by_id["open_model"].trigger()
    s = window.session
    assert s.num_layers == 2 and s.model_trace.sequence == 1
    assert "sequence 1 of 3" in window.statusBar().currentMessage()
    assert window.actions_by_id["open_model"].shortcut().toString() == "Ctrl+Shift+O"
    s.goto("bwd:4:L1:ds")
    assert s.frame_text == "bwd:4:L1:ds"


def test_the_training_dock_starts_from_a_stack_and_trains_every_layer(qtbot):
    from lstm_viz.widgets.main_window import MainWindow

    window = MainWindow(Session(default_config("copy", layers=2, delay=3, hidden=8)),
                        settings=None)
    qtbot.addWidget(window)
    window.show()
    window.workbench.show_training()
    panel = window.workbench.training_panel
    assert panel.layers.value() == 2 and panel.task.currentText() == "copy"
    panel.step()
    panel.step()
    s = window.session
    assert s.training.iterations_done == 2 and s.num_layers == 2
    assert s.model_trace.steps == 2 * 5 + 3
    before = s.training.trace_at(0).model.layers[1].wi
    assert not np.array_equal(s.model_trace.model.layers[1].wi, before)
    # the gradient map's change from the previous iteration is the layer in view's
    panel.gradient.diff.setChecked(True)
    name = panel.gradient.grad_name.currentText()
    want = s.trace[name] - s.training.trace_at(0).layers[s.view_layer][name]
    np.testing.assert_allclose(panel.gradient.heat.image.image, want.astype(np.float32),
                               rtol=1e-6)


def test_a_run_file_on_the_command_line_renders_its_last_iteration(tmp_path, capsys):
    from lstm_viz.widgets.app import main

    path = tmp_path / "run.npz"
    assert engine_main(["train", "--task", "sine", "--length", "8", "--layers", "2",
                        "--steps", "3", "-o", str(path)]) == 0
    s = build_session(parse_args([str(path)]))
    assert s.num_layers == 2 and s.iteration == 2 and len(s.history) == 3
    out = tmp_path / "run.png"
    assert main([str(path), "--goto", "loss", "--screenshot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
