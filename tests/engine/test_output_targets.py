"""Saving over what is not a regular file, and the temporaries of killed saves (issue 14,
classes 6 and 8).

Every writer goes through ``io.atomic_write``: it writes through a symbolic link to a
regular file (the link stays, the file it leads to is replaced, keeping its mode), and
refuses in one line anything else at the output path: a device, a FIFO, a socket, a
directory, a link to one of those, a dangling link or a loop. The node is unchanged and
no temporary is left. Temporaries are named ``.NAME.lstm-viz-tmp-PID-XXXXXXXX``; a later
save into the folder removes those of dead processes once they are old, and nothing else.
"""

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstm_engine import cli, init_uniform, io, record
from lstm_engine.errors import UserError

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    params = init_uniform(3, 4, rng)
    return record(params, rng.standard_normal((6, 3)), rng.standard_normal(6), "standard")


def _write_bytes(path, data=b"new bytes"):
    with io.atomic_write(path) as fp:
        fp.write(data)


# ---- what can be at the output path ------------------------------------------------------

def _make_target(kind: str, d: Path, keep: list) -> Path:  # noqa: C901, PLR0912 - one branch per kind of target, the list the test is parametrised over
    """A path in ``d`` holding ``kind``; ``keep`` keeps sockets and pipes open."""
    path = d / "out.npz"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        keep.append(s)
    elif kind == "directory":
        path.mkdir()
    elif kind in ("char device", "block device"):
        if not ROOT:
            pytest.skip("making a device node needs root")
        mode = stat.S_IFCHR if kind == "char device" else stat.S_IFBLK
        os.mknod(path, mode | 0o666, os.makedev(1, 3) if kind == "char device"
                 else os.makedev(7, 200))
    elif kind == "link to /dev/null":
        path.symlink_to("/dev/null")
    elif kind == "link to /dev/full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full")
        path.symlink_to("/dev/full")
    elif kind == "link to a pipe (/proc/self/fd/N)":
        r, w = os.pipe()
        keep.extend([r, w])
        if not os.path.exists(f"/proc/self/fd/{w}"):
            pytest.skip("no /proc/self/fd")
        path.symlink_to(f"/proc/self/fd/{w}")
    elif kind == "link to a directory":
        (d / "folder").mkdir()
        path.symlink_to(d / "folder")
    elif kind == "link to a fifo":
        os.mkfifo(d / "fifo")
        path.symlink_to(d / "fifo")
    elif kind == "dangling link":
        path.symlink_to(d / "nowhere.npz")
    elif kind == "link loop":
        path.symlink_to(d / "other.npz")
        (d / "other.npz").symlink_to(path)
    elif kind == "link chain to a device":
        (d / "hop.npz").symlink_to("/dev/null")
        path.symlink_to(d / "hop.npz")
    else:
        raise AssertionError(kind)
    return path


NOT_FILES = ["fifo", "socket", "directory", "char device", "block device", "link to /dev/null",
             "link to /dev/full", "link to a pipe (/proc/self/fd/N)", "link to a directory",
             "link to a fifo", "dangling link", "link loop", "link chain to a device"]


def _snapshot(d: Path) -> dict:
    out = {}
    for name in sorted(os.listdir(d)):
        st = os.lstat(d / name)
        link = os.readlink(d / name) if stat.S_ISLNK(st.st_mode) else None
        out[name] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_ino, link)
    return out


def _writers(small):
    from lstm_engine.torch_io import save_torch
    from lstm_engine.training import History, TrainConfig, build_trainer, save_run

    def run(path):
        trainer, config = build_trainer(TrainConfig(task="adding", task_options={"length": 10},
                                                    hidden=3, iterations=1))
        save_run(path, trainer, config, History())

    return {"atomic_write": _write_bytes,
            "params": lambda p: io.save_params(p, small.params),
            "trace": lambda p: io.save_trace(p, small),
            "run": run,
            "torch npz": lambda p: save_torch(p, small.params)}


@pytest.mark.parametrize("kind", NOT_FILES)
@pytest.mark.parametrize("writer", ["atomic_write", "params", "trace", "run", "torch npz"])
def test_anything_but_a_regular_file_is_refused_and_left_as_it_was(tmp_path, small, kind,
                                                                   writer):
    keep = []
    try:
        path = _make_target(kind, tmp_path, keep)
        before = _snapshot(tmp_path)
        with pytest.raises(UserError) as info:
            _writers(small)[writer](path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message, message
        assert any(w in message for w in ("not a regular file", "directory", "missing file",
                                          "loop")), message
        assert _snapshot(tmp_path) == before                # nothing replaced, nothing left
    finally:
        for k in keep:
            k.close() if hasattr(k, "close") else os.close(k)


def test_a_character_device_keeps_its_node_and_no_world_writable_file_appears(tmp_path):
    if not ROOT:
        pytest.skip("making a device node needs root")
    dev = tmp_path / "null"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = tmp_path / "full.npz"
    link.symlink_to(dev)
    for path in (dev, link):
        with pytest.raises(UserError, match="character device"):
            _write_bytes(path)
    assert stat.S_ISCHR(os.stat(dev).st_mode) and os.path.islink(link)
    assert sorted(os.listdir(tmp_path)) == ["full.npz", "null"]


@pytest.mark.parametrize("hops", [1, 3])
def test_a_link_to_a_regular_file_is_written_through(tmp_path, hops):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "data.npz"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = target
    for n in range(hops):                                  # relative links, chained
        nxt = tmp_path / f"link{n}.npz"
        nxt.symlink_to(os.path.relpath(link, tmp_path))
        link = nxt
    _write_bytes(link, b"new")
    assert os.path.islink(link) and Path(os.path.realpath(link)) == target.resolve()
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640          # the target's own mode
    assert os.listdir(real_dir) == ["data.npz"]                      # no temporary left


def test_new_files_get_the_umask_permissions_and_replaced_ones_keep_theirs(tmp_path):
    old = os.umask(0o027)
    try:
        _write_bytes(tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640
        os.chmod(tmp_path / "new.npz", 0o604)
        _write_bytes(tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o604
    finally:
        os.umask(old)


def test_a_read_only_folder_is_refused_before_writing(tmp_path):
    if ROOT:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        with pytest.raises(UserError, match="not writable"):
            _write_bytes(ro / "x.npz")
    finally:
        os.chmod(ro, 0o755)


# ---- the command line's outputs --------------------------------------------------------------

def _cli_outputs(d: Path):
    io.save_params(d / "p.npz", init_uniform(3, 4, np.random.default_rng(0)))
    np.save(d / "x.npy", np.ones((5, 3)))
    np.save(d / "y.npy", np.ones(5))
    run = ["--params", str(d / "p.npz"), "--inputs", str(d / "x.npy"),
           "--targets", str(d / "y.npy")]
    return {"record": ["record", *run, "-o"],
            "train": ["train", "--task", "sine", "--steps", "1", "-o"],
            "export-torch": ["export-torch", str(d / "p.npz"), "-o"],
            "import-torch": ["import-torch", str(d / "torch.npz"), "-o"]}


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/null", "char device", "directory",
                                  "dangling link", "link loop", "link to a fifo"])
@pytest.mark.parametrize("command", ["record", "train", "export-torch", "import-torch"])
def test_every_command_refuses_an_output_that_is_not_a_file(tmp_path, capsys, kind, command):
    from lstm_engine.torch_io import save_torch

    src = tmp_path / "src"
    src.mkdir()
    argv = _cli_outputs(src)[command]
    save_torch(src / "torch.npz", init_uniform(3, 4, np.random.default_rng(0)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    keep = []
    path = _make_target(kind, out_dir, keep)
    before = _snapshot(out_dir)
    assert cli.main([*argv, str(path)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err, err
    assert _snapshot(out_dir) == before


def test_record_writes_through_a_link_to_a_file(tmp_path, capsys):
    argv = _cli_outputs(tmp_path)["record"]
    real = tmp_path / "real.npz"
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    assert cli.main([*argv, str(link)]) == 0
    assert os.path.islink(link) and io.load_trace(real).steps == 5


# ---- temporaries: recognisable, and cleared when stale -----------------------------------------

TEMP = re.compile(r"\.out\.npz\.lstm-viz-tmp-(\d+)-[0-9a-f]{8}")


def test_the_temporary_is_named_recognisably_beside_the_target(tmp_path):
    seen = []
    with io.atomic_write(tmp_path / "out.npz") as fp:
        seen.extend(os.listdir(tmp_path))
        fp.write(b"x")
    assert len(seen) == 1 and TEMP.fullmatch(seen[0]), seen
    assert int(TEMP.fullmatch(seen[0])[1]) == os.getpid()
    assert os.listdir(tmp_path) == ["out.npz"]


def test_a_very_long_name_still_gets_a_temporary(tmp_path):
    name = "é" * 120 + ".npz"                               # 244 bytes of 255
    _write_bytes(tmp_path / name)
    assert os.listdir(tmp_path) == [name]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_stale_temporaries_of_dead_saves_are_removed_and_nothing_else(tmp_path):
    dead = _dead_pid()
    hour = 3600
    stale = tmp_path / f".out.npz.lstm-viz-tmp-{dead}-0123abcd"
    other_stale = tmp_path / f".other.npz.lstm-viz-tmp-{dead}-89abcdef"
    keep = {
        "fresh": tmp_path / f".out.npz.lstm-viz-tmp-{dead}-00000001",
        "live process": tmp_path / f".out.npz.lstm-viz-tmp-{os.getpid()}-00000002",
        "another program's": tmp_path / ".out.npz.tmp8s7d6f",
        "mkstemp style": tmp_path / ".out.npz.abc123.tmp",
        "near miss": tmp_path / f".out.npz.lstm-viz-tmp-{dead}-0123abc",
        "no leading dot": tmp_path / f"out.npz.lstm-viz-tmp-{dead}-0123abcd",
        "upper case": tmp_path / f".out.npz.lstm-viz-tmp-{dead}-0123ABCD",
        "user file": tmp_path / "notes.txt",
    }
    for p in (stale, other_stale, *keep.values()):
        p.write_bytes(b"partial save")
    for name, p in keep.items():
        if name != "fresh":
            _age(p, hour)
    _age(stale, hour)
    _age(other_stale, hour)
    folder = tmp_path / f".dir.lstm-viz-tmp-{dead}-0000000f"  # a directory: never removed
    folder.mkdir()
    link = tmp_path / f".l.npz.lstm-viz-tmp-{dead}-000000ff"  # a link: never followed
    link.symlink_to(keep["user file"])
    _age(link, hour)
    _write_bytes(tmp_path / "new.npz")
    left = set(os.listdir(tmp_path))
    assert stale.name not in left and other_stale.name not in left
    assert {p.name for p in keep.values()} <= left
    assert folder.name in left and link.name in left and "new.npz" in left


def test_a_killed_save_leaves_a_temporary_that_a_later_save_clears(tmp_path):
    """A real save killed half-way (SIGKILL while writing): the temporary it leaves is
    recognisable, and once old it goes with the next save into that folder."""
    script = (
        "import sys, time\n"
        "from lstm_engine import io\n"
        "with io.atomic_write(sys.argv[1]) as fp:\n"
        "    fp.write(b'x' * 100000); fp.flush(); print('writing', flush=True)\n"
        "    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "out.npz")],
                            stdout=subprocess.PIPE, text=True)
    with proc:                                      # closes the pipe (strict warnings)
        try:
            assert proc.stdout.readline().strip() == "writing"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    left = os.listdir(tmp_path)
    assert len(left) == 1 and TEMP.fullmatch(left[0]), left
    leftover = tmp_path / left[0]
    _write_bytes(tmp_path / "another.npz")           # too recent yet: kept
    assert leftover.exists()
    _age(leftover, io.STALE_AFTER + 60)
    _write_bytes(tmp_path / "another.npz")
    assert sorted(os.listdir(tmp_path)) == ["another.npz"]


def test_a_proc_link_to_an_open_file_without_a_name_is_refused(tmp_path):
    """/proc/self/fd/N of a deleted file resolves to "NAME (deleted)": writing through it
    would make a new file of that name, not replace the one the link leads to."""
    with open(tmp_path / "gone.npz", "wb") as f:
        os.unlink(f.name)
        if not os.path.exists(f"/proc/self/fd/{f.fileno()}"):
            pytest.skip("no /proc/self/fd")
        link = tmp_path / "out.npz"
        link.symlink_to(f"/proc/self/fd/{f.fileno()}")
        with pytest.raises(UserError, match="does not lead to a file by its name"):
            _write_bytes(link)
    assert os.listdir(tmp_path) == ["out.npz"]


def test_a_proc_link_to_a_named_regular_file_is_written_through(tmp_path):
    with open(tmp_path / "named.npz", "wb") as f:
        if not os.path.exists(f"/proc/self/fd/{f.fileno()}"):
            pytest.skip("no /proc/self/fd")
        link = tmp_path / "out.npz"
        link.symlink_to(f"/proc/self/fd/{f.fileno()}")
        _write_bytes(link, b"through")
    assert (tmp_path / "named.npz").read_bytes() == b"through" and os.path.islink(link)
