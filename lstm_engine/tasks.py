"""Built-in tasks: deterministic families of sequences that make BPTT's behaviour visible.

A task numbers its sequences 0, 1, 2, …; ``task.sequence(n)`` draws sequence n from its own
generator ``default_rng([seed, n])``, so any sequence can be reproduced on its own and a
training run that resumes at iteration n needs no random state besides the seed.
Inputs are float64 (T, X); targets come in the shape the task's loss expects:

==========  =====================================================  ==========================
task        x (T, X)                                               y, loss
==========  =====================================================  ==========================
published   the source document's four inputs, X = 50              (4,) toy loss
sine        noisy sine values, X = 1                               (T, 1) next value, mse
text        one-hot characters of the shipped text, X = V          (T,) next char, xent
adding      [value, marker], X = 2                                 (1,) sum at the end, mse last
copy        one-hot symbols, blank, go marker, X = A + 2           (T,) symbol or blank, xent
file        the user's table, X = columns - K                      (T, K), mse
==========  =====================================================  ==========================
"""

from __future__ import annotations

import inspect
import io
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .losses import ReadoutCrossEntropy, ReadoutMSE, ToyLoss
from .memory import check_fits
from .params import published_example
from .textsafe import show


@dataclass(frozen=True)
class Sequence:
    x: np.ndarray          # (T, X) float64
    y: np.ndarray          # targets, in the shape the task's loss expects


class Task:
    """Base class. Subclasses set the class attributes and implement ``_draw(rng)``."""

    name = ""
    description = ""
    loss = "mse"                      # "toy", "mse" or "xent" (see losses.LOSSES)
    loss_at = "every"                 # "every" or "last" step (read-out losses only)
    fixed = False                     # True: every index gives the same sequence
    # Settings that suit the task; the CLI and the GUI use them unless told otherwise.
    defaults: dict[str, Any] = {"hidden": 32, "init": "xavier", "optimizer": "adam",
                                "lr": 0.01}

    def __init__(self, seed: int = 0, **options):
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise UserError(f"the seed must be a non-negative integer, got {show(seed)}")
        self.seed = int(seed)
        self.options = options
        self.inputs = 0                # X, set by subclasses
        self.length = 0                # T of every sequence, set by subclasses
        self.outputs = 0               # K of the read-out (0 for the toy loss)
        self.info: dict = {}           # extra facts for display (e.g. the text's vocabulary)

    def sequence(self, index: int = 0) -> Sequence:
        """Sequence number ``index``, the same every time it is asked for."""
        if index < 0:
            raise ValueError(f"sequence index must be >= 0, got {index}")
        x, y = self._draw(np.random.default_rng([self.seed, index]))
        return Sequence(np.ascontiguousarray(x, dtype=np.float64), y)

    def _draw(self, rng: np.random.Generator):
        raise NotImplementedError

    def make_loss(self, hidden: int, rng: np.random.Generator, dtype="float64"):
        """The task's loss; a read-out's weights are drawn from ``rng``."""
        if self.loss == "toy":
            return ToyLoss()
        cls = ReadoutMSE if self.loss == "mse" else ReadoutCrossEntropy
        return cls.create(hidden, self.outputs, rng, at=self.loss_at, dtype=dtype)

    def config(self) -> dict:
        return {"name": self.name, "seed": self.seed, **self.options}


def _int_option(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise UserError(f"{name} must be an integer, got {show(value)}")
    if not low <= value <= high:
        raise UserError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def _float_option(name: str, value, low: float, high: float) -> float:
    """A real number in [low, high) (NaN and Inf never are)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UserError(f"{name} must be a number, got {show(value)}")
    if not low <= value < high:
        raise UserError(f"{name} must be in [{low:g}, {high:g}), got {value}")
    return float(value)


def _period_option(value) -> tuple[float, float]:
    """The sine's period range: (low, high), one number (a fixed period) or "LOW,HIGH"."""
    message = f"period must be a number or a range LOW,HIGH, got {show(value)}"
    if isinstance(value, str):
        value = value.replace(":", ",").split(",")
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, list | tuple | np.ndarray) or len(value) != 2 \
            or any(isinstance(v, bool) for v in value):
        raise UserError(message)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise UserError(message) from None
    if not 2 <= lo <= hi <= 1e6:
        raise UserError(f"period must be a range (low, high) with 2 <= low <= high <= 1e6, "
                        f"got ({lo:g}, {hi:g})")
    return lo, hi


def _path_option(name: str, value) -> str:
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise UserError(f"{name} must be a file name, got {show(value)}")
    return str(value)


class PublishedTask(Task):
    name = "published"
    description = "the source document's example: 4 steps, 50 inputs, toy loss on h[0]"
    loss = "toy"
    fixed = True
    defaults = {"hidden": 100, "init": "published", "optimizer": "sgd", "lr": 0.1}

    def __init__(self, seed: int = 0):
        super().__init__(seed)
        # The inputs are those of the published run with its 100 memory cells (they are
        # drawn from the same reseeded stream as the parameters, so they depend on H).
        _, self._x, self._y = published_example()
        self.length, self.inputs = self._x.shape

    def _draw(self, rng):
        return self._x.copy(), self._y.copy()


class SineTask(Task):
    name = "sine"
    description = "predict the next value of a noisy sine wave (regression, mse every step)"
    defaults = {"hidden": 16, "init": "xavier", "optimizer": "adam", "lr": 0.02}

    def __init__(self, seed: int = 0, length: int = 40, noise: float = 0.05,
                 period: tuple[float, float] = (10.0, 20.0)):
        length = _int_option("length", length, 2, 100_000)
        noise = _float_option("noise", noise, 0.0, 10.0)
        lo, hi = _period_option(period)
        super().__init__(seed, length=length, noise=noise, period=[lo, hi])
        self.length, self.noise, self.period = length, noise, (lo, hi)
        self.inputs, self.outputs = 1, 1

    def _draw(self, rng):
        # v(t) = sin(2 pi t / P + phase) + noise; the input is v(t), the target v(t+1).
        period = rng.uniform(*self.period)
        phase = rng.uniform(0.0, 2 * np.pi)
        t = np.arange(self.length + 1)
        v = np.sin(2 * np.pi * t / period + phase) + self.noise * rng.standard_normal(t.size)
        return v[:-1, None], v[1:, None]


def load_text() -> str:
    """The small text shipped with the package (plain English, a few KB)."""
    return resources.files("lstm_engine").joinpath("data/text.txt").read_text(encoding="utf-8")


class TextTask(Task):
    name = "text"
    description = "next-character prediction on a short text shipped with the package (xent)"
    loss = "xent"
    defaults = {"hidden": 64, "init": "xavier", "optimizer": "adam", "lr": 0.01}

    def __init__(self, seed: int = 0, length: int = 25):
        self.text = load_text()
        length = _int_option("length", length, 1, len(self.text) - 1)
        super().__init__(seed, length=length)
        self.length = length
        self.vocab = "".join(sorted(set(self.text)))
        self.codes = np.array([self.vocab.index(c) for c in self.text], dtype=np.int64)
        self.inputs = self.outputs = len(self.vocab)
        self.info = {"vocab": self.vocab}

    def _draw(self, rng):
        start = int(rng.integers(0, len(self.codes) - self.length))
        window = self.codes[start:start + self.length + 1]
        x = np.eye(self.inputs)[window[:-1]]               # one-hot of each character
        return x, window[1:].copy()

    def decode(self, codes) -> str:
        return "".join(self.vocab[int(c)] for c in codes)


class AddingTask(Task):
    name = "adding"
    description = ("the adding problem (Hochreiter & Schmidhuber 1997): sum the two marked "
                   "values of a long sequence")
    loss_at = "last"
    defaults = {"hidden": 16, "init": "orthogonal", "optimizer": "adam", "lr": 0.01,
                "forget_bias": 1.0}

    def __init__(self, seed: int = 0, length: int = 50):
        length = _int_option("length", length, 10, 1000)
        super().__init__(seed, length=length)
        self.length = length
        self.inputs, self.outputs = 2, 1

    def _draw(self, rng):
        # Channel 0: values uniform in [0, 1); channel 1: marker, 1 at two positions, one
        # in each half, so the first one is always far from the end. Target: their sum.
        T = self.length
        x = np.zeros((T, 2))
        x[:, 0] = rng.uniform(0.0, 1.0, T)
        marks = [int(rng.integers(0, T // 2)), int(rng.integers(T // 2, T))]
        x[marks, 1] = 1.0
        return x, np.array([x[marks, 0].sum()])


class CopyTask(Task):
    name = "copy"
    description = "reproduce a short symbol pattern after a delay of D steps (xent)"
    loss = "xent"
    defaults = {"hidden": 32, "init": "orthogonal", "optimizer": "adam", "lr": 0.01,
                "forget_bias": 1.0}

    def __init__(self, seed: int = 0, symbols: int = 4, pattern: int = 5, delay: int = 10):
        symbols = _int_option("symbols", symbols, 1, 256)
        pattern = _int_option("pattern", pattern, 1, 1000)
        delay = _int_option("delay", delay, 1, 10_000)
        super().__init__(seed, symbols=symbols, pattern=pattern, delay=delay)
        self.symbols, self.pattern, self.delay = symbols, pattern, delay
        # Inputs: one channel per symbol, then "blank", then "go". Outputs: symbols, blank.
        self.blank, self.go = symbols, symbols + 1
        self.inputs, self.outputs = symbols + 2, symbols + 1
        self.length = 2 * pattern + delay

    def _draw(self, rng):
        # t < P: the pattern; P <= t < P+D: blank, with "go" at the last of these steps;
        # then P blank steps during which the pattern must be written out.
        P, D = self.pattern, self.delay
        pattern = rng.integers(0, self.symbols, P)
        codes = np.full(self.length, self.blank)
        codes[:P] = pattern
        codes[P + D - 1] = self.go
        y = np.full(self.length, self.blank, dtype=np.int64)
        y[P + D:] = pattern
        return np.eye(self.inputs)[codes], y


class FileTask(Task):
    name = "file"
    description = ("sequences from your .npy or .csv: T rows, inputs then K target columns "
                   "(or targets in a second file)")
    fixed = True

    def __init__(self, seed: int = 0, path: str | os.PathLike | None = None,
                 targets: str | os.PathLike | None = None, target_columns: int = 1):
        if path is None:
            raise UserError("the file task needs a data file (.npy or .csv)")
        path = _path_option("path", path)
        targets = None if targets is None else _path_option("targets", targets)
        k = _int_option("target_columns", target_columns, 1, 10_000)
        super().__init__(seed, path=path, targets=targets, target_columns=k)
        table = read_table(path)
        if targets is None:
            if table.shape[1] <= k:
                raise UserError(f"{path}: {table.shape[1]} column(s) leave no inputs beside "
                                f"{k} target column(s)")
            x, y = table[:, :-k], table[:, -k:]
        else:
            x, y = table, read_table(targets)
            if y.shape[0] != x.shape[0]:
                raise UserError(f"{targets}: {y.shape[0]} rows of targets for "
                                f"{x.shape[0]} rows of inputs in {path}")
        self._x, self._y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        self.length, self.inputs = x.shape
        self.outputs = y.shape[1]

    def _draw(self, rng):
        return self._x.copy(), self._y.copy()


def read_table(path) -> np.ndarray:
    """A finite float64 (T, C) table from ``.npy`` or ``.csv``; a 1-D array is one column."""
    from .io import load_npy

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        a = load_npy(path, kinds="fiu").astype(np.float64)
    elif suffix == ".csv":
        a = _read_csv(path)
    else:
        raise UserError(f"{path}: expected a .npy or .csv file")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise UserError(f"{path}: expected a table of shape (T, columns), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise UserError(f"{path}: row {bad[0] + 1}, column {bad[1] + 1} is NaN or Inf")
    return a


_CSV_LIMIT = 64 * 2**20          # bytes; larger tables belong in a .npy
_CSV_BLOCK = 1 << 20             # characters of lines handed to numpy's parser at once


def _read_csv(path: Path) -> np.ndarray:
    """Comma-separated numbers, one row per step; one header line of names is allowed.

    The first non-blank line is a header only if none of its cells is a number. A UTF-8
    byte-order mark is ignored. The rows are parsed in blocks by numpy's C parser into
    one preallocated float64 array; a block it refuses is parsed again line by line, to
    name the first bad line.
    """
    from .io import open_regular

    try:
        # One open, checked to be a regular file once open (a FIFO or a device never is),
        # read twice: the line count bounds the table before anything is allocated.
        with open_regular(path) as fp:
            size = os.fstat(fp.fileno()).st_size
            if size > _CSV_LIMIT:
                raise UserError(f"{path}: {size / 2**20:.0f} MiB is more than the "
                                f"{_CSV_LIMIT // 2**20} MiB a .csv may have; save the table "
                                "as .npy")
            ends = 0                                  # "\n" and "\r": at least the lines
            for chunk in iter(lambda: fp.read(1 << 20), b""):
                ends += chunk.count(b"\n") + chunk.count(b"\r")
            fp.seek(0)
            with io.TextIOWrapper(fp, encoding="utf-8-sig") as text:
                return _parse_csv(text, ends + 1, path)
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror or err})") from None


def _parse_csv(lines, capacity: int, path: Path) -> np.ndarray:
    width: int | None = None
    table: np.ndarray | None = None
    rows, chars = 0, 0
    block: list[tuple[int, str]] = []

    def flush():
        nonlocal table, rows, chars
        assert width is not None and table is not None     # made by the first row of numbers
        values = _parse_block(block, width, path)
        if rows + len(values) > table.shape[0]:             # a guard: never, as counted
            grown = np.empty((2 * (rows + len(values)), width))
            grown[:rows] = table[:rows]
            table = grown
        table[rows:rows + len(values)] = values
        rows += len(values)
        block.clear()
        chars = 0

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if width is None:
            cells = [c.strip() for c in line.split(",")]
            width = len(cells)
            if not any(_is_number(c) for c in cells):       # a header line of names
                continue
        if table is None:                                   # budgeted before it exists
            check_fits(8 * capacity * width, f"{path}: a table of up to {capacity} rows "
                       f"and {width} columns")
            table = np.empty((capacity, width))
        block.append((number, line))
        chars += len(line)
        if chars >= _CSV_BLOCK:
            flush()
    if block:
        flush()
    if not rows:
        raise UserError(f"{path}: no rows of numbers")
    assert table is not None                            # rows were stored in it
    return table[:rows]


def _parse_block(block: list[tuple[int, str]], width: int, path: Path) -> np.ndarray:
    """The (len(block), width) values of (line number, text) pairs."""
    try:
        values = np.loadtxt([text for _, text in block], delimiter=",", comments=None,
                            dtype=np.float64, ndmin=2)
        if values.shape == (len(block), width):
            return values
    except ValueError:
        pass
    # numpy refused the block (or miscounted it): find and name the first bad line.
    out = np.empty((len(block), width))
    for row, (number, text) in enumerate(block):
        cells = [c.strip() for c in text.split(",")]
        if len(cells) != width:
            raise UserError(f"{path}: line {number} has {len(cells)} columns, expected {width}")
        if "" in cells:
            raise UserError(f"{path}: line {number}, column {cells.index('') + 1} is empty")
        try:
            out[row] = [float(c) for c in cells]
        except ValueError:
            bad = next(c for c in cells if not _is_number(c))
            raise UserError(f"{path}: line {number}: {show(bad)} is not a number") from None
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (PublishedTask, SineTask, TextTask, AddingTask, CopyTask, FileTask)
}


def make_task(name: str = "published", seed: int = 0, **options) -> Task:
    """The task ``name`` (a key of ``TASKS``) with its options, e.g. ``length=100``."""
    if name not in TASKS:
        raise UserError(f"unknown task {show(name)}; choose one of {', '.join(TASKS)}")
    cls = TASKS[name]
    known = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "seed")]
    unknown = [k for k in options if k not in known]
    if unknown:
        allowed = ", ".join(known) if known else "none"
        raise UserError(f"task {show(name)} has no option {show(unknown[0])} (options: {allowed})")
    return cls(seed, **options)


def describe_tasks() -> list[tuple[str, str]]:
    """(name, one-line description) of every task, in registry order."""
    return [(name, cls.description) for name, cls in TASKS.items()]
