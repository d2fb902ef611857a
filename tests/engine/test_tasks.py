"""Built-in tasks: shapes, determinism from the seed, each task's own rules, file input."""

import tracemalloc

import numpy as np
import pytest

from lstm_engine import published_example, tasks
from lstm_engine.cli import main
from lstm_engine.errors import UserError
from lstm_engine.tasks import TASKS, describe_tasks, load_text, make_task, read_table

RANDOM_TASKS = ["sine", "text", "adding", "copy"]
BUILT_IN = ["published", *RANDOM_TASKS]


@pytest.mark.parametrize("name", BUILT_IN)
def test_shapes_dtypes_and_the_loss_accepts_the_targets(name):
    task = make_task(name, seed=3)
    seq = task.sequence(1)
    assert seq.x.dtype == np.float64 and seq.x.ndim == 2
    assert seq.x.shape[1] == task.inputs
    T = seq.x.shape[0]
    loss = task.make_loss(8, np.random.default_rng(0))
    loss.check_targets(seq.y, T)                       # raises if the shape contract broke
    if task.loss != "toy":
        assert loss.outputs == task.outputs and loss.at == task.loss_at


@pytest.mark.parametrize("name", BUILT_IN)
def test_sequences_are_determined_by_seed_and_index(name):
    a, b = make_task(name, seed=7), make_task(name, seed=7)
    for n in (0, 5):
        np.testing.assert_array_equal(a.sequence(n).x, b.sequence(n).x)
        np.testing.assert_array_equal(a.sequence(n).y, b.sequence(n).y)
    if name in RANDOM_TASKS:
        assert not np.array_equal(a.sequence(0).x, a.sequence(1).x)
        assert not np.array_equal(a.sequence(0).x, make_task(name, seed=8).sequence(0).x)


def test_asking_for_a_sequence_does_not_disturb_the_others():
    task = make_task("adding", seed=1)
    later = task.sequence(9).x.copy()
    task.sequence(3), task.sequence(4)
    np.testing.assert_array_equal(task.sequence(9).x, later)


def test_published_is_the_source_documents_example():
    task = make_task("published")
    _, x, y = published_example()
    np.testing.assert_array_equal(task.sequence(0).x, x)
    np.testing.assert_array_equal(task.sequence(12).y, y)
    assert task.loss == "toy" and task.defaults["init"] == "published"


def test_sine_targets_are_the_next_inputs():
    seq = make_task("sine", seed=2, length=30, noise=0.1).sequence(0)
    assert seq.x.shape == (30, 1) and seq.y.shape == (30, 1)
    np.testing.assert_array_equal(seq.y[:-1], seq.x[1:])
    clean = make_task("sine", seed=2, noise=0.0).sequence(0).x[:, 0]
    assert np.abs(clean).max() <= 1.0 and np.ptp(clean) > 1.0   # a real wave, no noise


def test_text_is_one_hot_characters_of_the_shipped_text():
    task = make_task("text", seed=0, length=30)
    text = load_text()
    assert 2_000 < len(text.encode()) < 20_000
    seq = task.sequence(4)
    assert seq.x.shape == (30, len(task.vocab)) and seq.y.shape == (30,)
    assert np.all(seq.x.sum(axis=1) == 1.0) and set(np.unique(seq.x)) == {0.0, 1.0}
    chars = task.decode(seq.x.argmax(axis=1))
    np.testing.assert_array_equal(seq.y[:-1], seq.x[1:].argmax(axis=1))   # next character
    assert (chars + task.vocab[seq.y[-1]]) in text


@pytest.mark.parametrize("length", [10, 20, 1000])
def test_adding_marks_one_value_in_each_half_and_sums_them(length):
    task = make_task("adding", seed=4, length=length)
    for n in range(5):
        seq = task.sequence(n)
        assert seq.x.shape == (length, 2) and seq.y.shape == (1,)
        marks = np.flatnonzero(seq.x[:, 1])
        assert len(marks) == 2 and marks[0] < length // 2 <= marks[1]
        assert set(np.unique(seq.x[:, 1])) == {0.0, 1.0}
        assert np.all((seq.x[:, 0] >= 0) & (seq.x[:, 0] < 1))
        assert seq.y[0] == seq.x[marks[0], 0] + seq.x[marks[1], 0]
    assert task.loss == "mse" and task.loss_at == "last"


@pytest.mark.parametrize("length", [9, 1001, 2.5])
def test_adding_length_out_of_range_is_refused(length):
    with pytest.raises(UserError, match="length"):
        make_task("adding", length=length)


def test_copy_writes_the_pattern_after_the_delay():
    P, D, A = 3, 7, 5
    task = make_task("copy", seed=1, symbols=A, pattern=P, delay=D)
    seq = task.sequence(2)
    T = 2 * P + D
    assert seq.x.shape == (T, A + 2) and seq.y.shape == (T,)
    codes = seq.x.argmax(axis=1)
    pattern = codes[:P]
    assert np.all(pattern < A)
    assert np.all(codes[P:P + D - 1] == A) and codes[P + D - 1] == A + 1   # blanks, go
    assert np.all(codes[P + D:] == A)
    assert np.all(seq.y[:P + D] == A)
    np.testing.assert_array_equal(seq.y[P + D:], pattern)


def test_registry_descriptions_and_bad_names():
    assert set(TASKS) == {"published", "sine", "text", "adding", "copy", "file"}
    for name, description in describe_tasks():
        assert description and "\n" not in description and len(description) < 120, name
    with pytest.raises(UserError, match="unknown task 'nope'"):
        make_task("nope")
    with pytest.raises(UserError, match="no option 'lenght'"):
        make_task("adding", lenght=20)
    with pytest.raises(UserError, match="seed"):
        make_task("sine", seed=-1)


def test_sine_period_is_a_number_a_pair_or_low_comma_high():
    assert make_task("sine", period=99).period == (99.0, 99.0)
    assert make_task("sine", period=(10, 30)).period == (10.0, 30.0)
    assert make_task("sine", period="12,14").period == (12.0, 14.0)
    # One fixed period: every sequence is the same wave, up to its phase and noise.
    x = make_task("sine", seed=1, period=8, noise=0.0, length=33).sequence(3).x[:, 0]
    np.testing.assert_allclose(x[8:], x[:-8], atol=1e-12)


@pytest.mark.parametrize("name,options,message", [
    ("sine", {"period": "abc"}, "period must be a number or a range"),
    ("sine", {"period": [10, 20, 30]}, "period must be a number or a range"),
    ("sine", {"period": None}, "period must be a number or a range"),
    ("sine", {"period": (True, 5)}, "period must be a number or a range"),
    ("sine", {"period": (1, 5)}, "2 <= low <= high"),
    ("sine", {"period": (30, 10)}, "2 <= low <= high"),
    ("sine", {"period": float("inf")}, "2 <= low <= high"),
    ("sine", {"noise": "abc"}, "noise must be a number"),
    ("sine", {"noise": float("nan")}, "noise must be in [0, 10)"),
    ("sine", {"noise": -0.5}, "noise must be in [0, 10)"),
    ("sine", {"length": "long"}, "length must be an integer"),
    ("text", {"length": 0}, "length must be between"),
    ("copy", {"symbols": 2.5}, "symbols must be an integer"),
    ("file", {"path": 5}, "path must be a file name"),
    ("file", {"path": "x.csv", "targets": 3}, "targets must be a file name"),
    ("file", {"path": "x.csv", "target_columns": "2"}, "target_columns must be an integer"),
])
def test_every_task_option_is_checked(name, options, message):
    with pytest.raises(UserError) as info:
        make_task(name, **options)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_train_command_task_options_of_the_wrong_type_are_one_line(capsys):
    assert main(["train", "--task", "sine", "--steps", "1", "--task-option", "period=99"]) == 0
    assert main(["train", "--task", "sine", "--steps", "1",
                 "--task-option", "period=10,20"]) == 0
    capsys.readouterr()
    for option in ("period=abc", "noise=abc", "period=1"):
        assert main(["train", "--task", "sine", "--steps", "1", "--task-option", option]) == 2
        err = capsys.readouterr().err
        assert err.startswith("lstm-engine: error: period" if option.startswith("period")
                              else "lstm-engine: error: noise") and err.count("\n") == 1


def test_tasks_command_lists_every_task(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(TASKS)


# ---- the file task ------------------------------------------------------------------

def test_csv_with_header_inputs_then_targets(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,target\n1,2,3\n4,5,6\n\n7,8,9.5\n")
    task = make_task("file", path=str(path))
    seq = task.sequence(0)
    np.testing.assert_array_equal(seq.x, [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(seq.y, [[3], [6], [9.5]])
    assert task.inputs == 2 and task.outputs == 1
    task.make_loss(4, np.random.default_rng(0)).check_targets(seq.y, 3)


def test_npy_inputs_with_separate_targets(tmp_path):
    x = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([1.0, 2.0, 3.0, 4.0]))
    task = make_task("file", path=tmp_path / "x.npy", targets=tmp_path / "y.npy")
    np.testing.assert_array_equal(task.sequence(3).x, x)
    assert task.sequence(0).y.shape == (4, 1)
    two = make_task("file", path=tmp_path / "x.npy", target_columns=2).sequence(0)
    np.testing.assert_array_equal(two.y, x[:, 1:])


def test_csv_byte_order_mark_without_header_keeps_the_first_row(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf1,2\r\n3,4\r\n")         # as Excel writes "CSV UTF-8"
    np.testing.assert_array_equal(read_table(path), [[1, 2], [3, 4]])
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")               # with a header
    np.testing.assert_array_equal(read_table(path), [[1, 2]])


def test_csv_header_only_if_no_cell_is_a_number(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(",name,value\n1,2,3\n")                  # an index column's empty name
    np.testing.assert_array_equal(read_table(path), [[1, 2, 3]])
    path.write_text("1,,3\n4,5,6\n")                          # data with a hole, no header
    with pytest.raises(UserError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: line 1, column 2 is empty"
    path.write_text("a,b,c\n1,2,3\n4,5,\n")
    with pytest.raises(UserError, match=r"d.csv: line 3, column 3 is empty"):
        read_table(path)
    path.write_text("time,2\n1,2\n")                          # a number: not a header
    with pytest.raises(UserError, match=r"line 1: 'time' is not a number"):
        read_table(path)


def test_csv_in_many_blocks_names_the_right_line(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "_CSV_BLOCK", 20)   # characters
    rows = np.arange(60.0).reshape(20, 3)
    lines = ["a,b,c", ""] + [",".join(f"{v:g}" for v in r) for r in rows]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    np.testing.assert_array_equal(read_table(path), rows)
    path.write_text("\r".join(lines))                           # old Mac line ends
    np.testing.assert_array_equal(read_table(path), rows)
    lines[15] = "1,2,x"                                         # line 16 of the file
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"line 16: 'x' is not a number"):
        read_table(path)


def test_csv_parse_needs_little_more_memory_than_the_table(tmp_path):
    rows = np.random.default_rng(0).standard_normal((100_000, 4))
    path = tmp_path / "big.csv"
    np.savetxt(path, rows, delimiter=",", fmt="%.17g")
    tracemalloc.start()
    try:
        table = read_table(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(table, rows)
    # A row of Python floats costs about 5x its float64 values; the parse must not.
    assert peak < 3 * rows.nbytes, f"peak {peak / 2**20:.1f} MiB for {rows.nbytes / 2**20} MiB"


def test_csv_larger_than_the_limit_is_refused_before_reading(tmp_path):
    assert tasks._CSV_LIMIT <= 64 * 2**20
    path = tmp_path / "huge.csv"
    with open(path, "wb") as fp:                                # sparse: no disk used
        fp.truncate(tasks._CSV_LIMIT + 1)
    with pytest.raises(UserError) as info:
        read_table(path)
    assert "huge.csv" in str(info.value) and "save the table as .npy" in str(info.value)


@pytest.mark.parametrize("name,content,message", [
    ("ragged.csv", "1,2,3\n4,5\n", "line 2 has 2 columns, expected 3"),
    ("word.csv", "1,2\n3,abc\n", "line 2: 'abc' is not a number"),
    ("nan.csv", "1,2\n3,nan\n", "row 2, column 2 is NaN or Inf"),
    ("empty.csv", "x,y\n", "no rows of numbers"),
    ("narrow.csv", "1\n2\n", "leave no inputs"),
    ("table.txt", "1,2\n", "expected a .npy or .csv"),
])
def test_bad_files_get_one_line_errors_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError) as info:
        make_task("file", path=str(path))
    text = str(info.value)
    assert message in text and name in text and "\n" not in text


def test_missing_and_mismatched_files(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        make_task("file", path=str(tmp_path / "absent.csv"))
    with pytest.raises(UserError, match="needs a data file"):
        make_task("file")
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    np.save(tmp_path / "y.npy", np.zeros(4))
    with pytest.raises(UserError, match="4 rows of targets for 5 rows"):
        make_task("file", path=tmp_path / "x.npy", targets=tmp_path / "y.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(UserError, match="shape"):
        make_task("file", path=tmp_path / "cube.npy")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(UserError, match="bad.npy"):
        make_task("file", path=tmp_path / "bad.npy")
