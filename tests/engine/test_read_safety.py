"""Readers check the file they opened, budget what a file expands to in total, read a file
once, and read big-endian arrays (issue 14, classes 11, 12 and 26)."""

import io as _io
import os
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstm_engine import (
    Model,
    ReadoutCrossEntropy,
    cli,
    init_uniform,
    io,
    memory,
    record,
    record_model,
    tasks,
    torch_io,
)
from lstm_engine.errors import UserError

T, X, H = 5, 3, 4


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("valid")
    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng)
    x, y = rng.standard_normal((T, X)), rng.standard_normal(T)
    io.save_params(d / "params.npz", params)
    io.save_trace(d / "trace.npz", record(params, x, y, "standard"))
    torch_io.save_torch(d / "torch.npz", params)
    model = Model([params, init_uniform(H, 2, rng)], "standard",
                  ReadoutCrossEntropy(rng.standard_normal((3, 2)), np.zeros(3)),
                  rng.standard_normal((6, X)))
    io.save_model_params(d / "model.npz", model)
    io.save_model_trace(d / "stack.npz", record_model(model, rng.integers(0, 6, (2, T)),
                                                      rng.integers(0, 3, (2, T)), sequence=1))
    np.save(d / "inputs.npy", x)
    (d / "table.csv").write_text("a,b\n1,2\n3,4\n")
    return {p.name: p.read_bytes() for p in d.iterdir()}


READERS = {
    "params.npz": io.load_params,
    "trace.npz": io.load_trace,
    "torch.npz": torch_io.load_torch,
    "model.npz": io.load_model,
    "stack.npz": io.load_model_trace,
    "inputs.npy": lambda p: io.load_npy(p),
    "table.csv": tasks.read_table,
    "table.npy": tasks.read_table,
}


def _source(name):
    return "inputs.npy" if name == "table.npy" else name


def _in_thread(fn, *args, seconds=10.0):
    """fn(*args) in a thread; (finished, result or exception)."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as err:                       # noqa: BLE001 - returned
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), box


def _release(path: Path) -> None:
    """Let a reader blocked on the FIFO at ``path`` go (open its writing end once)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


# ---- class 11: the file opened is the file checked ---------------------------------------

@pytest.mark.parametrize("name", READERS)
def test_a_fifo_swapped_in_after_the_check_is_refused_not_waited_on(tmp_path, files, name,
                                                                    monkeypatch):
    """The name is looked at (a regular file), then the file is swapped for a FIFO before
    the open: the reader refuses it at once; it never blocks on the FIFO."""
    path = tmp_path / name
    path.write_bytes(files[_source(name)])
    real_check = io.check_regular_file

    def check_then_swap(p):
        real_check(p)
        if Path(p) == path and path.exists() and not path.is_fifo():
            path.unlink()
            os.mkfifo(path)
    monkeypatch.setattr(io, "check_regular_file", check_then_swap)
    finished, box = _in_thread(READERS[name], path)
    if not finished:
        _release(path)
        pytest.fail(f"reading {name} blocked on a FIFO swapped in after the check")
    err = box.get("error")
    assert isinstance(err, UserError), box
    assert "not a regular file" in str(err) and str(path) in str(err)


@pytest.mark.parametrize("name", ["trace.npz", "stack.npz", "inputs.npy", "table.csv"])
def test_racing_swaps_between_a_file_and_a_fifo_never_hang(tmp_path, files, name):
    """A thread swaps the path between the file and a FIFO as fast as it can while the
    reader reads it 150 times: every read ends (read or refused), none blocks."""
    path = tmp_path / name
    good, fifo = tmp_path / ("good" + path.suffix), tmp_path / ("fifo" + path.suffix)
    stop = threading.Event()

    def swapper():
        while not stop.is_set():
            good.write_bytes(files[name])
            os.replace(good, path)
            if not fifo.exists():
                os.mkfifo(fifo)
            os.replace(fifo, path)

    good.write_bytes(files[name])
    os.replace(good, path)
    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    outcomes = {"read": 0, "refused": 0}
    try:
        for _ in range(150):
            finished, box = _in_thread(READERS[name], path)
            if not finished:
                stop.set()
                _release(path)
                pytest.fail(f"reading {name} blocked while a FIFO was swapped in")
            if "error" in box:
                assert isinstance(box["error"], UserError), box
                outcomes["refused"] += 1
            else:
                outcomes["read"] += 1
    finally:
        stop.set()
        thread.join(10)
    assert sum(outcomes.values()) == 150


def test_the_info_command_on_a_racing_fifo_ends_in_one_line(tmp_path, files, capsys,
                                                            monkeypatch):
    path = tmp_path / "trace.npz"
    path.write_bytes(files["trace.npz"])
    real_check = io.check_regular_file

    def check_then_swap(p):
        real_check(p)
        path.unlink()
        os.mkfifo(path)
    monkeypatch.setattr(io, "check_regular_file", check_then_swap)
    finished, box = _in_thread(cli.main, ["info", str(path)])
    if not finished:
        _release(path)
        pytest.fail("info blocked on a FIFO")
    assert box["value"] == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a regular file" in err


# ---- class 12: what a file expands to, in total --------------------------------------------

def _npy(a) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _zip(members: dict, deflate=True) -> bytes:
    buf = _io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_many_members_each_under_the_bomb_size_are_one_bomb(tmp_path, monkeypatch):
    """Forty deflated members, each below the per-member bomb size, together inflate by
    the bomb ratio: refused before any is inflated (the example, scaled down 64 times)."""
    monkeypatch.setattr(io, "BOMB_SIZE", 2**20)
    member = _npy(np.zeros((2**20 - 256) // 8))                 # just under 1 MiB
    path = tmp_path / "many.npz"
    path.write_bytes(_zip({f"a{k}.npy": member for k in range(40)}))
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    assert all(m.file_size < io.BOMB_SIZE for m in infos)         # none is a bomb alone
    ratio = sum(m.file_size for m in infos) // sum(m.compress_size for m in infos)
    assert ratio > 500                                   # zeros deflate about 1000-fold
    monkeypatch.setattr(io, "BOMB_RATIO", min(io.BOMB_RATIO, ratio - 1))
    tracemalloc.start()
    try:
        with pytest.raises(UserError, match="40 members would inflate .* zip bomb"):
            io.read_npz(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, peak                    # not one member was inflated


def test_members_that_share_their_bytes_are_refused(tmp_path):
    """Stored members whose directory entries all point at the same data (no deflate
    ratio at all): the members claim more bytes than the file holds."""
    one = _npy(np.arange(1000.0))
    path = tmp_path / "overlap.npz"
    path.write_bytes(_zip({"a.npy": one}, deflate=False))
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    end = raw.index(b"PK\x05\x06")
    entry = bytes(raw[central:end])
    copies = [entry]
    for k in range(1, 30):                       # the same entry under other names
        copies.append(entry.replace(b"a.npy", f"{chr(97 + k % 26)}{k:02d}.npy"[:5].encode()))
    eocd = bytearray(raw[end:])
    eocd[8:10] = eocd[10:12] = len(copies).to_bytes(2, "little")
    eocd[12:16] = sum(len(c) for c in copies).to_bytes(4, "little")
    path.write_bytes(bytes(raw[:central]) + b"".join(copies) + bytes(eocd))
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 30                  # zipfile itself accepts it
    with pytest.raises(UserError, match="claim more bytes than"):
        io.read_npz(path)


def test_the_total_of_all_members_is_budgeted_against_the_memory_available(tmp_path,
                                                                           monkeypatch):
    members = {f"m{k}.npy": _npy(np.zeros(2**17)) for k in range(8)}   # 8 x 1 MiB
    path = tmp_path / "t.npz"
    path.write_bytes(_zip(members, deflate=False))
    monkeypatch.setattr(memory, "MIN_LIMIT", 2**20)
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * 5 * 2**20)   # 5 MiB usable
    with pytest.raises(UserError, match="expand to 8.0 MiB, which would not fit in memory"):
        io.read_npz(path)
    assert len(io.read_npz(path, select=lambda n: n in ("m0", "m1"))) == 2   # 2 MiB fits


@pytest.mark.parametrize("name,words", [("trace.npz", "trace, variant standard"),
                                        ("stack.npz", "trace (format 2): 2 layers"),
                                        ("model.npz", "parameters (format 2)")])
def test_info_reads_each_file_once(tmp_path, files, monkeypatch, capsys, name, words):
    calls = []
    real = np.lib.format.read_array

    def counting(fp, *args, **kwargs):
        calls.append(1)
        return real(fp, *args, **kwargs)
    monkeypatch.setattr(np.lib.format, "read_array", counting)
    path = tmp_path / name
    path.write_bytes(files[name])
    with zipfile.ZipFile(path) as zf:
        members = len(zf.infolist())
    assert cli.main(["info", str(path)]) == 0
    assert words in capsys.readouterr().out
    assert len(calls) == members, (len(calls), members)


# ---- class 26: big-endian arrays ------------------------------------------------------------

def _big_endian(a: np.ndarray) -> np.ndarray:
    return a.astype(a.dtype.newbyteorder(">"))


def test_big_endian_npy_is_read_as_native_values(tmp_path):
    a = np.random.default_rng(1).standard_normal((T, X))
    np.save(tmp_path / "x.npy", _big_endian(a))
    got = io.load_npy(tmp_path / "x.npy")
    assert got.dtype == np.float64 and got.dtype.isnative
    np.testing.assert_array_equal(got, a)
    np.testing.assert_array_equal(tasks.read_table(tmp_path / "x.npy"), a)


def test_big_endian_params_and_traces_are_read(tmp_path, files):
    for name, load in (("params.npz", io.load_params), ("trace.npz", io.load_trace)):
        with zipfile.ZipFile(_io.BytesIO(files[name])) as zf:
            arrays = {m.filename: np.load(_io.BytesIO(zf.read(m))) for m in zf.infolist()}
        swapped = {k: _big_endian(v) if v.dtype.kind in "fiu" else v for k, v in arrays.items()}
        path = tmp_path / ("big-" + name)
        path.write_bytes(_zip({k: _npy(v) for k, v in swapped.items()}))
        loaded = load(path)
        params = loaded if name == "params.npz" else loaded.params
        for k, v in params.as_dict().items():
            assert v.dtype.isnative
            np.testing.assert_array_equal(v, arrays[k + ".npy"])
        if name == "trace.npz":
            np.testing.assert_array_equal(loaded.ds, arrays["ds.npy"])


def test_big_endian_files_of_whole_models_are_read(tmp_path, files):
    for name in ("model.npz", "stack.npz"):
        with zipfile.ZipFile(_io.BytesIO(files[name])) as zf:
            arrays = {m.filename[:-4]: np.load(_io.BytesIO(zf.read(m))) for m in zf.infolist()}
        swapped = {k: _big_endian(v) if v.dtype.kind in "fiu" else v for k, v in arrays.items()}
        path = tmp_path / ("big-" + name)
        path.write_bytes(_zip({k + ".npy": _npy(v) for k, v in swapped.items()}))
        if name == "model.npz":
            model = io.load_model(path).model
            np.testing.assert_array_equal(model.embedding, arrays["embedding"])
            assert model.layers[1].wg.dtype.isnative
        else:
            trace = io.load_model_trace(path)
            np.testing.assert_array_equal(trace.tokens, arrays["tokens"])
            np.testing.assert_array_equal(trace.layers[1].ds, arrays["L1.ds"])
            assert trace.dE.dtype.isnative and trace.sequence == 1


def test_the_cli_records_from_big_endian_files(tmp_path, files, capsys):
    (tmp_path / "p.npz").write_bytes(files["params.npz"])
    np.save(tmp_path / "x.npy", _big_endian(np.ones((T, X))))
    np.save(tmp_path / "y.npy", _big_endian(np.ones(T)))
    code = cli.main(["record", "--params", str(tmp_path / "p.npz"), "--inputs",
                     str(tmp_path / "x.npy"), "--targets", str(tmp_path / "y.npy"),
                     "-o", str(tmp_path / "t.npz")])
    assert code == 0, capsys.readouterr().err


def test_an_archive_handed_to_another_library_is_checked_first(tmp_path, monkeypatch):
    """check_archive_expansion, for a .pt (a zip torch.load inflates unchecked): the same
    totals as read_npz, from the descriptor open_regular gave."""
    monkeypatch.setattr(io, "BOMB_SIZE", 2**20)
    member = _npy(np.zeros((2**20 - 256) // 8))
    path = tmp_path / "model.pt"
    path.write_bytes(_zip({f"archive/data/{k}": member for k in range(40)}))
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    ratio = sum(m.file_size for m in infos) // sum(m.compress_size for m in infos)
    monkeypatch.setattr(io, "BOMB_RATIO", min(io.BOMB_RATIO, ratio - 1))
    with io.open_regular(path) as fp, pytest.raises(UserError, match="refused as a zip bomb"):
        io.check_archive_expansion(fp, path)
    monkeypatch.setattr(io, "BOMB_RATIO", 10**9)
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * 80 * 2**20)
    with io.open_regular(path) as fp:
        io.check_archive_expansion(fp, path)                # 40 MiB: fits in 80 MiB
        assert fp.tell() == 0


def _zip_with_a_broken_utf8_name(path: Path) -> Path:
    """A zip whose central directory flags a member name as UTF-8 and then holds a byte
    that is not UTF-8 (one flipped byte of a real archive)."""
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("é.npy", b"x" * 64)             # a non-ASCII name sets the UTF-8 flag
    data = bytearray(buf.getvalue())
    name = "é".encode()
    at = data.rfind(name)                               # the central directory's copy
    data[at] = 0x80
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_central_directory_is_one_line_whatever_zipfile_raises(tmp_path):
    path = _zip_with_a_broken_utf8_name(tmp_path / "broken.npz")
    with open(path, "rb") as fp, pytest.raises(UserError, match="not a valid archive"):
        io.check_archive_expansion(fp, path)
    with pytest.raises(UserError) as info:
        io.read_npz(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
