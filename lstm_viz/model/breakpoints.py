"""Breakpoints: where continue (F5), play and live training stop. No Qt.

A breakpoint is a frame (``fwd:3``) or a condition on the recorded values. Every kind
answers ``evaluate(trace, model, context)`` once per trace, vectorised over the whole
pass: the sorted frame indices where it holds (``Hits``) and, per hit, the value that
made it hold. The session caches the answer per trace and then looks frames up with a
binary search, so continue and play cost nothing per frame.

Each breakpoint has a stable text form (``spec``), which is also how it is saved::

    frame bwd:2:ds                   the frame bwd:2:ds
    nan                              any NaN or Inf in any recorded value
    nan ds                           … in ds only
    norm ds < 1e-06                  ‖ds(t)‖ below (or above: >) a threshold
    vanish ds < 0.1                  ‖ds(t)‖ / ‖ds(t+1)‖ below a threshold
    saturation f > 0.9 eps 0.01      fraction of units of f within eps of 0 or 1, above 0.9
    gradcheck > 0.001                a gradient-check error above a threshold
    L1: norm ds < 0.25               (stacked models) a condition on layer 1 only

Where a condition stops: at the statement frame that computes the value (``norm ds``
at ``bwd:t:ds``, ``saturation f`` at ``fwd:t:f``; ``top_diff_h``/``top_diff_s``, the
step's inputs, at its first statement; ``loss`` and ``dl_dh`` at the loss frame; a NaN
in a gradient accumulator at the step whose contribution brings it in; a gradient-check
error at ``bwd:0:<array>_diff``, where that array's gradient is complete).
With stacked layers (docs/frames.md) a condition holds for any layer unless its text
starts with one (``L1: …``): it is evaluated on each layer's Trace and stops at that
layer's statement (``norm ds`` at ``bwd:t:L1:ds``), and the stop says which layer.
A frame breakpoint names its layer in its frame (``frame bwd:2:L0:ds``). The gradient
check is of one cell: on a stacked model its breakpoint never holds.
``enabled`` and ``hit_count`` (how many times it stopped execution) are state, not part
of the identity: two breakpoints with the same spec are equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.errors import UserError, finite_number
from lstm_engine.params import PARAM_NAMES
from lstm_engine.textsafe import show
from lstm_engine.trace import BACKWARD_NAMES, FORWARD_NAMES, GRAD_NAMES, STEP_NAMES

from .file_values import count, flag
from .frames import Frame, FrameModel
from .hits import NO_HITS, Hits, _hits

MAX_BREAKPOINTS = 1000          # a session's breakpoints: each is evaluated on every pass
MAX_SPEC = 200                  # characters of a breakpoint's text form
NORM_QUANTITIES = tuple(n for n in STEP_NAMES if n != "loss")
GATES = ("i", "f", "o")
# ---- where each quantity is computed -------------------------------------------------------

def frame_indices(model: FrameModel, name: str, steps: np.ndarray, layer: int = 0) -> np.ndarray:
    """Frame index (vectorised over steps t) of the statement that computes ``name`` at t
    in layer ``layer``'s cell (a one-layer run: its only cell)."""
    steps = np.asarray(steps, np.int64)
    if name in FORWARD_STATEMENTS:
        return steps * model.fwd_block + layer * model.NF + FORWARD_STATEMENTS.index(name)
    if name in ("loss", "dl_dh"):
        return np.full(steps.shape, model.loss_index, np.int64)
    k = 0 if name in ("top_diff_h", "top_diff_s") else BACKWARD_STATEMENTS.index(name)
    return (model.backward_start + (model.steps - 1 - steps) * model.bwd_block
            + (model.layers - 1 - layer) * model.NB + k)


def problem_frame(model: FrameModel, problem) -> int:
    """The frame where a training run's first NaN or Inf (an engine ``NonFinite``) appears:
    the statement that computes its array at its step (``fwd:3:s``, ``loss``, ``bwd:2:ds``;
    ``h`` is the step frame ``fwd:3``); for the summed gradients or the optimiser's update,
    which come after the pass, its last frame (where the sums are complete)."""
    if problem.step is None or problem.phase in ("gradient", "update"):
        return model.last
    return int(frame_indices(model, problem.array, np.array([problem.step]))[0])


def step_norms(trace, name: str) -> np.ndarray:
    """‖name(t)‖ for every step, (T,) float64 (NaN where the step has a NaN)."""
    a = np.asarray(trace[name])
    if a.ndim == 1:
        return np.abs(a.astype(np.float64))
    with np.errstate(all="ignore"):
        a = a.astype(np.float64, copy=False)
        return np.sqrt(np.einsum("ij,ij->i", a, a))


def _fmt(x: float) -> str:
    return repr(float(x))


# ---- the kinds -----------------------------------------------------------------------------

class Breakpoint:
    """Base class. Subclasses define ``spec``, ``label`` and ``evaluate``."""

    kind = ""
    frame: Frame | None = None           # a frame breakpoint's frame (timeline marker)

    def __init__(self):
        self.enabled = True
        self.hit_count = 0

    # identity: the spec
    def spec(self) -> str:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return isinstance(other, Breakpoint) and other.spec() == self.spec()

    def __hash__(self) -> int:
        return hash(self.spec())

    def __repr__(self) -> str:
        return f"parse_breakpoint({self.spec()!r})"

    def label(self) -> str:
        return self.spec()

    def evaluate(self, trace, model: FrameModel, context=None, layer: int = 0) -> Hits:
        """Where it holds in ``trace``, layer ``layer``'s of the pass whose frames are
        ``model`` (a one-layer pass: the pass itself, layer 0)."""
        raise NotImplementedError

    def reason(self, hits: Hits, k: int) -> str:
        """What made hit ``k`` hold, for the status bar."""
        return self.label()

    @property
    def per_frame_only(self) -> bool:
        """A frame breakpoint holds in every pass: training does not stop for it."""
        return False

    def to_dict(self) -> dict:
        return {"spec": self.spec(), "enabled": bool(self.enabled), "hits": int(self.hit_count)}

    @staticmethod
    def from_dict(d: dict) -> Breakpoint:
        """A breakpoint as ``to_dict`` wrote it: each field checked (UserError)."""
        if not isinstance(d, dict) or not isinstance(d.get("spec"), str):
            raise UserError("a breakpoint must be an object with a 'spec' text")
        bp = parse_breakpoint(d["spec"])
        bp.enabled = flag(d.get("enabled", True), "a breakpoint's 'enabled'")
        bp.hit_count = count(d.get("hits", 0), "a breakpoint's 'hits'")
        return bp


class FrameBreakpoint(Breakpoint):
    """Stops at one frame."""

    kind = "frame"

    def __init__(self, frame: Frame | str):
        super().__init__()
        self.frame = Frame.parse(frame) if isinstance(frame, str) else frame

    def spec(self) -> str:
        return f"frame {self.frame}"

    def label(self) -> str:
        return str(self.frame)

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        try:
            i = model.index(self.frame)
        except UserError:
            return NO_HITS
        return Hits(np.array([i], np.int64), np.zeros(1))

    def reason(self, hits, k) -> str:
        return f"breakpoint at {self.frame}"

    @property
    def per_frame_only(self) -> bool:
        return True


class NonFiniteBreakpoint(Breakpoint):
    """Any NaN or Inf, in one quantity or (``quantity=None``) in every recorded value and
    every gradient accumulator."""

    kind = "nan"

    def __init__(self, quantity: str | None = None):
        super().__init__()
        if quantity is not None and quantity not in STEP_NAMES + GRAD_NAMES:
            raise UserError(f"there is no recorded quantity {quantity!r}")
        self.quantity = quantity

    def spec(self) -> str:
        return "nan" if self.quantity is None else f"nan {self.quantity}"

    def label(self) -> str:
        return "NaN or Inf" + ("" if self.quantity is None else f" in {self.quantity}")

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        names = ((*FORWARD_NAMES, "loss", "dl_dh", *BACKWARD_NAMES, *GRAD_NAMES)
                 if self.quantity is None else (self.quantity,))
        parts = []
        T = trace.steps
        bad_xc = None
        for name in names:
            if name in GRAD_NAMES:
                # A contribution outer(dk_input[t], xc[t]) (or dk_input[t]) brings a NaN
                # into the accumulator at step t.
                gate = name[1]
                src = np.asarray(trace[f"d{gate}_input"])
                bad = ~np.isfinite(src).all(axis=1)
                if name.startswith("w"):
                    if bad_xc is None:
                        bad_xc = ~np.isfinite(np.asarray(trace.xc)).all(axis=1)
                    bad = bad | bad_xc
                count = (~np.isfinite(src)).sum(axis=1)
            else:
                a = np.asarray(trace[name]).reshape(T, -1)
                finite = np.isfinite(a)
                if finite.all():
                    continue
                bad = ~finite.all(axis=1)
                count = (~finite).sum(axis=1)
            t = np.flatnonzero(bad)
            if t.size:
                parts.append((name, frame_indices(model, name, t, layer), count[t]))
        return _hits(parts)

    def reason(self, hits, k) -> str:
        return f"NaN or Inf in {hits.name(k)} ({int(hits.values[k])} entries)"


class NormBreakpoint(Breakpoint):
    """‖quantity(t)‖ above (``>``) or below (``<``) a threshold."""

    kind = "norm"

    def __init__(self, quantity: str, op: str, threshold: float):
        super().__init__()
        if quantity not in NORM_QUANTITIES:
            raise UserError(f"there is no per-step quantity {quantity!r}; choose one of "
                            f"{', '.join(NORM_QUANTITIES)}")
        if op not in ("<", ">"):
            raise UserError(f"the comparison must be < or >, got {op!r}")
        self.quantity, self.op = quantity, op
        self.threshold = finite_number(str(threshold), "the threshold")

    def spec(self) -> str:
        return f"norm {self.quantity} {self.op} {_fmt(self.threshold)}"

    def label(self) -> str:
        return f"‖{self.quantity}‖ {self.op} {self.threshold:g}"

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        n = step_norms(trace, self.quantity)
        with np.errstate(invalid="ignore"):
            ok = n < self.threshold if self.op == "<" else n > self.threshold
        t = np.flatnonzero(ok)
        return _hits([(self.quantity, frame_indices(model, self.quantity, t, layer), n[t])])

    def reason(self, hits, k) -> str:
        return f"‖{self.quantity}‖ = {hits.values[k]:.4g} {self.op} {self.threshold:g}"


class VanishingBreakpoint(Breakpoint):
    """‖q(t)‖ / ‖q(t+1)‖ below a threshold (default q = ds): the gradient shrinks by more
    than that factor in one step back. Stops at ``bwd:t:q``."""

    kind = "vanish"

    def __init__(self, threshold: float, quantity: str = "ds"):
        super().__init__()
        if quantity not in BACKWARD_NAMES:
            raise UserError(f"the ratio is taken of a backward quantity, not {quantity!r}")
        self.quantity = quantity
        self.threshold = finite_number(str(threshold), "the ratio threshold")

    def spec(self) -> str:
        return f"vanish {self.quantity} < {_fmt(self.threshold)}"

    def label(self) -> str:
        q = self.quantity
        return f"‖{q}(t)‖/‖{q}(t+1)‖ < {self.threshold:g}"

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        n = step_norms(trace, self.quantity)
        if n.size < 2:
            return NO_HITS
        with np.errstate(all="ignore"):
            ratio = n[:-1] / n[1:]
            ok = (n[1:] > 0) & (ratio < self.threshold)
        t = np.flatnonzero(ok)
        return _hits([(self.quantity, frame_indices(model, self.quantity, t, layer), ratio[t])])

    def reason(self, hits, k) -> str:
        q = self.quantity
        return f"‖{q}(t)‖/‖{q}(t+1)‖ = {hits.values[k]:.3g} < {self.threshold:g} (vanishing)"


class SaturationBreakpoint(Breakpoint):
    """The fraction of units of gate i, f or o within ``eps`` of 0 or 1 above a threshold."""

    kind = "saturation"

    def __init__(self, gate: str, threshold: float, eps: float = 0.01):
        super().__init__()
        if gate not in GATES:
            raise UserError(f"saturation is measured on the gates i, f, o, not {gate!r}")
        self.gate = gate
        self.threshold = finite_number(str(threshold), "the fraction")
        self.eps = finite_number(str(eps), "epsilon")
        if not 0 <= self.threshold <= 1:
            raise UserError(f"the fraction must be between 0 and 1, got {self.threshold}")
        if not 0 < self.eps < 0.5:
            raise UserError(f"epsilon must be between 0 and 0.5, got {self.eps}")

    def spec(self) -> str:
        return f"saturation {self.gate} > {_fmt(self.threshold)} eps {_fmt(self.eps)}"

    def label(self) -> str:
        return f"{self.gate} saturated (ε={self.eps:g}) > {self.threshold:.0%}"

    def fractions(self, trace) -> np.ndarray:
        a = np.asarray(trace[self.gate])
        return ((a < self.eps) | (a > 1.0 - self.eps)).mean(axis=1)

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        frac = self.fractions(trace)
        t = np.flatnonzero(frac > self.threshold)
        return _hits([(self.gate, frame_indices(model, self.gate, t, layer), frac[t])])

    def reason(self, hits, k) -> str:
        return (f"{hits.values[k]:.0%} of {self.gate}'s units within {self.eps:g} of 0 or 1 "
                f"(> {self.threshold:.0%})")


class GradCheckBreakpoint(Breakpoint):
    """A gradient-check error above a threshold. The errors come from ``context``
    (the session): a full check run on this pass's parameters, else a quick directional
    check computed when the breakpoint is evaluated (see ``checks.quick_check``)."""

    kind = "gradcheck"

    def __init__(self, threshold: float = 1e-3):
        super().__init__()
        self.threshold = finite_number(str(threshold), "the error threshold")
        if self.threshold <= 0:
            raise UserError("the error threshold must be positive")

    def spec(self) -> str:
        return f"gradcheck > {_fmt(self.threshold)}"

    def label(self) -> str:
        return f"grad-check error > {self.threshold:g}"

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        if model.layers > 1:                  # the check is of one cell on the loss
            return NO_HITS
        errors = None if context is None else context.gradcheck_errors(trace)
        if not errors:
            return NO_HITS
        parts = []
        for name, err in errors.items():
            if not (err > self.threshold or not np.isfinite(err)):
                continue
            if name in PARAM_NAMES:
                at = frame_indices(model, f"{name}_diff", np.array([0]))
            else:                                           # the loss's own arrays
                at = np.array([model.loss_index])
            parts.append((name, at, np.array([err])))
        return _hits(parts)

    def reason(self, hits, k) -> str:
        return (f"gradient check: {hits.name(k)} relative error {hits.values[k]:.3g} "
                f"> {self.threshold:g}")


class LayerBreakpoint(Breakpoint):
    """A condition on one layer of a stacked model: ``L1: norm ds < 0.25``."""

    def __init__(self, layer: int, condition: Breakpoint):
        super().__init__()
        if isinstance(condition, (FrameBreakpoint, LayerBreakpoint)):
            raise UserError("a layer part goes before a condition; a frame names its layer "
                            "in its text (frame bwd:2:L0:ds)")
        self.layer, self.condition = int(layer), condition
        self.kind = condition.kind

    def spec(self) -> str:
        return f"L{self.layer}: {self.condition.spec()}"

    def label(self) -> str:
        return f"layer {self.layer}: {self.condition.label()}"

    def evaluate(self, trace, model, context=None, layer: int = 0) -> Hits:
        if layer != self.layer:
            return NO_HITS
        return self.condition.evaluate(trace, model, context, layer)

    def reason(self, hits, k) -> str:
        return self.condition.reason(hits, k)


# ---- the text form -------------------------------------------------------------------------

SPEC_HELP = ("breakpoints look like: frame bwd:2:ds | nan | nan ds | norm ds < 1e-6 | "
             "vanish ds < 0.1 | saturation f > 0.9 eps 0.01 | gradcheck > 1e-3 | "
             "L1: norm ds < 0.25 (one layer of a stacked model)")
_LAYER_PART = re.compile(r"L(\d{1,4}):")


def parse_breakpoint(text: str) -> Breakpoint:  # noqa: C901, PLR0912 - one branch per kind of breakpoint text, each with its own message
    """The breakpoint whose ``spec`` is ``text`` (UserError naming the problem)."""
    if len(str(text)) > MAX_SPEC:
        raise UserError(f"the breakpoint {show(text)} is longer than {MAX_SPEC} characters")
    words = str(text).split()
    if not words:
        raise UserError("empty breakpoint; " + SPEC_HELP)
    kind, rest = words[0], words[1:]
    if _LAYER_PART.fullmatch(kind):
        return _on_layer(str(text), int(kind[1:-1]), rest)
    try:
        if kind == "frame" and len(rest) == 1:
            return FrameBreakpoint(rest[0])
        if kind == "nan" and len(rest) <= 1:
            return NonFiniteBreakpoint(rest[0] if rest else None)
        if kind == "norm" and len(rest) == 3:
            return NormBreakpoint(rest[0], rest[1], finite_number(rest[2], "the threshold"))
        if kind == "vanish" and len(rest) == 3 and rest[1] == "<":
            return VanishingBreakpoint(finite_number(rest[2], "the ratio threshold"), rest[0])
        if kind == "saturation" and len(rest) in (3, 5) and rest[1] == ">":
            eps = 0.01
            if len(rest) == 5:
                if rest[3] != "eps":
                    raise UserError(f"cannot read {text!r}; " + SPEC_HELP)
                eps = finite_number(rest[4], "epsilon")
            return SaturationBreakpoint(rest[0], finite_number(rest[2], "the fraction"), eps)
        if kind == "gradcheck" and len(rest) == 2 and rest[0] == ">":
            return GradCheckBreakpoint(finite_number(rest[1], "the error threshold"))
    except UserError as err:
        raise UserError(f"breakpoint {text!r}: {err}") from None
    if len(words) == 1 and kind.split(":")[0] in ("fwd", "bwd", "loss"):
        return FrameBreakpoint(str(text).strip())
    raise UserError(f"cannot read the breakpoint {text!r}; " + SPEC_HELP)


def _on_layer(text: str, layer: int, rest: list[str]) -> Breakpoint:
    """``L1: <condition>``: the condition on layer 1 only."""
    if not rest:
        raise UserError(f"breakpoint {text!r}: a condition follows the layer part; "
                        + SPEC_HELP)
    try:
        return LayerBreakpoint(layer, parse_breakpoint(" ".join(rest)))
    except UserError as err:
        raise UserError(f"breakpoint {text!r}: {err}") from None


@dataclass(frozen=True)
class CarryOver:
    """What became of the breakpoints when another run replaced the shown one: those
    kept (every condition, and the frames the new run has) and those dropped (frames past
    its last step). Said to the user: a condition left from one task once stopped live
    training of another without a word."""

    kept: tuple[Breakpoint, ...]
    dropped: tuple[Breakpoint, ...]

    def text(self) -> str:
        parts = []
        if self.kept:
            n = len(self.kept)
            parts.append(f"{n} breakpoint{'s' * (n != 1)} carried over to this run: "
                         + ", ".join(bp.label() for bp in self.kept))
        if self.dropped:
            parts.append("dropped (past its last step): "
                         + ", ".join(bp.label() for bp in self.dropped))
        return " · ".join(parts)
