"""Interventions: "what if" changes to a pass, part of a run's configuration.

Forward interventions change the computation, so the recorded backward is the true
gradient of the intervened computation; cuts change the backward only (a definition, not
a gradient). The equations are in docs/equations.md §10. Each intervention has a text
form, the one the command line takes (``lstm-engine record --clamp f=1@0:10#3``), that
parses back to the same value::

    --clamp     GATE=VALUE[@STEPS][#UNITS][/LAYER]    gate i, f, o or g held at VALUE
    --knockout  UNITS[@STEPS][/LAYER]                  h_j := 0 and s_j := 0
    --edit-input (zero|set=VALUE|add=VALUE)[@STEPS][#UNITS]     x(t) edited (UNITS: inputs)
    --scale     GATE.PART=FACTOR[#UNITS][/LAYER]       Wk's x or h columns times FACTOR
    --cut       (h|s)[@STEPS][#UNITS][/LAYER]          bottom_diff_h or bottom_diff_s := 0
    --truncate  K                                      both paths cut at t = K, 2K, …

STEPS and UNITS are comma-separated Python slices, half-open (``3``, ``0:10``, ``5:``,
``:4``, ``0:4,7``); leaving one out means all of them. ``/L1`` is layer 1; without it an
intervention applies to every layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import finite_number
from .params import Params
from .textsafe import show

GATES = ("i", "f", "o", "g")
PARTS = ("x", "h")
EDIT_MODES = ("zero", "set", "add")
PATHS = ("h", "s")
KINDS = ("clamp", "knockout", "edit_input", "scale", "cut")   # the tuples of Interventions
# What each gate's value can be: the range of its nonlinearity.
GATE_RANGE = {"i": (0.0, 1.0), "f": (0.0, 1.0), "o": (0.0, 1.0), "g": (-1.0, 1.0)}


# ---- selections of steps and units ----------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """Indices as half-open spans ``(start, stop)``; ``stop`` None runs to the end. No
    spans at all selects everything."""

    spans: tuple[tuple[int, int | None], ...] = ()

    def __post_init__(self) -> None:
        for start, stop in self.spans:
            if isinstance(start, bool) or not isinstance(start, int) or start < 0:
                raise ValueError(f"a selection starts at an integer >= 0, got {show(start)}")
            if stop is not None and (isinstance(stop, bool) or not isinstance(stop, int)
                                     or stop <= start):
                raise ValueError(f"an empty selection {start}:{stop}")

    @property
    def everything(self) -> bool:
        return not self.spans

    def indices(self, n: int, what: str) -> np.ndarray:
        """The selected indices among 0 … n−1, sorted; a ValueError names ``what`` when a
        span reaches beyond them."""
        if not self.spans:
            return np.arange(n)
        out = []
        for start, stop in self.spans:
            end = n if stop is None else stop
            if start >= n or end > n:
                raise ValueError(f"{what} {_span_text(start, stop)} out of range: only "
                                 f"0 … {n - 1}")
            out.append(np.arange(start, end))
        return np.unique(np.concatenate(out))

    def mask(self, n: int, what: str) -> np.ndarray:
        m = np.zeros(n, bool)
        m[self.indices(n, what)] = True
        return m

    def __str__(self) -> str:
        return ",".join(_span_text(a, b) for a, b in self.spans)

    @classmethod
    def parse(cls, text: str, what: str) -> Selection:
        spans = []
        for part in text.split(","):
            m = re.fullmatch(r"\s*(\d*)\s*(?:(:)\s*(\d*))?\s*", part)
            if not m or (not m[2] and not m[1]):
                raise ValueError(f"{what} {show(part)} is not an index or a slice like 0:10")
            start = int(m[1]) if m[1] else 0
            stop = (int(m[3]) if m[3] else None) if m[2] else start + 1
            if stop is not None and stop <= start:
                raise ValueError(f"{what} {part.strip()} selects nothing (stop <= start)")
            spans.append((start, stop))
        return cls(tuple(spans))


ALL = Selection()
# The text form of each kind, as --help and the messages show it.
FORMS = {"clamp": "GATE=VALUE[@STEPS][#UNITS][/L<layer>]",
         "knockout": "UNITS[@STEPS][/L<layer>]",
         "edit_input": "zero|set=VALUE|add=VALUE[@STEPS][#INPUTS]",
         "scale": "GATE.PART=FACTOR[#UNITS][/L<layer>]",
         "cut": "h|s[@STEPS][#UNITS][/L<layer>]"}


def _span_text(start: int, stop: int | None) -> str:
    if stop == start + 1:
        return str(start)
    return f"{start if start else ''}:{'' if stop is None else stop}"


def _num_text(v: float) -> str:
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _finite(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{what} must be a number, got {show(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}")
    return float(value)


def _layer_ok(layer) -> None:
    if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int)
                              or layer < 0):
        raise ValueError(f"a layer is an integer >= 0, got {show(layer)}")


def _suffixes(steps: Selection = ALL, units: Selection = ALL, layer: int | None = None,
              ) -> str:
    return ((f"@{steps}" if steps.spans else "") + (f"#{units}" if units.spans else "")
            + (f"/L{layer}" if layer is not None else ""))


_SPEC = re.compile(r"(?P<head>[^@#/]*)(?:@(?P<steps>[^#/]*))?(?:#(?P<units>[^/]*))?"
                   r"(?:/L(?P<layer>\d+))?")


def _split(text: str, form: str, allowed: str = "@#/"):
    """(head, steps, units, layer) of ``HEAD[@STEPS][#UNITS][/LAYER]``; ``form`` is the
    option's form, for messages."""
    m = _SPEC.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{show(text)}: expected {form}, in that order")
    for mark, key in (("@", "steps"), ("#", "units"), ("/", "layer")):
        if m[key] is not None and mark not in allowed:
            raise ValueError(f"{show(text)}: takes no {key} ({mark}…); expected {form}")
    steps = Selection.parse(m["steps"], "steps") if m["steps"] is not None else ALL
    units = Selection.parse(m["units"], "units") if m["units"] is not None else ALL
    layer = int(m["layer"]) if m["layer"] is not None else None
    return m["head"].strip(), steps, units, layer


# ---- the interventions -----------------------------------------------------------------

@dataclass(frozen=True)
class Clamp:
    """gate(t)_j := value for the selected steps t and units j: the gate's pre-activation
    then gets no gradient there."""

    gate: str
    value: float
    steps: Selection = ALL
    units: Selection = ALL
    layer: int | None = None

    def __post_init__(self) -> None:
        if self.gate not in GATES:
            raise ValueError(f"unknown gate {show(self.gate)}; choose one of {', '.join(GATES)}")
        v = _finite(self.value, f"the value of gate {self.gate}")
        lo, hi = GATE_RANGE[self.gate]
        if not lo <= v <= hi:
            raise ValueError(f"gate {self.gate} takes values in [{lo:g}, {hi:g}], got {v:g}")
        object.__setattr__(self, "value", v)
        _layer_ok(self.layer)

    def __str__(self) -> str:
        return f"{self.gate}={_num_text(self.value)}" + _suffixes(self.steps, self.units,
                                                                   self.layer)

    @classmethod
    def parse(cls, text: str) -> Clamp:
        head, steps, units, layer = _split(text, FORMS["clamp"])
        gate, sep, value = head.partition("=")
        if not sep:
            raise ValueError(f"{show(text)}: expected GATE=VALUE, e.g. f=1")
        gate = gate.strip()
        if gate not in GATES:
            raise ValueError(f"unknown gate {show(gate)}; choose one of {', '.join(GATES)}")
        return cls(gate, finite_number(value.strip(), f"the value of gate {gate}"), steps, units,
                   layer)


@dataclass(frozen=True)
class Knockout:
    """s_j(t) := 0 and h_j(t) := 0 for the selected units j and steps t."""

    units: Selection
    steps: Selection = ALL
    layer: int | None = None

    def __post_init__(self) -> None:
        if self.units.everything:
            raise ValueError("a knockout names its units (e.g. 3 or 0:4)")
        _layer_ok(self.layer)

    def __str__(self) -> str:
        return f"{self.units}" + _suffixes(self.steps, ALL, self.layer)

    @classmethod
    def parse(cls, text: str) -> Knockout:
        head, steps, _, layer = _split(text, FORMS["knockout"], allowed="@/")
        if not head:
            raise ValueError(f"{show(text)}: name the units, e.g. 3 or 0:4")
        return cls(Selection.parse(head, "units"), steps, layer)


@dataclass(frozen=True)
class InputEdit:
    """x(t)_k := 0 (zero), := value (set) or += value (add) at the selected steps t and
    inputs k of layer 0."""

    mode: str
    value: float = 0.0
    steps: Selection = ALL
    units: Selection = ALL

    def __post_init__(self) -> None:
        if self.mode not in EDIT_MODES:
            raise ValueError(f"unknown input edit {show(self.mode)}; choose one of "
                             f"{', '.join(EDIT_MODES)}")
        object.__setattr__(self, "value", _finite(self.value, f"the {self.mode} value"))
        if self.mode == "zero" and self.value != 0.0:
            raise ValueError("zero takes no value")

    def __str__(self) -> str:
        head = "zero" if self.mode == "zero" else f"{self.mode}={_num_text(self.value)}"
        return head + _suffixes(self.steps, self.units)

    @classmethod
    def parse(cls, text: str) -> InputEdit:
        head, steps, units, _ = _split(text, FORMS["edit_input"], allowed="@#")
        mode, sep, value = head.partition("=")
        mode = mode.strip()
        if mode not in EDIT_MODES:
            raise ValueError(f"unknown input edit {show(mode)}; choose zero, set=VALUE or "
                             "add=VALUE")
        if (mode == "zero") == bool(sep):
            raise ValueError("zero takes no value; set and add need one (set=0.5)")
        return cls(mode, finite_number(value.strip(), f"the {mode} value") if sep else 0.0,
                   steps, units)


@dataclass(frozen=True)
class Scale:
    """Wk[j, part] *= factor for the selected units (rows) j of gate k's weight: ``x``
    the input columns, ``h`` the recurrent ones. For every step."""

    gate: str
    part: str
    factor: float
    units: Selection = ALL
    layer: int | None = None

    def __post_init__(self) -> None:
        if self.gate not in GATES:
            raise ValueError(f"unknown gate {show(self.gate)}; choose one of {', '.join(GATES)}")
        if self.part not in PARTS:
            raise ValueError(f"unknown weight part {show(self.part)}; choose x or h")
        object.__setattr__(self, "factor", _finite(self.factor, "a scale factor"))
        _layer_ok(self.layer)

    def __str__(self) -> str:
        return (f"{self.gate}.{self.part}={_num_text(self.factor)}"
                + _suffixes(ALL, self.units, self.layer))

    @classmethod
    def parse(cls, text: str) -> Scale:
        head, _, units, layer = _split(text, FORMS["scale"], allowed="#/")
        block, sep, factor = head.partition("=")
        gate, dot, part = block.strip().partition(".")
        if not sep or not dot:
            raise ValueError(f"{show(text)}: expected GATE.PART=FACTOR, e.g. f.h=0.5")
        if gate not in GATES:
            raise ValueError(f"unknown gate {show(gate)}; choose one of {', '.join(GATES)}")
        if part not in PARTS:
            raise ValueError(f"unknown weight part {show(part)}; choose x or h")
        return cls(gate, part, finite_number(factor.strip(), "a scale factor"), units, layer)


@dataclass(frozen=True)
class Cut:
    """bottom_diff_h (path ``h``) or bottom_diff_s (path ``s``) := 0 at the selected steps
    t and units j: what step t sends back to step t−1 along that path. A definition, not
    a gradient."""

    path: str
    steps: Selection = ALL
    units: Selection = ALL
    layer: int | None = None

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise ValueError(f"unknown path {show(self.path)}; cut h (the h-path) or s (the "
                             "carousel)")
        _layer_ok(self.layer)

    def __str__(self) -> str:
        return self.path + _suffixes(self.steps, self.units, self.layer)

    @classmethod
    def parse(cls, text: str) -> Cut:
        head, steps, units, layer = _split(text, FORMS["cut"])
        if head not in PATHS:
            raise ValueError(f"unknown path {show(head)}; choose h (the h-path) or s (the "
                             "carousel)")
        return cls(head, steps, units, layer)


CLASSES = {"clamp": Clamp, "knockout": Knockout, "edit_input": InputEdit, "scale": Scale,
           "cut": Cut}
PARSERS = {"clamp": Clamp.parse, "knockout": Knockout.parse, "edit_input": InputEdit.parse,
           "scale": Scale.parse, "cut": Cut.parse}
OPTIONS = {"clamp": "--clamp", "knockout": "--knockout", "edit_input": "--edit-input",
           "scale": "--scale", "cut": "--cut", "truncate": "--truncate"}


@dataclass(frozen=True)
class Interventions:
    """Everything a pass is run with besides the model and its data; empty by default
    (``bool(Interventions())`` is False). Applied in the order given: the last clamp of an
    entry wins, edits compose, scale factors multiply, knockouts and cuts add up."""

    clamp: tuple[Clamp, ...] = ()
    knockout: tuple[Knockout, ...] = ()
    edit_input: tuple[InputEdit, ...] = ()
    scale: tuple[Scale, ...] = ()
    cut: tuple[Cut, ...] = ()
    truncate: int | None = None

    def __post_init__(self) -> None:
        for kind, cls in CLASSES.items():
            items = getattr(self, kind)
            if not isinstance(items, (tuple, list)):
                raise ValueError(f"{kind} must be a tuple of {cls.__name__}")
            items = tuple(items)
            for item in items:
                if not isinstance(item, cls):
                    raise ValueError(f"{kind} holds a {type(item).__name__}, not a "
                                     f"{cls.__name__}")
            object.__setattr__(self, kind, items)
        k = self.truncate
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ValueError(f"--truncate takes a positive number of steps, got {show(k)}")

    def __bool__(self) -> bool:
        return any(getattr(self, kind) for kind in KINDS) or self.truncate is not None

    @property
    def cuts(self) -> bool:
        """Whether the backward is cut somewhere (then it is a definition, not dL/dθ)."""
        return bool(self.cut) or self.truncate is not None

    def without_cuts(self) -> Interventions:
        return Interventions(self.clamp, self.knockout, self.edit_input, self.scale)

    # ---- text forms ----

    def items(self) -> list[tuple[str, str]]:
        """(option, text) pairs in order: ``("--clamp", "f=1@0:10")`` …"""
        out = [(OPTIONS[kind], str(item)) for kind in KINDS for item in getattr(self, kind)]
        if self.truncate is not None:
            out.append((OPTIONS["truncate"], str(self.truncate)))
        return out

    def __str__(self) -> str:
        """The command-line options, ``--clamp f=1 --cut h``; empty for none."""
        return " ".join(f"{opt} {text}" for opt, text in self.items())

    def to_json(self) -> dict:
        """What a trace file's ``meta`` holds: each kind's text forms (absent when none)."""
        out: dict = {kind: [str(x) for x in getattr(self, kind)] for kind in KINDS
                     if getattr(self, kind)}
        if self.truncate is not None:
            out["truncate"] = self.truncate
        return out

    @classmethod
    def from_json(cls, data) -> Interventions:
        """The inverse of ``to_json``; a ValueError names what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("'interventions' must be a JSON object")
        unknown = [k for k in data if k not in (*KINDS, "truncate")]
        if unknown:
            raise ValueError(f"unknown intervention {show(unknown[0])}")
        parts: dict[str, Any] = {}
        for kind in KINDS:
            texts = data.get(kind, [])
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"'interventions' {show(kind)} must be a list of texts")
            parts[kind] = tuple(PARSERS[kind](t) for t in texts)
        return cls(**parts, truncate=data.get("truncate"))

    @classmethod
    def parse(cls, clamp=(), knockout=(), edit_input=(), scale=(), cut=(),
              truncate=None) -> Interventions:
        """From the command line's texts, each kind a list of them."""
        given = {"clamp": clamp, "knockout": knockout, "edit_input": edit_input,
                 "scale": scale, "cut": cut}
        parts: dict[str, Any] = {k: tuple(PARSERS[k](t) for t in v or ())
                                 for k, v in given.items()}
        return cls(**parts, truncate=truncate)

    # ---- checked against a model and a pass length ----

    def check(self, hiddens, inputs: int, steps: int) -> None:
        """ValueError (one line, naming the intervention) unless every layer, unit, input
        and step named exists: ``hiddens`` is H per layer, ``inputs`` layer 0's X."""
        L = len(hiddens)
        item: Any
        for opt, item in ((OPTIONS[k], x) for k in KINDS for x in getattr(self, k)):
            layer = getattr(item, "layer", None)
            if layer is not None and layer >= L:
                raise ValueError(f"{opt} {item}: layer {layer} out of range: the model has "
                                 f"{L} (0 … {L - 1})")
            try:
                if hasattr(item, "steps"):
                    try:
                        item.steps.indices(steps, "steps")
                    except ValueError as err:
                        raise ValueError(f"{err} (the pass has T={steps})") from None
                if isinstance(item, InputEdit):
                    item.units.indices(inputs, "inputs")
                    continue
                for n in ([layer] if layer is not None else range(L)):
                    try:
                        item.units.indices(hiddens[n], "units")
                    except ValueError as err:
                        raise ValueError(f"{err} (layer {n} has H={hiddens[n]})") from None
            except ValueError as err:
                raise ValueError(f"{opt} {item}: {err}") from None

    def layer_plan(self, layer: int, steps: int, inputs: int, hidden: int,
                   dtype) -> LayerPlan | None:
        """What applies to layer ``layer`` (X inputs, H units) over ``steps`` steps, as
        dense masks the loops index per step; None when nothing does."""
        def mine(item) -> bool:
            return item.layer is None or item.layer == layer

        T, X, H = steps, inputs, hidden
        plan = LayerPlan()
        clamps = [c for c in self.clamp if mine(c)]
        if clamps:
            mask, value = np.zeros((T, 4 * H), bool), np.zeros((T, 4 * H), dtype)
            for c in clamps:                            # rows stacked in GATES order
                rows = GATES.index(c.gate) * H + c.units.indices(H, "units")
                sel = np.ix_(c.steps.indices(T, "steps"), rows)
                mask[sel], value[sel] = True, c.value
            plan.clamped, plan.clamp_value = mask, value
        knocks = [k for k in self.knockout if mine(k)]
        if knocks:
            plan.knocked = np.zeros((T, H), bool)
            for k in knocks:
                sel = np.ix_(k.steps.indices(T, "steps"), k.units.indices(H, "units"))
                plan.knocked[sel] = True
        scales = [s for s in self.scale if mine(s)]
        if scales:
            plan.scale = np.ones((4 * H, X + H), dtype)
            for s in scales:
                rows = GATES.index(s.gate) * H + s.units.indices(H, "units")
                cols = slice(0, X) if s.part == "x" else slice(X, X + H)
                plan.scale[rows, cols] *= s.factor
        cuts = {p: [c for c in self.cut if mine(c) and c.path == p] for p in PATHS}
        for p in PATHS:
            if cuts[p] or self.truncate is not None:
                m = np.zeros((T, H), bool)
                for cut in cuts[p]:
                    m[np.ix_(cut.steps.indices(T, "steps"),
                             cut.units.indices(H, "units"))] = True
                if self.truncate is not None:
                    m[self.truncate::self.truncate] = True
                setattr(plan, f"cut_{p}", m)
        return plan if plan else None

    def input_edit(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(x edited, dx_edited/dx (T, X) of 0s and 1s or None when no entry is replaced):
        the edits applied in order to a copy of layer 0's input."""
        if not self.edit_input:
            return x, None
        x = np.array(x)
        keep = np.ones(x.shape, x.dtype)
        T, X = x.shape
        for e in self.edit_input:
            sel = np.ix_(e.steps.indices(T, "steps"), e.units.indices(X, "inputs"))
            if e.mode == "add":
                x[sel] += e.value
            else:
                x[sel] = e.value
                keep[sel] = 0.0
        return x, (None if np.all(keep == 1.0) else keep)

    def describe(self) -> str:
        return str(self) if self else "none"


NONE = Interventions()


class LayerPlan:
    """One layer's interventions as arrays the recorder's loops index per step:
    ``clamped`` (T, 4H) bool and ``clamp_value`` (T, 4H), rows in GATES order (i, f, o, g,
    the recorder's stacking); ``knocked`` (T, H) bool; ``scale`` (4H, X+H) factors of the
    stacked weights; ``cut_h``, ``cut_s`` (T, H) bool. Each None when not used."""

    def __init__(self):
        self.clamped: np.ndarray | None = None
        self.clamp_value: np.ndarray | None = None
        self.knocked: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.cut_h: np.ndarray | None = None
        self.cut_s: np.ndarray | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, k) is not None
                   for k in ("clamped", "knocked", "scale", "cut_h", "cut_s"))

    def at(self, t: int) -> StepPlan:
        """What the readable cell (``cell.py``) applies at step t."""
        return StepPlan(self, t)

    def scaled(self, p: Params) -> Params:
        """The weights the pass computes with: ``p`` with its scaled blocks scaled."""
        if self.scale is None:
            return p
        H = p.hidden
        arrays = p.as_dict()
        for n, k in enumerate(GATES):
            arrays[f"w{k}"] = arrays[f"w{k}"] * self.scale[n * H:(n + 1) * H]
        return Params(**arrays)

    def unscaled_grads(self, diff: Params) -> Params:
        """dL/dW from dL/d(cW), the gradient of the scaled weights: c * dL/d(cW)."""
        if self.scale is None:
            return diff
        return self.scaled(diff)

    def cut(self, t: int, bottom_diff_s: np.ndarray, bottom_diff_h: np.ndarray) -> None:
        """bottom_diff_s, bottom_diff_h := 0, in place, where step t's cuts act."""
        if self.cut_s is not None:
            bottom_diff_s[self.cut_s[t]] = 0.0
        if self.cut_h is not None:
            bottom_diff_h[self.cut_h[t]] = 0.0


class StepPlan:
    """One step of a LayerPlan, for the readable cell: ``gate`` holds a clamped gate,
    ``gate_input_grad`` zeroes the gradient of a clamped gate's pre-activation, ``knock``
    sets knocked-out units to 0."""

    def __init__(self, plan: LayerPlan, t: int):
        self.plan, self.t = plan, t

    def _rows(self, gate: str, H: int) -> slice:
        k = GATES.index(gate)
        return slice(k * H, (k + 1) * H)

    def gate(self, gate: str, value: np.ndarray) -> np.ndarray:
        """``value`` (H,) of ``gate`` with its clamped entries held at their values."""
        clamped, held = self.plan.clamped, self.plan.clamp_value
        if clamped is None or held is None:
            return value
        rows = self._rows(gate, value.shape[0])
        return np.where(clamped[self.t, rows], held[self.t, rows], value)

    def gate_input_grad(self, gate: str, grad: np.ndarray) -> np.ndarray:
        """``grad`` (H,) of a gate's pre-activation, 0 where the gate is clamped."""
        if self.plan.clamped is None:
            return grad
        return np.where(self.plan.clamped[self.t, self._rows(gate, grad.shape[0])], 0.0,
                        grad)

    def knock(self, v: np.ndarray) -> np.ndarray:
        """``v`` (H,) with the units knocked out at this step set to 0."""
        if self.plan.knocked is None:
            return v
        return np.where(self.plan.knocked[self.t], 0.0, v)
