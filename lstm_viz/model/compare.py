"""Two runs side by side, frame-synchronised: any two (two files, before and after
training, two seeds, two variants of one run). No Qt.

``Comparison(left, right)`` ties two Sessions whose passes have the same number of steps
(and so the same frames): moving either cursor moves the other (the round trip ends
because a seek to the current frame emits nothing). ``difference(name)`` is right - left
for a whole recorded quantity, ``difference_at(name, index)`` the same as of one frame
(None where either side does not know it yet). Runs on different inputs (two seeds of a
task draw different data) are compared too and say so (``same_data``); a quantity whose
shape differs (another hidden size) has no difference. ``Comparison.of(a, b)`` builds
both sessions from two RunConfigs; ``run_for(session, source)`` makes one side from the
debugger's session: the run shown, the run before training, another seed, a variant of
it (the wrong backward, forget bias 0 or 1 …) or a trace file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES

from .config import RunConfig, check_config
from .levels import max_abs, saturate, signed_levels, symmetric_levels
from .session import Session

QUANTITIES = STEP_NAMES + GRAD_NAMES


@dataclass(frozen=True)
class Images:
    """What the comparison view draws for one quantity: the two runs' arrays and their
    difference as (T, n) float32, the colour levels (the two runs share theirs; both are
    symmetric about zero, ±1 for an all-zero array) and max |right − left| (finite)."""

    left: np.ndarray
    right: np.ndarray
    diff: np.ndarray | None            # None: the shapes differ (another hidden size)
    levels: tuple[float, float]
    diff_levels: tuple[float, float]
    max_diff: float


class Comparison:
    def __init__(self, left: Session, right: Session, labels: tuple[str, str] | None = None):
        a, b = left.trace, right.trace
        if a.steps != b.steps:
            raise UserError(f"the runs have different sizes (T={a.steps} against T={b.steps}): "
                            "frame by frame needs the same number of steps")
        self.same_data = (a.x.shape == b.x.shape and a.y.shape == b.y.shape
                          and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y))
        self.left, self.right = left, right
        self._labels = labels
        self._compared: dict[str, tuple[float, int]] = {}   # name -> (max |Δ|, NaN/Inf places)
        right.seek(left.cursor)
        left.events.frame_changed.connect(self._from_left)
        right.events.frame_changed.connect(self._from_right)

    @classmethod
    def of(cls, a: RunConfig, b: RunConfig) -> Comparison:
        a, b = check_config(a), check_config(b)
        return cls(Session(a), Session(b))

    def close(self) -> None:
        self.left.events.frame_changed.disconnect(self._from_left)
        self.right.events.frame_changed.disconnect(self._from_right)

    def _from_left(self, index: int) -> None:
        self.right.seek(index)

    def _from_right(self, index: int) -> None:
        self.left.seek(index)

    @property
    def cursor(self) -> int:
        return self.left.cursor

    def labels(self) -> tuple[str, str]:
        if self._labels is not None:
            return self._labels
        return describe(self.left.config), describe(self.right.config)

    def difference(self, name: str) -> np.ndarray:
        """right - left for a whole recorded quantity (float64), e.g. (T, H) for ``ds``."""
        if name not in QUANTITIES:
            raise UserError(f"there is no recorded quantity {name!r}")
        a, b = self.left.trace[name], self.right.trace[name]
        if a.shape != b.shape:
            raise UserError(f"{name} has shape {a.shape} on the left, {b.shape} on the right")
        return np.asarray(b, np.float64) - np.asarray(a, np.float64)

    def difference_at(self, name: str, index: int | None = None) -> np.ndarray | None:
        """right - left as of frame ``index`` (default: the cursor); None if unknown."""
        index = self.cursor if index is None else index
        a = self.left.data.value(name, index)
        b = self.right.data.value(name, index)
        if a is None or b is None:
            return None
        return np.asarray(b, np.float64) - np.asarray(a, np.float64)

    def images(self, name: str) -> Images:
        """The three images of ``name`` (left, right, right − left) and their levels: one
        scale for left and right (the view shows it once for both), one for the
        difference."""
        try:
            diff = self.difference(name)
        except UserError:                          # another shape: nothing to subtract
            diff = None

        def image(a):
            a = saturate(a)                        # drawable: model/levels.py
            return a[:, None] if a.ndim == 1 else a

        left, right = self.left.trace[name], self.right.trace[name]
        d = 0.0 if diff is None else max_abs(diff)
        return Images(image(left), image(right), None if diff is None else image(diff),
                      signed_levels(left, right), symmetric_levels(d), d)

    def max_difference_at(self, name: str, index: int | None = None) -> float | None:
        """max |right − left| of ``name`` as of frame ``index`` (None: not computed yet)."""
        d = self.difference_at(name, index)
        return None if d is None else max_abs(d)

    def max_differences(self, names=QUANTITIES) -> dict[str, float]:
        """max |right - left| of each quantity over the whole pass (those of one shape),
        over the places where both sides are finite."""
        return {n: self._compare(n)[0] for n in names if self._same_shape(n)}

    def special_differences(self, names=QUANTITIES) -> dict[str, int]:
        """How many places of each quantity differ through a NaN or an infinity: one side
        NaN and the other not, or an infinity against another value. max |Δ| cannot show
        these; the same NaN or the same infinity on both sides is no difference."""
        return {n: self._compare(n)[1] for n in names if self._same_shape(n)}

    def _same_shape(self, name: str) -> bool:
        return self.left.trace[name].shape == self.right.trace[name].shape

    def _compare(self, name: str) -> tuple[float, int]:
        """(max finite |Δ|, places that differ through NaN/Inf) of a whole quantity; the
        recorded passes do not change, so each is computed once."""
        cache = self._compared
        if name not in cache:
            a = np.asarray(self.left.trace[name], np.float64)
            b = np.asarray(self.right.trace[name], np.float64)
            both = np.isfinite(a) & np.isfinite(b)
            with np.errstate(all="ignore"):
                d = np.abs(b - a)
                largest = float(np.max(d, where=both, initial=0.0))
                alike = (a == b) | (np.isnan(a) & np.isnan(b))
            cache[name] = (largest, int(np.count_nonzero(~both & ~alike)))
        return cache[name]

    def summary(self) -> str:
        """One line on what differs over the whole pass: the five largest finite
        differences, then the quantities where a NaN or an infinity differs."""
        worst = sorted(((n, v) for n, v in self.max_differences().items() if v > 0),
                       key=lambda nv: -nv[1])[:5]
        special = sorted(((n, k) for n, k in self.special_differences().items() if k),
                         key=lambda nk: -nk[1])[:5]
        parts = []
        if worst:
            parts.append("Largest differences: " + ", ".join(f"{n} {v:.2g}" for n, v in worst)
                         + ".")
        if special:
            parts.append("NaN or Inf on one side only: " + ", ".join(
                f"{n} ({k} place{'s' if k > 1 else ''})" for n, k in special) + ".")
        return " ".join(parts) if parts else "The two runs are identical everywhere."


def describe(c: RunConfig) -> str:
    back = f", {c.backward} backward" if c.backward and c.backward != c.variant else ""
    fb = "" if c.forget_bias is None else f", forget bias {c.forget_bias:g}"
    return f"{c.variant}{back}{fb} · {c.task} H={c.hidden} seed {c.seed}"

# ---- where each side comes from --------------------------------------------------------------

VARIANTS: dict[str, dict[str, object]] = {   # sources that change the run's configuration
    "seed cell": dict(variant="seed", backward=""),
    "standard cell": dict(variant="standard", backward=""),
    "right backward": dict(backward=""),
    "wrong backward": dict(variant="standard", backward="seed"),
    "forget bias 0": dict(forget_bias=0.0),
    "forget bias 1": dict(forget_bias=1.0),
}
WHATIF = {"original (what if)": "original", "intervened (what if)": "intervened"}
SOURCES = ("this run", "before training", "another seed", *VARIANTS, "a trace file", *WHATIF)
PRESETS = {            # the pairs the old Compare Variants offered, and more
    "seed against standard": ("seed cell", "standard cell"),
    "right backward against the wrong one": ("right backward", "wrong backward"),
    "forget bias 0 against 1": ("forget bias 0", "forget bias 1"),
    "this run against itself": ("this run", "this run"),
    "before training against now": ("before training", "this run"),
    "original against intervened (what if)": tuple(WHATIF),
}


def run_for(session: Session, source: str, *, seed: int | None = None,
            path=None) -> tuple[Session, str]:
    """One side of a comparison, from the debugger's ``session``: ``(session, label)``.
    UserError (one line) when the source does not exist for this run."""
    c = session.config
    if source == "this run":
        return Session(c, trace=session.trace), f"{describe(c)} · {session.iteration_text()}"
    if source == "before training":
        return _before_training(session)
    if source in WHATIF:
        return _whatif_side(session, WHATIF[source])
    if source == "a trace file":
        if path is None:
            raise UserError("choose the trace file to compare with")
        from lstm_engine.io import load_trace

        other = Session(trace=load_trace(path))
        return other, f"{Path(path).name} · {describe(other.config)}"
    if c.task == "file":
        raise UserError("a run read from a file cannot be re-run with other settings; "
                        "compare it with another file or configure a task")
    if source == "another seed":
        if seed is None:
            raise UserError("choose the seed to compare with")
        cfg = check_config(c.with_(seed=int(seed)))
        return Session(cfg), describe(cfg)
    if source in VARIANTS:
        cfg = check_config(c.with_(**VARIANTS[source]))
        return Session(cfg), describe(cfg)
    raise UserError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")


def _before_training(session: Session) -> tuple[Session, str]:
    """The pass the run started from: while training, the oldest iteration the ring keeps;
    after SGD steps (Train One Iteration), iteration 0 recorded again from the config."""
    run = session.training
    if run is not None:
        first = run.ring_indices()[0]
        label = "iteration 0" if first == 0 else f"iteration {first} (the oldest kept)"
        return (Session(session.config, trace=run.trace_at(first)),
                f"{describe(session.config)} · {label}")
    if not session.history:
        raise UserError("this run has not been trained: it is its own 'before training'; "
                        "train it (Ctrl+T or the Training panel) first")
    if session.config.task == "file":
        raise UserError("the pass of a file's run before training is not kept")
    return Session(session.config), f"{describe(session.config)} · iteration 0"


def _whatif_side(session: Session, which: str) -> tuple[Session, str]:
    """The original or the intervened pass of the session's what if (``whatif.py``), the
    layer in view of it."""
    w = session.whatif
    trace = w.layer_pass(which)
    if trace is None:
        raise UserError("no intervened pass yet: choose interventions in the Intervene "
                        "panel and Apply" if which == "intervened" else
                        f"the original pass is not known: {w.note}")
    label = which if which == "original" else f"intervened: {w.applied.describe()}"
    return Session(session.config, trace=trace), label


def whatif_comparison(session: Session) -> Comparison:
    """original | intervened, frame by frame (the debugger's cursor drives the left)."""
    left, la = _whatif_side(session, "original")
    right, lb = _whatif_side(session, "intervened")
    return Comparison(left, right, (la, lb))
