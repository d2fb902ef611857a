"""The memory available and the estimates made before allocating (issue 14, classes 13 and
15): MemAvailable on every platform, no guess; a size whose work would not fit is refused
with its estimate before anything is allocated; the estimates bound what is measured."""

import tracemalloc
import types

import numpy as np
import pytest

from lstm_engine import cli, io, memory
from lstm_engine.errors import UserError
from lstm_engine.training import TrainConfig, build_trainer

# ---- class 15: what "available" means ----------------------------------------------------


def test_available_memory_is_psutils_available_on_every_platform(monkeypatch):
    import psutil

    monkeypatch.setattr(psutil, "virtual_memory",
                        lambda: types.SimpleNamespace(available=3 * 2**30, free=2**20))
    assert memory.available_memory() == 3 * 2**30          # MemAvailable, not free pages
    assert memory.memory_limit() == 3 * 2**29
    assert io.memory_limit is memory.memory_limit          # the one function the app uses


def test_without_psutil_linux_reads_memavailable(monkeypatch):
    import builtins
    import sys

    if not os_has_meminfo():
        pytest.skip("no /proc/meminfo")
    monkeypatch.setitem(sys.modules, "psutil", None)            # import psutil fails
    with open("/proc/meminfo") as fp:
        want = next(int(line.split()[1]) * 1024 for line in fp if line.startswith("MemAvailable"))
    assert abs(memory.available_memory() - want) < 0.2 * want
    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", no_proc)
    monkeypatch.setattr(memory.os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError))
    # nothing can be measured: a small allowance, never a guess of gigabytes
    assert memory.available_memory() <= 2 * memory.MIN_LIMIT


def os_has_meminfo() -> bool:
    import os
    return os.path.exists("/proc/meminfo")


def test_format_and_check_fits(monkeypatch):
    assert memory.format_bytes(1536 * 2**20) == "1.5 GiB"
    assert memory.format_bytes(800) == "800 bytes"
    monkeypatch.setattr(memory, "available_memory", lambda: 2**30)
    memory.check_fits(2**29, "fits")
    with pytest.raises(UserError, match=r"^big needs about 1.0 GiB, more than the 512.0 MiB"):
        memory.check_fits(2**30, "big")


# ---- the estimates bound what the work takes ---------------------------------------------

def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("task,options,hidden,optimizer,batch", [
    ("published", {}, 300, "sgd", 1), ("published", {}, 300, "adam", 1),
    ("sine", {"length": 2000}, 32, "adam", 3), ("adding", {"length": 200}, 64, "momentum", 2),
])
def test_the_training_estimate_bounds_the_measured_peak(task, options, hidden, optimizer,
                                                        batch):
    cfg = TrainConfig(task=task, task_options=options, hidden=hidden, optimizer=optimizer,
                      batch=batch, iterations=2)

    def run():
        trainer, _ = build_trainer(cfg)
        for _ in trainer.run(2):
            pass
    trainer, resolved = build_trainer(cfg)
    t = trainer.task
    estimate = memory.training_bytes(t.length, t.inputs, hidden, t.outputs, "float64",
                                     optimizer, batch)
    peak = _peak(run)
    assert peak <= estimate <= 3 * peak, (peak, estimate)


# ---- class 13: the command line estimates before it allocates -------------------------------

@pytest.fixture
def small_memory(monkeypatch):
    """128 MiB available, so 64 MiB may be used."""
    monkeypatch.setattr(memory, "available_memory", lambda: 128 * 2**20)


def _refused_early(capsys, argv, words="needs about"):
    tracemalloc.start()
    try:
        code = cli.main(argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and words in err and "more than the 64.0 MiB" in err, err
    assert peak < 40 * 2**20, peak                      # refused before the big allocation
    return err


def test_train_on_a_long_csv_is_refused_with_its_estimate(tmp_path, capsys, small_memory):
    path = tmp_path / "long.csv"
    path.write_text("1,2\n" * 200_000)                         # 800 KB, T = 200,000
    err = _refused_early(capsys, ["train", "--task", "file", "--data", str(path),
                                  "--steps", "1"])
    assert "T=200000" in err


@pytest.mark.parametrize("argv", [
    ["train", "--hidden", "3000", "--steps", "1"],
    ["train", "--task", "sine", "--length", "100000", "--hidden", "64", "--steps", "1"],
    ["train", "--task", "adding", "--batch", "100000", "--steps", "1"],
    ["train", "--task", "copy", "--task-option", "delay=10000", "--hidden", "200"],
])
def test_train_sizes_that_would_not_fit_are_refused_first(capsys, small_memory, argv):
    _refused_early(capsys, argv)


@pytest.mark.parametrize("command", ["record", "gradcheck"])
def test_record_and_gradcheck_on_big_inputs_are_refused_first(tmp_path, capsys,
                                                              small_memory, command):
    from lstm_engine import init_uniform

    io.save_params(tmp_path / "p.npz", init_uniform(2, 64, np.random.default_rng(0)))
    np.save(tmp_path / "x.npy", np.ones((60_000, 2)))          # 1 MB of inputs
    np.save(tmp_path / "y.npy", np.ones(60_000))
    argv = [command, "--params", str(tmp_path / "p.npz"), "--inputs", str(tmp_path / "x.npy"),
            "--targets", str(tmp_path / "y.npy")]
    if command == "record":
        argv += ["-o", str(tmp_path / "t.npz")]
    err = _refused_early(capsys, argv)
    assert "recording T=60000, X=2, H=64" in err
    assert not (tmp_path / "t.npz").exists()


def test_a_csv_table_is_budgeted_before_it_is_allocated(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "MIN_LIMIT", 2**20)
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * 2**20)   # 1 MiB usable
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["0"] * 2000) + "\n" + "\n" * 100)     # 101 rows x 2000 = 1.5 MiB
    from lstm_engine import tasks
    with pytest.raises(UserError, match="a table of up to .* rows and 2000 columns needs about"):
        tasks.read_table(path)
