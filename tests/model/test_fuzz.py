"""Hostile files, every reader: each one is refused with a one-line UserError naming the
file, or it reads a valid object. Never another exception, never a hang, never a large
allocation. Hypothesis derives hostile variants from valid files (truncation, byte flips,
random bytes, .npz members swapped for pickles, odd dtypes and shapes, huge declared
sizes, NaN/Inf, bad ``meta``); derandomized by the default Hypothesis profile
(tests/conftest.py), so a CI run is reproducible."""

import io as _io
import json
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_engine import init_uniform, io, record, tasks, torch_io
from lstm_engine.errors import UserError
from lstm_engine.params import Params
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES, Trace

T, X, H = 5, 3, 4


def _fuzz(n):
    """n examples under the default profile, which gives a test 100 (tests/conftest.py: it
    is derandomized and allows these tests' slow, large draws; a test with no ``_fuzz`` runs
    100); other profiles scale n as they scale their own count."""
    return settings(max_examples=max(1, n * settings.default.max_examples // 100))


# ---- the valid files every hostile variant starts from -----------------------------------

def _npy_bytes(a, allow_pickle=False) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(_io.BytesIO(raw)) as zf:
        return {m.filename: zf.read(m) for m in zf.infolist()}


def _zip(members: dict[str, bytes], deflate: bool = False) -> bytes:
    buf = _io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


VALID: dict[str, bytes] = {}           # file name -> bytes, filled once per module


def write_valid_files(d: Path) -> None:
    """One valid file of every kind the tool reads, in folder ``d``; their bytes in VALID."""
    from lstm_viz.model.config import default_config
    from lstm_viz.model.saved_session import save_session
    from lstm_viz.model.session import Session
    from lstm_viz.model.training_run import TrainingSettings

    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng)
    x, y = rng.standard_normal((T, X)), rng.standard_normal(T)
    io.save_params(d / "params.npz", params)
    io.save_trace(d / "trace.npz", record(params, x, y, "standard"))
    plain = Session(default_config("random", steps=T, inputs=X, hidden=H, init="uniform"))
    plain.goto("bwd:1:ds")
    plain.add_breakpoint("norm ds < 1e-06")
    save_session(d / "session.npz", plain, {"docks": ["training"]})
    trained = Session()
    trained.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=2))
    trained.train(3, stop_at_breakpoints=False)
    save_session(d / "training.npz", trained)
    torch_io.save_torch(d / "torch.npz", params)
    if torch_io.torch_available():
        torch_io.save_torch(d / "torch.pt", params)
    np.save(d / "inputs.npy", x)
    np.save(d / "targets.npy", y)
    (d / "table.csv").write_text("a,b,c,target\n" + "".join(
        ",".join(f"{v:.6g}" for v in row) + "\n" for row in np.column_stack([x, y])))
    VALID.update({p.name: p.read_bytes() for p in d.iterdir()})


@pytest.fixture(scope="module", autouse=True)
def _valid_files(tmp_path_factory):
    write_valid_files(tmp_path_factory.mktemp("valid"))


# ---- the readers and what a valid result of each looks like ------------------------------

def _check_params(p):
    assert isinstance(p, Params)
    for a in p.as_dict().values():
        assert a.dtype in (np.float32, np.float64) and np.all(np.isfinite(a))
    Params(**p.as_dict())                                  # consistent shapes


def _check_trace(tr):
    assert isinstance(tr, Trace)
    _check_params(tr.params)
    assert tr.x.shape == (tr.steps, tr.inputs) and np.all(np.isfinite(tr.x))
    for name in STEP_NAMES:
        assert tr[name].shape[0] == tr.steps and tr[name].dtype == tr.dtype
    for name in GRAD_NAMES:
        assert tr[name].shape == getattr(tr.params, name[:-5]).shape


def _check_session(result):
    session, view = result
    _check_trace(session.trace)
    assert isinstance(view, dict)
    assert 0 <= session.cursor < len(session.frames)
    assert isinstance(session.frame_text, str)


def _check_table(a):
    assert a.ndim == 2 and a.dtype == np.float64 and a.size and np.all(np.isfinite(a))


def _check_npy(a):
    assert isinstance(a, np.ndarray) and a.dtype.kind in "fiu"


def _load_session(path):
    from lstm_viz.model.saved_session import load_session
    return load_session(path)


def _is_saved_session(path):
    from lstm_viz.model.saved_session import is_saved_session
    return is_saved_session(path)


@dataclass(frozen=True)
class Reader:
    name: str
    source: str                 # the valid file it is fuzzed from (a key of ``valid``)
    load: object
    check: object

    @property
    def suffix(self) -> str:
        return Path(self.source).suffix


READERS = {r.name: r for r in (
    Reader("params", "params.npz", io.load_params, _check_params),
    Reader("trace", "trace.npz", io.load_trace, _check_trace),
    Reader("session", "session.npz", _load_session, _check_session),
    Reader("training session", "training.npz", _load_session, _check_session),
    Reader("csv table", "table.csv", tasks.read_table, _check_table),
    Reader("npy table", "inputs.npy", tasks.read_table, _check_table),
    Reader("npy inputs", "inputs.npy", lambda p: io.load_npy(p, kinds="fiu"), _check_npy),
    Reader("npy targets", "targets.npy", lambda p: io.load_npy(p, kinds="fiu"), _check_npy),
    Reader("torch npz", "torch.npz", torch_io.load_torch, _check_params),
    *([Reader("torch pt", "torch.pt", torch_io.load_torch, _check_params)]
      if torch_io.torch_available() else []),
)}
NPZ_READERS = [n for n, r in READERS.items() if r.suffix == ".npz"]


def refused_or_valid(reader: Reader, path: Path) -> bool:
    """The property: a one-line UserError naming ``path`` (returns False), or a valid
    object (returns True). Any other exception fails the test."""
    try:
        result = reader.load(path)
    except UserError as err:
        message = str(err)
        assert "\n" not in message and "\r" not in message, message
        assert str(path) in message, message
        assert len(message) < 1000, message
        return False
    reader.check(result)
    return True


def _write(tmp_path: Path, reader: Reader, raw: bytes) -> Path:
    path = tmp_path / f"hostile{reader.suffix}"
    path.write_bytes(raw)
    return path


# ---- strategies: hostile .npy members, hostile meta ---------------------------------------

DTYPES = ["complex128", "complex64", "<U3", "S3", "bool", "int64", "uint8", "float16",
          "float32", "float64", ">f8", "M8[s]", "m8[s]", "V8", [("a", "<f8")], "<U0"]


def _header_only(shape, descr="<f8", version=(1, 0), tail=b"\0" * 16) -> bytes:
    buf = _io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buf, header)
    else:
        np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue() + tail


shapes = st.lists(st.integers(0, 6), max_size=3).map(tuple)
values = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def hostile_npy(draw) -> bytes:
    kind = draw(st.sampled_from(["pickle", "dtype", "shape", "huge", "version", "fortran",
                                 "nan", "garbage", "cut"]))
    if kind == "pickle":
        return _npy_bytes(np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    if kind == "dtype":
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        return _npy_bytes(np.zeros(draw(shapes), dtype=dtype))
    if kind == "shape":
        shape = draw(shapes)
        return _npy_bytes(np.array(draw(st.lists(values, min_size=int(np.prod(shape)),
                                                 max_size=int(np.prod(shape))))).reshape(shape))
    if kind == "huge":
        dims = draw(st.lists(st.integers(1, 10**20), min_size=1, max_size=4))
        version = draw(st.sampled_from([(1, 0), (2, 0)]))
        return _header_only(tuple(dims), draw(st.sampled_from(["<f8", "<f4", "<i8", "|b1"])),
                            version)
    if kind == "version":
        major = draw(st.sampled_from([0, 3, 4, 255]))
        return b"\x93NUMPY" + bytes([major, 0]) + b"\x10\x00{'descr': '<f8'}\n"
    if kind == "fortran":
        shape = draw(shapes)
        return _npy_bytes(np.asfortranarray(np.ones(shape)))
    if kind == "nan":
        a = np.ones(draw(st.sampled_from([(H,), (H, X + H), (T,), (T, X), (4 * H, X)])))
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf,
                                                                         -np.inf]))
        return _npy_bytes(a)
    if kind == "garbage":
        return draw(st.binary(max_size=200))
    good = _npy_bytes(np.ones((H, X + H)))
    return good[:draw(st.integers(0, len(good) - 1))]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | values | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8)


def hostile_meta(draw, meta: dict) -> bytes:
    """A ``meta`` member: not JSON, not an object, a future version, deeply nested, a key
    (or a key inside a nested object) set to any JSON value, or not a string at all."""
    kind = draw(st.sampled_from(["text", "not object", "version", "nested", "mutate",
                                 "mutate", "mutate", "drop", "dtype"]))
    if kind == "text":
        text = draw(st.text(max_size=40))
    elif kind == "not object":
        text = json.dumps(draw(st.lists(json_values, max_size=2) | st.integers() | st.text()))
    elif kind == "version":
        v = draw(st.integers(2, 2**70) | st.sampled_from([0, -1, "1", 1.5, True, None]))
        text = json.dumps({**meta, "version": v})
    elif kind == "nested":
        depth = draw(st.integers(1000, 200_000))
        text = draw(st.sampled_from(["[", '{"a":', '{"format":'])) * depth
    elif kind in ("mutate", "drop"):
        changed = json.loads(json.dumps(meta))
        node = changed
        key = draw(st.sampled_from(sorted(node)))
        while isinstance(node[key], dict) and node[key] and draw(st.booleans()):
            node = node[key]
            key = draw(st.sampled_from(sorted(node)))
        if kind == "drop":
            del node[key]
        else:
            node[key] = draw(json_values)
        text = json.dumps(changed)
    else:
        return _npy_bytes(draw(st.sampled_from([np.array(b"{}"), np.array(1.0),
                                                np.array(["{}", "{}"])])))
    return _npy_bytes(np.array(text))


def _meta_of(members: dict[str, bytes]) -> dict | None:
    if "meta.npy" not in members:
        return None
    return json.loads(str(np.load(_io.BytesIO(members["meta.npy"]))[()]))


def hostile_archive(draw, raw: bytes) -> bytes:
    """The valid archive with one or two members replaced, dropped or added (``draw`` is
    ``data.draw``: each choice is drawn, and reported, on its own)."""
    members = _members(raw)
    meta = _meta_of(members)
    for _ in range(draw(st.integers(1, 2))):
        names = sorted(members)
        action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add", "meta"]
                                      if meta is not None else ["replace", "drop", "add"]))
        if action == "meta":
            members["meta.npy"] = hostile_meta(draw, meta)
        elif action == "replace":
            members[draw(st.sampled_from(names))] = draw(hostile_npy())
        elif action == "drop" and len(members) > 1:
            del members[draw(st.sampled_from(names))]
        elif action == "add":
            name = draw(st.sampled_from(["extra.npy", "notes.txt", "sub/", "meta", "wg.npy",
                                         "loss.wy.npy", "history.loss.npy"]))
            members[name] = draw(hostile_npy())
    return _zip(members, deflate=draw(st.booleans()))


# ---- the properties -------------------------------------------------------------------------

@pytest.mark.parametrize("name", READERS)
def test_the_valid_files_are_read(tmp_path, name):
    reader = READERS[name]
    assert refused_or_valid(reader, _write(tmp_path, reader, VALID[reader.source]))


@pytest.mark.parametrize("name", READERS)
@given(data=st.data())
def test_truncated_files(tmp_path, name, data):
    reader = READERS[name]
    raw = VALID[reader.source]
    cut = data.draw(st.integers(0, len(raw) - 1))
    path = _write(tmp_path, reader, raw[:cut])
    read = refused_or_valid(reader, path)
    assert not read or reader.suffix == ".csv"             # a cut between rows is a table


@pytest.mark.parametrize("name", READERS)
@given(data=st.data())
def test_flipped_bytes(tmp_path, name, data):
    reader = READERS[name]
    raw = bytearray(VALID[reader.source])
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    refused_or_valid(reader, _write(tmp_path, reader, bytes(raw)))


@pytest.mark.parametrize("name", READERS)
@_fuzz(50)
@given(blob=st.binary(max_size=600) | st.just(b"PK\x05\x06" + b"\0" * 18))
def test_random_bytes(tmp_path, name, blob):
    refused_or_valid(READERS[name], _write(tmp_path, READERS[name], blob))


@pytest.mark.parametrize("name", NPZ_READERS)
@_fuzz(200)
@given(data=st.data())
def test_hostile_archive_members(tmp_path, name, data):
    reader = READERS[name]
    raw = hostile_archive(data.draw, VALID[reader.source])
    refused_or_valid(reader, _write(tmp_path, reader, raw))


@pytest.mark.parametrize("name", ["npy table", "npy inputs", "npy targets"])
@_fuzz(120)
@given(raw=hostile_npy())
def test_hostile_npy_files(tmp_path, name, raw):
    refused_or_valid(READERS[name], _write(tmp_path, READERS[name], raw))


CELLS = ["1", "-2.5", "1e3", " 4 ", "", " ", "nan", "inf", "-inf", "1e400", "x", "0x10",
         "1_000", '"3"', "\t", "\x00", "é", "1;2", "--1", "+.5", "NaN"]


@_fuzz(250)
@given(rows=st.lists(st.lists(st.sampled_from(CELLS), min_size=1, max_size=4), max_size=6),
       ending=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_hostile_csv_tables(tmp_path, rows, ending, bom):
    text = ending.join(",".join(r) for r in rows)
    path = tmp_path / "hostile.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    refused_or_valid(READERS["csv table"], path)


def test_a_csv_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"1,2\n\xe9,3\n")
    assert not refused_or_valid(READERS["csv table"], path)
    with pytest.raises(UserError, match="not a UTF-8 text file"):
        tasks.read_table(path)


@pytest.mark.parametrize("name", NPZ_READERS)
def test_is_saved_session_answers_false_for_any_hostile_file(tmp_path, name):
    """Opening a file first asks whether it is a saved session: that must never raise."""
    from lstm_viz.model.saved_session import is_saved_session
    reader = READERS[name]
    members = _members(VALID[reader.source])
    for meta in ("[1, 2]", "{not json", "[" * 100_000, '"text"', "null"):
        path = _write(tmp_path, reader, _zip({**members, "meta.npy": _npy_bytes(np.array(meta))}))
        assert is_saved_session(path) is False
    assert is_saved_session(tmp_path) is False
    assert is_saved_session(tmp_path / "missing.npz") is False


# ---- not a regular file -----------------------------------------------------------------------

def _call_with_timeout(fn, path, seconds=10.0):
    """fn(path) in a thread; a reader that blocks on a FIFO is released and reported."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn(path)
        except BaseException as err:                       # noqa: BLE001 - inspected below
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():                                  # opened the FIFO: release it
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(seconds)
        pytest.fail(f"reading {path} blocked (it opened a FIFO)")
    return outcome


@pytest.mark.parametrize("name", READERS)
@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "missing", "dangling link"])
def test_not_a_regular_file(tmp_path, name, kind):
    reader = READERS[name]
    path = tmp_path / f"thing{reader.suffix}"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if not os.path.exists("/dev/null"):
            pytest.skip("no /dev/null")
        path.symlink_to("/dev/null")
    elif kind == "dangling link":
        path.symlink_to(tmp_path / "nowhere")
    outcome = _call_with_timeout(reader.load, path)
    err = outcome.get("error")
    assert isinstance(err, UserError), outcome
    message = str(err)
    assert "\n" not in message and str(path) in message
    words = {"directory": "is a directory", "fifo": "not a regular file",
             "device": "not a regular file", "missing": "no such file",
             "dangling link": "no such file"}[kind]
    assert words in message, message


# ---- what the fuzzing found (each of these failed before its fix) ----------------------------

def _session_with(tmp_path, source, meta_change=None, members_change=None) -> Path:
    members = _members(VALID[source])
    if meta_change is not None:
        meta = _meta_of(members)
        meta_change(meta)
        members["meta.npy"] = _npy_bytes(np.array(json.dumps(meta)))
    if members_change is not None:
        members_change(members)
    path = tmp_path / "changed.npz"
    path.write_bytes(_zip(members))
    return path


def _refused(load, path, words) -> str:
    with pytest.raises(UserError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and words in message, message
    return message


def test_a_damaged_zip_entry_gives_a_short_message(tmp_path):
    # A local header whose name length is too large: zipfile quotes the "name" it read,
    # a kilobyte of array bytes, in its message.
    raw = bytearray(VALID["trace.npz"])
    header = raw.index(b"PK\x03\x04", 10)                # the second member's local header
    raw[header + 26:header + 28] = (1000).to_bytes(2, "little")
    path = _write(tmp_path, READERS["trace"], bytes(raw))
    message = _refused(io.load_trace, path, "not a valid .npz archive")
    assert len(message) < len(str(path)) + 300, message


def test_a_session_meta_nested_too_deep_is_not_json(tmp_path):
    path = _session_with(tmp_path, "session.npz",
                         members_change=lambda m: m.update(
                             {"meta.npy": _npy_bytes(np.array("[" * 100_000))}))
    _refused(_load_session, path, "not valid JSON")


@pytest.mark.parametrize("source", ["session.npz", "training.npz"])
@pytest.mark.parametrize("change", [
    lambda m: m.update({"history.iteration.npy": _npy_bytes(np.array(3))}),
    lambda m: m.update({"history.loss.npy": _npy_bytes(np.zeros(9))}),
    lambda m: m.update({"history.grad_norm.npy": _npy_bytes(np.array(["a", "b", "c"]))}),
    lambda m: m.pop("history.iteration.npy"),
])
def test_a_damaged_history_is_refused(tmp_path, source, change):
    members = _members(VALID[source])
    if "history.iteration.npy" not in members or len(np.load(_io.BytesIO(
            members["history.iteration.npy"]))) == 0:
        members["history.iteration.npy"] = _npy_bytes(np.arange(3))
        members["history.loss.npy"] = _npy_bytes(np.ones(3))
        members["history.grad_norm.npy"] = _npy_bytes(np.ones(3))
    change(members)
    path = tmp_path / "h.npz"
    path.write_bytes(_zip(members))
    _refused(_load_session, path, "history")


@pytest.mark.parametrize("change,words", [
    (lambda m: m["config"].update(variant=-9e89), "bad config"),
    (lambda m: m["config"].update(hidden=10**9), "bad config"),
    (lambda m: m["config"].update(steps="5"), "bad config"),
    (lambda m: m["config"].update(hidden=5), "does not match the saved pass"),
])
def test_a_saved_config_is_checked_like_a_typed_one(tmp_path, change, words):
    _refused(_load_session, _session_with(tmp_path, "session.npz", change), words)


def _no_training_run(*args, **kwargs):
    raise AssertionError("a TrainingRun was built from settings that should be refused")


@pytest.mark.parametrize("change,words", [
    (lambda m: m["training"]["settings"].update(variant=-9e89), "bad training settings"),
    (lambda m: m["training"]["settings"].update(hidden=10**9), "hidden size"),
    (lambda m: m["training"]["settings"].update(hidden=5), "H=5"),
    (lambda m: m["training"]["settings"].update(dtype="complex128"), "dtype"),
    (lambda m: m["training"]["settings"].update(length=10**9), "sequence length"),
    (lambda m: m["training"]["settings"].update(length=10**6, ring=10_000), "needs about"),
    (lambda m: m["training"].update(ring=[-1, m["training"]["shown"]]), "iteration numbers"),
    (lambda m: m["training"].update(ring=[m["training"]["shown"]] * 2), "iteration numbers"),
])
def test_training_settings_are_refused_before_a_run_is_built(tmp_path, monkeypatch,
                                                             change, words):
    import lstm_viz.model.saved_session as saved
    monkeypatch.setattr(saved, "TrainingRun", _no_training_run)
    _refused(_load_session, _session_with(tmp_path, "training.npz", change), words)


def test_a_ring_pass_that_does_not_fit_the_run_is_refused(tmp_path):
    def other_head(members):
        ring = [n for n in members if n.startswith("ring.") and n.endswith("loss.by.npy")]
        members[ring[0]] = _npy_bytes(np.zeros(4))
    path = _session_with(tmp_path, "training.npz", members_change=other_head)
    _refused(_load_session, path, "ring pass")


def test_a_directory_named_csv_is_a_directory(tmp_path):
    (tmp_path / "d.csv").mkdir()
    _refused(tasks.read_table, tmp_path / "d.csv", "is a directory")


# ---- the command line: exit code 2 and one line, for a hostile file in any slot ------------

def _hostile_variants(source: str) -> dict[str, bytes]:
    """Fixed hostile versions of a valid file, by what is wrong with them."""
    raw = VALID[source]
    out = {"truncated": raw[: len(raw) // 2], "garbage": b"PK\x03\x04 not a zip \x00\xff"}
    huge = _header_only((10**6, 10**6))
    if source.endswith(".npz"):
        members = _members(raw)
        first = next(n for n in sorted(members) if n != "meta.npy"
                     and np.load(_io.BytesIO(members[n])).size > 1)
        pickled = _npy_bytes(np.array([{"x": 1}], dtype=object), allow_pickle=True)
        out["pickled"] = _zip({**members, first: pickled})
        out["huge"] = _zip({**members, first: huge})
        out["complex"] = _zip({**members, first: _npy_bytes(
            np.load(_io.BytesIO(members[first])).astype(complex))})
        nan = np.load(_io.BytesIO(members[first])).copy()
        nan.flat[0] = np.nan
        out["nan"] = _zip({**members, first: _npy_bytes(nan)})
        if "meta.npy" in members:
            meta = _meta_of(members)
            out["future"] = _zip({**members, "meta.npy": _npy_bytes(np.array(json.dumps(
                {**meta, "version": 99})))})
            out["not json"] = _zip({**members, "meta.npy": _npy_bytes(np.array("{oops"))})
    elif source.endswith(".npy"):
        out["pickled"] = _npy_bytes(np.array([{"x": 1}], dtype=object), allow_pickle=True)
        out["huge"] = huge
        out["strings"] = _npy_bytes(np.array([["a", "b", "c"]] * T))
        out["nan"] = _npy_bytes(np.full((T, X), np.nan))
    elif source.endswith(".csv"):
        out["not utf8"] = b"1,2\n\xe9,3\n"
        out["nan"] = b"1,2\nnan,3\n"
        out["ragged"] = b"1,2\n3\n"
    return out


def _cli_cases():
    """(command template, slot, the valid file of that slot): {P} {X} {Y} {D} {M} {OUT}
    are the valid files and the output; the slot's file is the one made hostile."""
    run = ["--params", "{P}", "--inputs", "{X}", "--targets", "{Y}"]
    commands = [
        (["info", "{P}"], "P"), (["info", "{TR}"], "TR"), (["info", "{X}"], "X"),
        *[(["record", *run, "-o", "{OUT}"], slot) for slot in "PXY"],
        *[(["gradcheck", *run, "--sample", "3"], slot) for slot in "PXY"],
        (["train", "--task", "file", "--data", "{D}", "--steps", "1", "-o", "{OUT}"], "D"),
        (["train", "--task", "file", "--data", "{X}", "--targets", "{Y}", "--steps", "1"], "X"),
        (["train", "--task", "file", "--data", "{X}", "--targets", "{Y}", "--steps", "1"], "Y"),
        (["import-torch", "{M}", "-o", "{OUT}"], "M"),
        (["export-torch", "{P}", "-o", "{OUT}"], "P"),
    ]
    return commands


SLOT_FILES = {"P": "params.npz", "X": "inputs.npy", "Y": "targets.npy", "D": "table.csv",
              "M": "torch.npz", "TR": "trace.npz"}
HOSTILE_KINDS = ["truncated", "garbage", "pickled", "huge", "complex", "strings", "nan",
                 "future", "not json", "not utf8", "ragged", "directory", "missing"]


@pytest.mark.parametrize("argv,slot", _cli_cases(), ids=lambda v: v if isinstance(v, str)
                         else "-".join(a for a in v if not a.startswith(("{", "-")))[:30])
def test_the_command_line_refuses_hostile_files_in_one_line(tmp_path, capsys, monkeypatch,
                                                            argv, slot):
    from lstm_engine.cli import main

    monkeypatch.setenv("LSTM_VIZ_DEBUG", "1")          # an unforeseen exception would raise
    files = {}
    for key, name in SLOT_FILES.items():
        files[key] = tmp_path / name
        files[key].write_bytes(VALID[name])
    files["OUT"] = tmp_path / "out.npz"
    assert main([a.format(**files) for a in argv]) == 0   # the valid files are read
    capsys.readouterr()
    files["OUT"].unlink(missing_ok=True)
    variants = _hostile_variants(SLOT_FILES[slot])
    if argv[0] == "info" and slot == "X":                 # info describes NaN, not refuses it
        del variants["nan"]
    tried = 0
    for kind in HOSTILE_KINDS:
        bad = tmp_path / "bad" / kind / SLOT_FILES[slot]
        bad.parent.mkdir(parents=True)
        if kind == "directory":
            bad.mkdir()
        elif kind != "missing":
            if kind not in variants:
                continue
            bad.write_bytes(variants[kind])
        args = [a.format(**{**files, slot: bad}) for a in argv]
        code = main(args)
        out, err = capsys.readouterr()
        assert code == 2, (kind, args, out, err)
        assert err.count("\n") == 1 and err.startswith("lstm-engine: error: "), (kind, err)
        assert str(bad) in err and "Traceback" not in err, (kind, err)
        assert not files["OUT"].exists()
        tried += 1
    assert tried >= 7


def test_no_traceback_reaches_a_terminal(tmp_path):
    """Through a real terminal (a pty), as a user runs it: one line each, no traceback."""
    import pty
    import subprocess
    import sys

    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(VALID["trace.npz"][:3000])
    (tmp_path / "p.npz").write_bytes(VALID["params.npz"])
    for argv in (["info", str(fifo)], ["info", str(cut)],
                 ["export-torch", str(cut), "-o", str(tmp_path / "m.npz")]):
        leader, follower = pty.openpty()
        try:
            proc = subprocess.run([sys.executable, "-m", "lstm_engine", *argv],
                                  stdin=follower, stdout=follower, stderr=follower,
                                  timeout=60, env={**os.environ, "LSTM_VIZ_DEBUG": ""})
            os.close(follower)
            follower = None
            text = b""
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:                            # EIO: the terminal is closed
                    break
                if not chunk:
                    break
                text += chunk
        finally:
            if follower is not None:
                os.close(follower)
            os.close(leader)
        lines = text.decode(errors="replace").splitlines()
        assert proc.returncode == 2, (argv, lines)
        assert len(lines) == 1 and lines[0].startswith("lstm-engine: error: "), (argv, lines)
        assert argv[1] in lines[0] and "Traceback" not in text.decode(errors="replace")
