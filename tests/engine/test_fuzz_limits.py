"""Fuzzing what files expand to, and where files are written (issue 14, classes 6 and 12).

Expansion: archives of many members, stored or deflated, each under the bomb size or not,
some with directory entries that lie about their sizes; with a small memory budget, every
read is refused in one line naming the file, or returns arrays that fit the budget, and
never allocates much beyond it. Output targets: chains of symbolic links ending in a
regular file, nothing, a directory, a FIFO, a device or a loop, for every writer and
every command with ``-o``; the write goes through to a regular file or is refused in one
line with the folder unchanged. Derandomized, as tests/test_fuzz.py."""

import functools
import io as _io
import os
import stat
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lstm_engine import cli, init_uniform, io, memory, record
from lstm_engine.errors import UserError


def _fuzz(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


def _one_line_naming(err: UserError, path: Path) -> None:
    message = str(err)
    assert "\n" not in message and "\r" not in message and str(path) in message, message
    assert len(message) < 1000, message


# ---- what a file expands to ---------------------------------------------------------------

LIMIT = 4 * 2**20               # the memory budget while fuzzing: 4 MiB


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.setattr(memory, "MIN_LIMIT", 2**20)
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * LIMIT)
    monkeypatch.setattr(io, "BOMB_SIZE", 256 * 2**10)


@functools.lru_cache(maxsize=64)
def _npy_bytes(shape, fill: str, dtype="<f8") -> bytes:
    buf = _io.BytesIO()
    a = np.zeros(shape, dtype) if fill == "zeros" else \
        np.random.default_rng(0).standard_normal(shape).astype(dtype)
    np.save(buf, a)
    return buf.getvalue()


def _header_only(shape, dtype="<f8") -> bytes:
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + b"\0" * 64


def _lie_about_size(raw: bytes, index: int, size: int) -> bytes:
    """The archive with the ``index``-th entry's uncompressed size set to ``size`` in both
    its local header and its central directory entry."""
    out = bytearray(raw)
    starts = [i for i in range(len(out)) if out.startswith(b"PK\x01\x02", i)]
    if not starts:
        return raw
    central = starts[index % len(starts)]
    local = int.from_bytes(out[central + 42:central + 46], "little")
    value = min(size, 2**32 - 2).to_bytes(4, "little")
    out[central + 24:central + 28] = value
    if out.startswith(b"PK\x03\x04", local):
        out[local + 22:local + 26] = value
    return bytes(out)


@st.composite
def expanding_archives(draw) -> bytes:
    n = draw(st.integers(1, 48))
    hostile = draw(st.booleans())         # else every member is a valid array: only the
    members = {}                          # total can be too much
    for k in range(n):
        kinds = ["zeros", "zeros", "random"] + (["header only"] if hostile else [])
        kind = draw(st.sampled_from(kinds))
        rows = draw(st.sampled_from([1, 16, 1000, 9000] + ([10**6, 10**9] if hostile else [])))
        if kind == "header only" or rows > 9000:
            members[f"m{k}.npy"] = _header_only((rows, 4))
        else:
            members[f"m{k}.npy"] = _npy_bytes((rows, 4), kind)
    buf = _io.BytesIO()
    deflate = draw(st.booleans())
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    raw = buf.getvalue()
    for _ in range(draw(st.integers(0, 3 if hostile else 0))):  # directory entries that lie
        raw = _lie_about_size(raw, draw(st.integers(0, n - 1)),
                              draw(st.sampled_from([0, 100, 2**20, 2**24, 2**31])))
    return raw


def _valid_archive(n: int, rows: int, deflate: bool) -> bytes:
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as zf:
        for k in range(n):
            zf.writestr(f"m{k}.npy", _npy_bytes((rows, 4), "random"))
    return buf.getvalue()


@_fuzz(100)
@example(raw=_valid_archive(20, 9000, deflate=False))     # 5.5 MiB of valid arrays
@example(raw=_valid_archive(40, 1000, deflate=True))      # 1.2 MiB: fits
@given(raw=expanding_archives())
def test_no_archive_expands_beyond_the_budget(tmp_path, small_budget, raw):
    path = tmp_path / "expanding.npz"
    path.write_bytes(raw)
    tracemalloc.start()
    try:
        try:
            arrays = io.read_npz(path)
        except UserError as err:
            _one_line_naming(err, path)
            arrays = None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if arrays is not None:
        assert sum(a.nbytes for a in arrays.values()) <= memory.memory_limit()
    assert peak <= 2 * memory.memory_limit() + 2 * 2**20, peak


@_fuzz(60)
@given(n=st.integers(2, 80), per=st.integers(2**16, 2**18 - 1024))
def test_many_members_under_the_bomb_size_together_are_budgeted(tmp_path, small_budget, n,
                                                                per):
    """n deflated members of zeros, each under the (fuzzing) bomb size: the read is
    refused as a bomb or beyond the budget exactly when their total says so."""
    member = _npy_bytes((per // 8,), "zeros")
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(n):
            zf.writestr(f"m{k}.npy", member)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    inflated = sum(m.file_size for m in infos)
    packed = sum(m.compress_size for m in infos)
    bomb = inflated > io.BOMB_SIZE and inflated > io.BOMB_RATIO * packed
    too_big = n * (per // 8) * 8 > memory.memory_limit()
    try:
        io.read_npz(path)
        refused = False
    except UserError as err:
        _one_line_naming(err, path)
        refused = True
    assert refused == (bomb or too_big)


# ---- where files are written -----------------------------------------------------------------

END_KINDS = ["file", "missing", "directory", "fifo", "device", "loop"]


def _build_target(d: Path, hops: int, end: str) -> tuple[Path, Path | None]:
    """``d/out.npz`` -> link -> … -> the end (``hops`` links); returns the path and the
    regular file a write should land in (None if it must be refused)."""
    d.mkdir(parents=True, exist_ok=True)
    final = d / "end.npz"
    expect = None
    if end == "file":
        final.write_bytes(b"old")
        os.chmod(final, 0o640)
        expect = final
    elif end == "directory":
        final.mkdir()
    elif end == "fifo":
        os.mkfifo(final)
    elif end == "device":
        final.symlink_to("/dev/null")
    elif end == "loop":
        final.symlink_to(d / "out.npz")
    elif end == "missing":
        expect = final if hops == 0 else None
    if hops == 0:
        return final, expect
    prev = final
    for k in range(hops - 1):
        link = d / f"hop{k}.npz"
        link.symlink_to(prev.name if k % 2 else prev)         # relative and absolute
        prev = link
    path = d / "out.npz"
    path.symlink_to(prev)
    return path, expect


def _snapshot(d: Path) -> dict:
    out = {}
    for name in sorted(os.listdir(d)):
        st_ = os.lstat(d / name)
        out[name] = (stat.S_IFMT(st_.st_mode), st_.st_ino,
                     os.readlink(d / name) if stat.S_ISLNK(st_.st_mode) else None)
    return out


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    params = init_uniform(3, 4, rng)
    return record(params, rng.standard_normal((6, 3)), rng.standard_normal(6), "standard")


def _writers(small):
    from lstm_engine.torch_io import save_torch
    from lstm_engine.training import History, TrainConfig, build_trainer, save_run

    def raw(path):
        with io.atomic_write(path) as fp:
            fp.write(b"new")

    def run(path):
        trainer, config = build_trainer(TrainConfig(task="adding", task_options={"length": 10},
                                                    hidden=3, iterations=1))
        save_run(path, trainer, config, History())

    return {"atomic_write": raw, "params": lambda p: io.save_params(p, small.params),
            "trace": lambda p: io.save_trace(p, small), "run": run,
            "torch npz": lambda p: save_torch(p, small.params)}


@_fuzz(150)
@given(writer=st.sampled_from(["atomic_write", "params", "trace", "run", "torch npz"]),
       hops=st.integers(0, 4), end=st.sampled_from(END_KINDS))
def test_every_writer_writes_through_links_to_files_and_refuses_the_rest(tmp_path_factory,
                                                                         small, writer,
                                                                         hops, end):
    d = tmp_path_factory.mktemp("target")
    path, expect = _build_target(d, hops, end)
    before = _snapshot(d)
    try:
        _writers(small)[writer](path)
    except UserError as err:
        assert expect is None, (writer, hops, end, str(err))
        _one_line_naming(err, path)
        assert _snapshot(d) == before                        # nothing replaced or left
        return
    assert expect is not None, (writer, hops, end)
    assert expect.read_bytes() != b"old" and expect.stat().st_size > 0
    links = {n: v for n, v in before.items() if v[2] is not None}
    assert {n: v for n, v in _snapshot(d).items() if v[2] is not None} == links
    if end == "file":
        assert stat.S_IMODE(expect.stat().st_mode) == 0o640
    assert not [n for n in os.listdir(d) if io.TEMP_MARK in n]


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory):
    from lstm_engine.torch_io import save_torch

    d = tmp_path_factory.mktemp("cli-inputs")
    params = init_uniform(3, 4, np.random.default_rng(0))
    io.save_params(d / "p.npz", params)
    save_torch(d / "torch.npz", params)
    np.save(d / "x.npy", np.ones((5, 3)))
    np.save(d / "y.npy", np.ones(5))
    return {"record": ["record", "--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
                       "--targets", str(d / "y.npy"), "-o"],
            "train": ["train", "--task", "sine", "--steps", "1", "-o"],
            "export-torch": ["export-torch", str(d / "p.npz"), "-o"],
            "import-torch": ["import-torch", str(d / "torch.npz"), "-o"]}


@_fuzz(60)
@given(command=st.sampled_from(["record", "train", "export-torch", "import-torch"]),
       hops=st.integers(0, 3), end=st.sampled_from(END_KINDS))
def test_every_output_option_writes_through_links_to_files_and_refuses_the_rest(
        tmp_path_factory, capsys, cli_inputs, command, hops, end):
    d = tmp_path_factory.mktemp("cli-target")
    path, expect = _build_target(d, hops, end)
    before = _snapshot(d)
    code = cli.main([*cli_inputs[command], str(path)])
    out, err = capsys.readouterr()
    if expect is None:
        assert code == 2 and err.count("\n") == 1 and str(path) in err, (command, end, err)
        assert _snapshot(d) == before
    else:
        assert code == 0, (command, hops, end, err)
        assert expect.read_bytes()[:2] == b"PK"                 # an .npz landed there
