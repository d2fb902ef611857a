"""What is known at a frame, and its values and summaries, computed on demand. No Qt.

At frame F with focus step t (``fwd:t…``/``bwd:t…`` -> t; the loss -> T-1):

* ``x`` (the input of step t) is always known;
* a forward quantity of step t is known once its statement ran (``fwd:t:g`` knows xc, g);
  at the loss and in the backward pass all of them are;
* ``loss`` (l over all steps, shape (T,)) and ``dl_dh`` once the loss frame is reached;
* ``top_diff_h``/``top_diff_s`` (the step's inputs) at every frame of backward step t;
  the other backward quantities once their statement ran;
* the gradient accumulators ``wi_diff … bg_diff`` at every backward frame, *as of that
  frame*: the steps T-1 … t+1 plus, inside step t, the updates that already ran
  (``LiveGradients``); at forward frames and at the loss they are not computed yet.

Per-step summaries are cached by (name, step), accumulators by frame; nothing of
size (T, H, X+H) is ever built.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.live import LiveGradients
from lstm_engine.source import cell_source
from lstm_engine.trace import GRAD_NAMES

from .frames import Frame, FrameModel, describe

ACCUMULATORS = tuple(n for n in BACKWARD_STATEMENTS if n in GRAD_NAMES)
VARIABLES = ("x", *FORWARD_STATEMENTS, "loss", "dl_dh", "top_diff_h", "top_diff_s",
             *BACKWARD_STATEMENTS)
_FWD_ORDER = {n: k for k, n in enumerate(FORWARD_STATEMENTS)}
_BWD_ORDER = {n: k for k, n in enumerate(BACKWARD_STATEMENTS)}
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class Stats:
    shape: tuple
    min: float
    max: float
    norm: float
    nonfinite: int                # NaN, +Inf and -Inf entries

    def short(self) -> str:
        return f"{self.shape} min {self.min:.4g} max {self.max:.4g} ‖·‖ {self.norm:.4g}"

    def long(self) -> str:
        return f"{self.short()} NaN/Inf {self.nonfinite}"


def summarize(a: np.ndarray, squares: float | None = None) -> Stats:
    """Shape, min, max and 2-norm over the finite values, and the number of NaN and ±Inf
    entries (an Inf counted too: min and max skip it, so they would hide it).
    ``squares``: ``sum_squares(a)`` when already known (the norm is its root)."""
    a = np.asarray(a)
    flat = a.reshape(-1)
    with np.errstate(all="ignore"):
        lo, hi = flat.min(), flat.max()
        norm = np.sqrt(np.dot(flat, flat) if squares is None else squares)
    bad = 0
    if not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(norm)):
        ok = np.isfinite(flat)
        bad = int(flat.size - np.count_nonzero(ok))
        finite = flat[ok]
        if finite.size:
            lo, hi, norm = finite.min(), finite.max(), _scaled_norm(finite)
        else:
            lo = hi = norm = float("nan")
    return Stats(tuple(a.shape), float(lo), float(hi), float(norm), bad)


def _scaled_norm(a: np.ndarray) -> float:
    """‖a‖ of finite values, scaled by the largest first: 1e308 squared would overflow,
    its norm need not (Inf only when the norm itself is beyond float64)."""
    top = float(np.max(np.abs(a)))
    if top == 0.0:
        return 0.0
    scaled = np.asarray(a, np.float64) / top
    with np.errstate(over="ignore"):
        return top * float(np.sqrt(np.dot(scaled, scaled)))


def sum_squares(a: np.ndarray) -> float:
    flat = a.reshape(-1)                     # dot of the flat view: BLAS, unlike 2-D vdot
    return float(np.dot(flat, flat))


@dataclass(frozen=True)
class SourceState:
    """What the source panel shows at a frame."""

    key: str                      # "forward", "backward" or "loss": which function
    name: str                     # the function's name
    lines: tuple[str, ...]        # its source, one entry per line
    first_line: int               # line number of lines[0] in its file
    current: int | None           # the line that just ran
    ran: dict                     # line -> variable name, for every statement run in this step
    # line -> Branch, for the lines run so far that choose by ``seed``: which side ran
    branches: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Branch:
    """``a if seed else b`` on a line: the variant that ran it and the columns (start,
    end) of the side that ran and of the side that did not."""

    variant: str
    ran: tuple[int, int]
    skipped: tuple[int, int]


def seed_branches(text: str) -> dict[int, tuple[tuple[int, int], tuple[int, int]]]:
    """Line -> ((start, end) of the seed side, (start, end) of the standard side) for every
    ``… if seed else …`` of a function's (dedented) source."""
    out = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Name) \
                and node.test.id == "seed" and node.lineno == node.end_lineno:
            body, other = node.body, node.orelse
            out[node.lineno - 1] = (
                (body.col_offset, body.end_col_offset or body.col_offset),
                (other.col_offset, other.end_col_offset or other.col_offset))
    return out


def computed_at(frame: Frame) -> str:
    """The quantity the frame's statement computed (the loss frame: ``loss``)."""
    return frame.statement or "loss"


class FrameData:
    """Values and summaries of one Trace at any frame."""

    # pictures.view_data.ViewData.of keeps the picture-side data here, so it goes with
    # this FrameData (set on first use; the model never reads it)
    _view_data: Any = None

    def __init__(self, trace, forward_variant: str | None = None):
        self.trace = trace
        # The cell whose forward ran: the trace carries its backward's variant, which
        # differs for the wrong-backward example (a standard forward, the seed's backward).
        self.forward_variant = forward_variant or trace.variant
        self.model = FrameModel(trace.steps)
        self._live: LiveGradients | None = None
        self._acc: tuple[int, dict] | None = None
        self._stats: dict = {}
        self._sources: dict = {}

    # ---- knowledge ------------------------------------------------------------------------

    def focus_step(self, frame: Frame) -> int:
        return self.trace.steps - 1 if frame.phase == "loss" else frame.step

    def known(self, name: str, frame: Frame) -> bool:
        if name == "x":
            return True
        if name in _FWD_ORDER:
            return frame.phase != "fwd" or _FWD_ORDER[name] <= frame.statement_index
        if name in ("loss", "dl_dh"):
            return frame.phase != "fwd"
        if frame.phase != "bwd":
            return False
        if name in ("top_diff_h", "top_diff_s") or name in ACCUMULATORS:
            return True
        return _BWD_ORDER[name] <= frame.statement_index

    def accumulated_from(self, name: str, frame: Frame) -> int:
        """First step whose update an accumulator holds at a backward frame (T: none yet)."""
        return frame.step if _BWD_ORDER[name] <= frame.statement_index else frame.step + 1

    # ---- values ---------------------------------------------------------------------------

    def value(self, name: str, index: int) -> np.ndarray | None:
        """The value of ``name`` at frame ``index`` (focus step), or None if not yet known."""
        frame = self.model.frame(index)
        if not self.known(name, frame):
            return None
        if name == "loss":
            return self.trace.loss
        if name in ACCUMULATORS:
            return self.accumulators(index)[name]
        t = self.focus_step(frame)
        return (self.trace.x if name == "x" else self.trace[name])[t]

    @property
    def live(self) -> LiveGradients:
        """The trace's LiveGradients (built on first use; shared by every view)."""
        if self._live is None:
            with np.errstate(all="ignore"):          # a trace may hold NaN, Inf, 1e308
                self._live = LiveGradients(self.trace)
        return self._live

    def accumulators(self, index: int) -> dict:
        """The gradient accumulators as of backward frame ``index`` (cached for one frame)."""
        if self._acc is not None and self._acc[0] == index:
            return self._acc[1]
        frame = self.model.frame(index)
        if frame.phase != "bwd":
            raise ValueError(f"no gradient is accumulated yet at {frame}")
        # NaN, Inf and overflowing sums are what the views show (in reserved colours),
        # not a warning on stderr
        with np.errstate(all="ignore"):
            if frame.is_step:
                acc = self.live.accumulated(frame.step)
            else:
                k = frame.statement_index
                done = {n: True for n in ACCUMULATORS if _BWD_ORDER[n] <= k}
                acc = self.live.accumulated(frame.step + 1, partial=done or None)
        self._acc = (index, acc)
        return acc

    def stats(self, name: str, index: int) -> Stats | None:
        """Summary of ``value(name, index)``, None if not yet known; cached."""
        frame = self.model.frame(index)
        if not self.known(name, frame):
            return None
        key: tuple
        if name in ACCUMULATORS:
            key = (name, index)
        elif name == "loss":
            key = ("loss",)
        else:
            key = (name, self.focus_step(frame))
        found = self._stats.get(key)
        if found is None:
            if len(self._stats) > _CACHE_LIMIT:
                self._stats.clear()
            value = self.value(name, index)
            assert value is not None                    # known, as checked above
            # An accumulator's norm from the frame's sums of squares (accumulator_squares,
            # shared with the status bar's norm and the views' NaN/Inf check): one pass
            # less over an (H, X+H) matrix.
            squares = self.accumulator_squares(index)[name] if name in ACCUMULATORS \
                else None
            found = self._stats[key] = summarize(value, squares)
        return found

    # ---- text -----------------------------------------------------------------------------

    def describe(self, index: int) -> str:
        frame = self.model.frame(index)
        total = self.trace.total_loss if frame.phase == "loss" else None
        variant = self.forward_variant if frame.phase == "fwd" else self.trace.variant
        return describe(frame, variant, total)

    def source(self, index: int) -> SourceState:
        """The function that runs at this frame, its current line and the lines already run."""
        frame = self.model.frame(index)
        if frame.phase == "loss":
            return self._loss_source()
        key = "forward" if frame.phase == "fwd" else "backward"
        base = self._sources.get(key)
        if base is None:
            src = cell_source(key)
            base = self._sources[key] = SourceState(key, src.name, tuple(src.text.splitlines()),
                                                    src.first_line, None, dict(src.lines),
                                                    seed_branches(src.text))
        k = frame.statement_index
        names = FORWARD_STATEMENTS if key == "forward" else BACKWARD_STATEMENTS
        ran = {base.ran[n]: n for n in names[:k + 1]}
        # The variant each function ran as: the wrong backward's forward is standard, its
        # backward the seed's (its ``ds`` line took the seed side).
        variant = self.forward_variant if key == "forward" else self.trace.variant
        branches = {}
        for line, (seed_side, standard_side) in base.branches.items():
            if line in ran:
                taken = (seed_side, standard_side) if variant == "seed" else \
                    (standard_side, seed_side)
                branches[line] = Branch(variant, *taken)
        return SourceState(key, base.name, base.lines, base.first_line,
                           base.ran[frame.statement], ran, branches)

    def _loss_source(self) -> SourceState:
        found = self._sources.get("loss")
        if found is None:
            method = type(self.trace.loss_fn).evaluate
            lines, first = inspect.getsourcelines(method)
            text = textwrap.dedent("".join(lines)).splitlines()
            returns = [n for n, line in enumerate(text) if line.strip().startswith("return")]
            current = returns[-1] if returns else len(text) - 1
            name = f"{type(self.trace.loss_fn).__name__}.evaluate"
            found = self._sources["loss"] = SourceState("loss", name, tuple(text), first,
                                                        current, {current: "loss"})
        return found

    def accumulator_squares(self, index: int) -> dict[str, float]:
        """Sum of squares of each accumulator at a backward frame: one BLAS dot each,
        cached per frame. Shared by the status bar's norm and the views' NaN/Inf check
        (a finite sum of squares means every entry is finite)."""
        key = ("|acc|2", index)
        found = self._stats.get(key)
        if found is None:
            if len(self._stats) > _CACHE_LIMIT:
                self._stats.clear()
            with np.errstate(all="ignore"):
                found = {n: sum_squares(a) for n, a in self.accumulators(index).items()}
            self._stats[key] = found
        return found

    def accumulated_norm(self, index: int) -> float:
        """Norm of all eight accumulators together at a backward frame (from the cached
        sums of squares: no array is read again)."""
        return float(np.sqrt(sum(self.accumulator_squares(index).values())))

    def gradient_norms(self, index: int) -> list[tuple[str, float]]:
        """The gradient norms known at this frame, for the status bar."""
        frame = self.model.frame(index)
        if frame.phase != "bwd":
            return []
        out = []
        for name in ("top_diff_h", "ds", "dxc"):
            s = self.stats(name, index)
            if s is not None:
                out.append((name, s.norm))
        out.append(("W_diff", self.accumulated_norm(index)))
        return out
