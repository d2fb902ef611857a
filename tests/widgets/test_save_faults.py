"""Atomic saves under faults: every writer the app and the CLI use, with the disk filling up
half-way through the bytes, a failed fsync or a failed rename. The file that was there is
byte-identical afterwards, no temporary file is left, and the error is one line naming it."""

import errno
import io as _io
import os

import numpy as np
import pytest

from lstm_engine import init_uniform, io, record
from lstm_engine.errors import UserError
from lstm_engine.training import History, TrainConfig, build_trainer, save_run


class Disk:
    """The faults: ``full`` lets ``room`` bytes through the temporary file's write(2), then
    refuses with ENOSPC (a short write first, as a real disk does); ``fsync`` and
    ``replace`` fail those calls."""

    def __init__(self, monkeypatch, fault: str, room: int):
        self.fault, self.room = fault, room
        self.written = 0                 # bytes that really reached the temporary file
        self.refused = 0                 # write calls refused
        disk = self
        real_fdopen, real_fsync, real_replace = os.fdopen, os.fsync, os.replace

        class FullDisk(_io.FileIO):
            def write(self, data):
                left = disk.room - disk.written
                if left <= 0:
                    disk.refused += 1
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                n = super().write(bytes(memoryview(data)[:left]))
                disk.written += n
                return n

        def fdopen(fd, mode="r", *args, **kwargs):
            if mode != "wb":
                return real_fdopen(fd, mode, *args, **kwargs)
            return _io.BufferedWriter(FullDisk(fd, "wb"))

        def fsync(fd):
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        def replace(src, dst):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))

        if fault == "full":
            monkeypatch.setattr(os, "fdopen", fdopen)
        elif fault == "fsync":
            monkeypatch.setattr(os, "fsync", fsync)
        elif fault == "replace":
            monkeypatch.setattr(os, "replace", replace)
        self.real = (real_fdopen, real_fsync, real_replace)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    params = init_uniform(3, 4, rng)
    return record(params, rng.standard_normal((6, 3)), rng.standard_normal(6), "standard")


@pytest.fixture(scope="module")
def export_window(qapp):
    from lstm_viz.model.config import default_config
    from lstm_viz.model.session import Session
    from lstm_viz.widgets.main_window import MainWindow

    w = MainWindow(Session(default_config("random", steps=6, inputs=3, hidden=4)))
    w.resize(700, 500)
    w.show()
    qapp.processEvents()
    yield w
    w.close()
    w.deleteLater()


def _session(small):
    from lstm_viz.model.session import Session

    return Session(trace=small)


def _trained_session():
    from lstm_viz.model.session import Session
    from lstm_viz.model.training_run import TrainingSettings

    s = Session()
    s.start_training(TrainingSettings(task="adding", length=10, hidden=4))
    s.train(2)
    return s


def _run(path):
    trainer, config = build_trainer(TrainConfig(task="adding", task_options={"length": 10},
                                                hidden=4, iterations=2))
    history = History()
    for it in trainer.run(2):
        history.append(it)
    save_run(path, trainer, config, history)


def _export(kind):
    def write(path, request):
        from lstm_viz.widgets.export import export_view

        w = request.getfixturevalue("export_window")
        export_view(w.views["heatmaps"], path, "Heatmaps")
    return write, kind


def _write_png(path, request):
    from lstm_viz.widgets.export import write_png

    write_png(request.getfixturevalue("export_window"), path)


def _torch_npz(path, request):
    from lstm_engine.torch_io import save_torch

    save_torch(path, request.getfixturevalue("small").params)


WRITERS = {   # name: (write(path, request), suffix)
    "params": (lambda p, r: io.save_params(p, r.getfixturevalue("small").params), "npz"),
    "trace": (lambda p, r: io.save_trace(p, r.getfixturevalue("small")), "npz"),
    "session-trace": (lambda p, r: _session(r.getfixturevalue("small")).save(p), "npz"),
    "saved-session": (lambda p, r: __import__("lstm_viz.model.saved_session", fromlist=["x"])
                      .save_session(p, _trained_session(), {"diff": True}), "npz"),
    "training-run": (lambda p, r: _run(p), "npz"),
    "torch-npz": (_torch_npz, "npz"),
    "png": _export("png"),
    "svg": _export("svg"),
    "csv": _export("csv"),
    "window-png": (_write_png, "png"),
}
FAULTS = {"disk full at once": ("full", 0), "disk full half-way": ("full", None),
          "fsync fails": ("fsync", 0), "rename fails": ("replace", 0)}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_failed_save_leaves_the_old_file_intact(writer, fault, tmp_path, monkeypatch,
                                                  request):
    write, suffix = WRITERS[writer]
    path = tmp_path / f"saved.{suffix}"
    write(path, request)                                  # the file that was there
    before = path.read_bytes()
    kind, room = FAULTS[fault]
    room = len(before) // 2 if room is None else room
    assert room < len(before)
    disk = Disk(monkeypatch, kind, room)
    with pytest.raises(UserError) as info:
        write(path, request)
    monkeypatch.undo()
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    assert {"full": "No space left", "fsync": "Input/output error",
            "replace": "Permission denied"}[kind] in message
    if kind == "full":                        # the write really stopped half-way through
        assert disk.refused >= 1 and disk.written == room
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]           # no temporary file left behind


def test_a_failed_save_of_a_new_file_leaves_nothing(small, tmp_path, monkeypatch):
    Disk(monkeypatch, "full", 100)
    with pytest.raises(UserError, match="No space left") as info:
        io.save_trace(tmp_path / "new.npz", small)
    assert "unchanged" not in str(info.value)             # there was no file to keep
    assert os.listdir(tmp_path) == []


def test_the_cli_reports_a_full_disk_in_one_line(small, tmp_path, monkeypatch, capsys):
    from lstm_engine import cli

    io.save_params(tmp_path / "p.npz", small.params)
    np.save(tmp_path / "x.npy", small.x)
    np.save(tmp_path / "y.npy", small.y)
    out = tmp_path / "out.npz"
    out.write_bytes(b"an older trace")
    Disk(monkeypatch, "full", 1000)
    code = cli.main(["record", "--params", str(tmp_path / "p.npz"), "--inputs",
                     str(tmp_path / "x.npy"), "--targets", str(tmp_path / "y.npy"),
                     "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1
    assert str(out) in err and "No space left" in err and "Traceback" not in err
    assert out.read_bytes() == b"an older trace"


# ---- in the app -----------------------------------------------------------------------------

def test_file_save_on_a_full_disk_shows_the_error_and_keeps_file_and_session(
        make_window, small, tmp_path, monkeypatch, qapp):
    from lstm_viz.model.session import Session

    path = tmp_path / "run.npz"
    io.save_trace(path, small)
    s = Session()
    s.open(path)
    w = make_window(s)
    s.goto("bwd:2:ds")
    s.train_step()                          # the shown pass now differs from the file's
    trace, cursor, before = s.trace, s.cursor, path.read_bytes()
    disk = Disk(monkeypatch, "full", len(before) // 2)
    w.actions_by_id["save"].trigger()                                   # File > Save Trace
    qapp.processEvents()
    monkeypatch.undo()
    assert disk.written == len(before) // 2 and disk.refused >= 1
    assert len(w.errors.messages) == 1
    message = w.errors.messages[0]
    assert str(path) in message and "No space left" in message and "\n" not in message
    assert w.errors.box is not None and w.errors.box.isVisible()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["run.npz"]
    assert s.trace is trace and s.cursor == cursor and s.frame_text == "bwd:2:ds"
    assert s.path == str(path)
    s.next_frame()                                                # and it keeps working
    assert s.frame_text != "bwd:2:ds"


def test_save_session_on_a_full_disk_keeps_the_old_session_file(make_window, tmp_path,
                                                                monkeypatch, qapp):
    from PySide6.QtWidgets import QFileDialog

    from lstm_viz.model.saved_session import load_session

    w = make_window()
    path = tmp_path / "work.npz"
    assert w.workbench.save_session_to(path)
    before = path.read_bytes()
    w.session.goto("loss")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    Disk(monkeypatch, "full", len(before) // 2)
    w.actions_by_id["save_session"].trigger()                           # File > Save Session…
    qapp.processEvents()
    monkeypatch.undo()
    assert str(path) in w.errors.messages[-1] and "No space left" in w.errors.messages[-1]
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["work.npz"]
    assert load_session(path)[0].frame_text == "fwd:0:xc"         # the old one, complete
    assert w.session.frame_text == "loss"
