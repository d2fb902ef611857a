"""File formats: round trips, atomic writes, and every kind of bad file refused in one line."""

import io as _io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_engine import GRAD_NAMES, STEP_NAMES, init_uniform, io, published_example, record
from lstm_engine.errors import UserError


@pytest.fixture(scope="module")
def small_trace():
    rng = np.random.default_rng(0)
    params = init_uniform(3, 4, rng)
    return record(params, rng.standard_normal((5, 3)), rng.standard_normal(5), "standard")


@pytest.fixture(scope="module")
def trace_bytes(small_trace, tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "trace.npz"
    io.save_trace(path, small_trace)
    return path.read_bytes()


def refused(path, loader=io.load_trace, match=None):
    with pytest.raises(UserError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    if match:
        assert match in message, message
    return message


def write_npz(path, **arrays):
    with zipfile.ZipFile(path, "w") as zf:
        for name, a in arrays.items():
            buf = _io.BytesIO()
            np.save(buf, a, allow_pickle=True)
            zf.writestr(name + ".npy", buf.getvalue())


def test_trace_round_trip_is_exact(small_trace, tmp_path):
    path = tmp_path / "t.npz"
    io.save_trace(path, small_trace)
    back = io.load_trace(path)
    assert back.meta() == small_trace.meta()
    for name in STEP_NAMES + GRAD_NAMES:
        np.testing.assert_array_equal(back[name], small_trace[name])
    np.testing.assert_array_equal(back.x, small_trace.x)
    np.testing.assert_array_equal(back.params.wf, small_trace.params.wf)
    np.testing.assert_array_equal(back.dz, small_trace.dz)


def test_float32_trace_round_trip(tmp_path):
    params, x, y = published_example()
    trace = record(params, x, y, dtype="float32")
    io.save_trace(tmp_path / "t.npz", trace)
    back = io.load_trace(tmp_path / "t.npz")
    assert back.dtype == np.float32 and back.meta()["dtype"] == "float32"
    np.testing.assert_array_equal(back.ds, trace.ds)


def test_params_round_trip_and_a_trace_file_serves_as_parameters(small_trace, tmp_path):
    io.save_params(tmp_path / "p.npz", small_trace.params)
    back = io.load_params(tmp_path / "p.npz")
    np.testing.assert_array_equal(back.wo, small_trace.params.wo)
    io.save_trace(tmp_path / "t.npz", small_trace)
    np.testing.assert_array_equal(io.load_params(tmp_path / "t.npz").bg, small_trace.params.bg)


# A write that fails half-way (full disk, fsync, rename), for every writer: test_save_faults.py


def test_not_a_file(tmp_path):
    refused(tmp_path, match="is a directory")
    refused(tmp_path / "missing.npz", match="no such file")
    if os.path.exists("/dev/null"):
        with pytest.raises(UserError, match="not a regular file"):
            io.load_trace("/dev/null")


def test_pickled_object_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "p.npz"
    write_npz(path, wg=np.array([{"evil": 1}], dtype=object))
    refused(path, io.load_params, "pickled")
    npy = tmp_path / "x.npy"
    np.save(npy, np.array([1, "a"], dtype=object), allow_pickle=True)
    refused(npy, io.load_npy, "pickled")


@pytest.mark.parametrize("bad", [np.zeros((4, 7), complex), np.array([["a"] * 7] * 4),
                                 np.zeros((4, 7), np.int64)])
def test_wrong_dtypes_are_refused(small_trace, tmp_path, bad):
    arrays = small_trace.params.as_dict()
    arrays["wg"] = bad
    write_npz(tmp_path / "p.npz", **arrays)
    refused(tmp_path / "p.npz", io.load_params, "wg")


def test_wrong_shapes_and_nan_parameters(small_trace, tmp_path):
    arrays = small_trace.params.as_dict()
    write_npz(tmp_path / "a.npz", **{**arrays, "bi": np.zeros(5)})
    refused(tmp_path / "a.npz", io.load_params, "bi has shape (5,)")
    write_npz(tmp_path / "b.npz", **{**arrays, "wo": np.full((4, 7), np.nan)})
    refused(tmp_path / "b.npz", io.load_params, "NaN")
    write_npz(tmp_path / "c.npz", **{k: v for k, v in arrays.items() if k != "bf"})
    refused(tmp_path / "c.npz", io.load_params, "missing parameter arrays: bf")


def test_huge_declared_size_is_refused_before_allocating(tmp_path):
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    npy = tmp_path / "huge.npy"
    npy.write_bytes(buf.getvalue() + b"\0" * 64)
    refused(npy, io.load_npy, "truncated")
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as zf:
        zf.writestr("wg.npy", buf.getvalue() + b"\0" * 64)
    refused(tmp_path / "huge.npz", io.load_params, "truncated")


def test_memory_limit_is_enforced(tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.zeros((100, 100)))
    monkeypatch.setattr(io, "memory_limit", lambda: 1000)
    refused(tmp_path / "x.npy", io.load_npy, "would not fit in memory")


def _trace_with_meta(small_trace, tmp_path, meta_value):
    arrays = {**small_trace.params.as_dict(), "x": small_trace.x, "y": small_trace.y,
              "meta": np.array(meta_value)}
    arrays.update({n: small_trace[n] for n in STEP_NAMES + GRAD_NAMES})
    path = tmp_path / "m.npz"
    io.save_npz_atomic(path, arrays)
    return path


def test_meta_problems(small_trace, tmp_path):
    good = {"format": "lstm-viz-trace", "version": 1, **small_trace.meta()}
    refused(_trace_with_meta(small_trace, tmp_path, "{not json"), match="not valid JSON")
    refused(_trace_with_meta(small_trace, tmp_path, json.dumps({**good, "version": 99})),
            match="newer")
    refused(_trace_with_meta(small_trace, tmp_path, json.dumps({**good, "steps": 6})),
            match="'x' must have shape (6, 3)")
    refused(_trace_with_meta(small_trace, tmp_path, json.dumps({**good, "variant": "gru"})),
            match="unknown variant")
    path = _trace_with_meta(small_trace, tmp_path, json.dumps(good))
    assert io.load_trace(path).variant == "standard"


def test_inconsistent_recorded_array(small_trace, tmp_path):
    io.save_trace(tmp_path / "t.npz", small_trace)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    arrays["ds"] = arrays["ds"][:, :3]
    io.save_npz_atomic(tmp_path / "t.npz", arrays)
    refused(tmp_path / "t.npz", match="'ds' has shape (5, 3), expected (5, 4)")


def test_recorded_nan_is_kept_because_that_is_what_one_debugs(small_trace, tmp_path):
    io.save_trace(tmp_path / "t.npz", small_trace)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    arrays["ds"] = np.array(arrays["ds"])
    arrays["ds"][2, 1] = np.inf
    io.save_npz_atomic(tmp_path / "t.npz", arrays)
    assert np.isinf(io.load_trace(tmp_path / "t.npz").ds[2, 1])


# four times the profile's count (400 under the default profile, tests/conftest.py), as
# before the profiles: the archive has many places to cut or flip, and an example is cheap
FOUR_FOLD = settings(max_examples=4 * settings.default.max_examples)


@FOUR_FOLD
@given(cut=st.integers(min_value=0, max_value=10**9))
def test_any_truncation_is_refused_in_one_line(trace_bytes, tmp_path, cut):
    path = tmp_path / "cut.npz"
    path.write_bytes(trace_bytes[: cut % len(trace_bytes)])
    refused(path)


@FOUR_FOLD
@given(data=st.data())
def test_any_corruption_is_refused_or_loads_a_valid_trace(trace_bytes, tmp_path, data):
    raw = bytearray(trace_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(raw))
    try:
        trace = io.load_trace(path)
    except UserError as err:
        assert "\n" not in str(err) and str(path) in str(err)
    else:                                   # a flip that the format cannot see (zip padding)
        assert trace.ds.shape == (5, 4)


@FOUR_FOLD
@given(blob=st.binary(max_size=2048))
def test_random_bytes_are_refused(tmp_path, blob):
    for name in ("r.npz", "r.npy"):
        path = tmp_path / name
        path.write_bytes(blob)
        refused(path, io.load_trace if name.endswith("z") else io.load_npy)


def test_float32_trace_with_integer_targets_round_trips_and_owns_its_targets(tmp_path):
    rng = np.random.default_rng(2)
    params = init_uniform(3, 4, rng)
    y = np.arange(5)
    trace = record(params, rng.standard_normal((5, 3)), y, dtype="float32")
    assert trace.loss.dtype == np.float32
    y[0] = 99
    assert trace.y[0] == 0
    io.save_trace(tmp_path / "t.npz", trace)
    np.testing.assert_array_equal(io.load_trace(tmp_path / "t.npz").loss, trace.loss)


def test_recorded_array_of_the_wrong_dtype_is_refused(small_trace, tmp_path):
    io.save_trace(tmp_path / "t.npz", small_trace)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    arrays["ds"] = arrays["ds"].astype(np.float32)
    io.save_npz_atomic(tmp_path / "t.npz", arrays)
    refused(tmp_path / "t.npz", match="'ds' has dtype float32, expected float64")


def test_deeply_nested_meta_is_refused_in_one_line(small_trace, tmp_path):
    refused(_trace_with_meta(small_trace, tmp_path, "[" * 100_000), match="not valid JSON")


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        buf = _io.BytesIO()
        np.save(buf, np.zeros(80 * 2**20 // 8))
        zf.writestr("wg.npy", buf.getvalue())
    assert path.stat().st_size < 2**20
    refused(path, io.load_params, "zip bomb")


def test_members_a_reader_does_not_need_are_never_read(small_trace, tmp_path, monkeypatch):
    io.save_trace(tmp_path / "t.npz", small_trace)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    arrays["unrelated"] = np.array([{"a": 1}], dtype=object)   # would be refused if read
    with zipfile.ZipFile(tmp_path / "t.npz", "w") as zf:
        for name, a in arrays.items():
            buf = _io.BytesIO()
            np.save(buf, a, allow_pickle=True)
            zf.writestr(name + ".npy", buf.getvalue())
    assert io.load_trace(tmp_path / "t.npz").steps == 5
    refused(tmp_path / "t.npz", lambda p: io.read_npz(p, kinds={"meta": "U"}), "pickled")


def test_readout_that_does_not_fit_the_cell_is_refused(small_trace, tmp_path):
    from lstm_engine import ReadoutMSE

    rng = np.random.default_rng(0)
    loss = ReadoutMSE.create(4, 2, rng)
    trace = record(small_trace.params, small_trace.x, rng.standard_normal((5, 2)), loss=loss)
    io.save_trace(tmp_path / "t.npz", trace)
    assert io.load_trace(tmp_path / "t.npz").loss_grads["wy_diff"].shape == (2, 4)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    arrays["loss.wy"] = np.zeros((2, 9))
    io.save_npz_atomic(tmp_path / "t.npz", arrays)
    refused(tmp_path / "t.npz", match="read-out expects H=9")


def test_output_folder_is_checked_before_writing(small_trace, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        io.save_trace(tmp_path / "missing" / "t.npz", small_trace)
    with pytest.raises(UserError, match="is a directory"):
        io.save_trace(tmp_path, small_trace)


def test_saved_files_get_ordinary_permissions(small_trace, tmp_path):
    old = os.umask(0o022)
    try:
        io.save_trace(tmp_path / "t.npz", small_trace)
        assert (tmp_path / "t.npz").stat().st_mode & 0o777 == 0o644
        os.chmod(tmp_path / "t.npz", 0o600)                  # a replaced file keeps its mode
        io.save_trace(tmp_path / "t.npz", small_trace)
        assert (tmp_path / "t.npz").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_stored_member_larger_than_the_file_is_refused_before_allocating(tmp_path):
    """A zip directory that lies: header, local and central sizes all agree on 80 MB of
    data, but the file holds 80 bytes of it."""
    import struct
    import tracemalloc

    small = _io.BytesIO()
    np.save(small, np.zeros(10))
    data = small.getvalue()
    big = _io.BytesIO()
    np.save(big, np.zeros(10**7))                 # the same header but for the shape
    header = big.getvalue()[:len(data) - 80]
    assert len(header) == len(data) - 80
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("wg.npy", header + data[len(header):])
    raw = bytearray(path.read_bytes())
    claimed = len(header) + 8 * 10**7
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    struct.pack_into("<II", raw, local + 18, claimed, claimed)       # compressed, full size
    struct.pack_into("<II", raw, central + 20, claimed, claimed)
    path.write_bytes(bytes(raw))
    tracemalloc.start()
    try:
        refused(path, io.load_params, "damaged")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20
