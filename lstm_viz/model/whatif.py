"""What if: the session's interventions and the pass recorded with them, beside the
original. No Qt.

The interventions (``lstm_engine/interventions.py``; their equations in
docs/equations.md §10) are held as one ``Interventions`` and shown as text, one option a
line in the command line's grammar (``--clamp f=1@0:10#3``, ``--cut h``, ``--truncate
5``; the ``--`` may be left out). ``apply`` records the *intervened pass*: the same
parameters, inputs and targets as the original, recorded again with the interventions.
The recorder gets the ORIGINAL input (its ``x`` before any edit), so an input edit is
applied once. The debugger steps either pass (``step``): the one it steps is the
session's shown pass, so breakpoints, continue and every view work on it as on any other.

A new run (configure, open, training) drops the intervened pass; a pass that carries
interventions itself (a trace file of format 3) comes in as the intervened pass, the
original recorded again without them when its input was not edited (an edited input is
all the file keeps). Every problem is one ``UserError`` line and changes nothing.
"""

from __future__ import annotations

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.interventions import KINDS, NONE, OPTIONS, PARSERS, Interventions
from lstm_engine.model import ModelTrace, record_model
from lstm_engine.recorder import record
from lstm_engine.textsafe import show

from .layer_view import layer_traces

PASSES = ("original", "intervened")
# The words an option may be written with (command line: --edit-input; JSON: edit_input).
_KIND_OF = {**{opt[2:]: kind for kind, opt in OPTIONS.items()},
            **{kind: kind for kind in (*KINDS, "truncate")}}


# ---- text forms ------------------------------------------------------------------------------

def parse_interventions(text: str) -> Interventions:
    """The panel's text: options and their values, ``--clamp f=1@0:10 --cut h`` on one
    line or several (``--`` optional). UserError (one line) naming the first wrong one."""
    words = str(text).split()
    parts: dict[str, list] = {k: [] for k in KINDS}
    truncate = None
    if len(words) % 2:
        last = words[-1]
        raise UserError(f"{show(last)} has no value: write an option and its value, "
                        "e.g. --clamp f=1 or --cut h")
    for opt, value in zip(words[::2], words[1::2], strict=True):
        kind = _KIND_OF.get(opt.removeprefix("--"))
        if kind is None:
            raise UserError(f"unknown intervention {show(opt)}; choose one of "
                            + ", ".join(OPTIONS.values()))
        try:
            if kind == "truncate":
                if truncate is not None:
                    raise ValueError("is given twice")
                if not value.isdigit():
                    raise ValueError("takes a positive number of steps")
                truncate = int(value)
            else:
                parts[kind].append(PARSERS[kind](value))
        except ValueError as err:
            raise UserError(f"--{opt.removeprefix('--')} {show(value)}: {err}") from None
    try:
        return Interventions(**{k: tuple(v) for k, v in parts.items()}, truncate=truncate)
    except ValueError as err:
        raise UserError(str(err)) from None


def interventions_text(iv: Interventions) -> str:
    """One option a line, as ``parse_interventions`` reads it back."""
    return "\n".join(f"{opt} {text}" for opt, text in iv.items())


def interventions_words(iv: Interventions) -> str:
    """One word for a session text (no spaces): ``clamp=f=1;cut=h``."""
    return ";".join(f"{opt[2:]}={text}" for opt, text in iv.items())


def parse_words(word: str) -> Interventions:
    """The inverse of ``interventions_words``."""
    pairs = []
    for item in word.split(";"):
        opt, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"whatif={show(word)}: {show(item)} is not OPTION=VALUE")
        pairs.append(f"--{opt} {value}")
    return parse_interventions(" ".join(pairs))


# ---- what a right-click offers ---------------------------------------------------------------

def choices(kind: str, *, t: int, unit: int | None = None, gate: str | None = None,
            layer: int | None = None, steps: int = 0) -> list[tuple[str, str]]:
    """(label, option line) of the interventions a right-click offers where it landed:
    ``unit`` (a unit in a heatmap), ``gate`` (a gate in the carousel) or ``step`` (a step
    on the timeline), at step ``t`` of layer ``layer`` (None: a one-layer pass)."""
    at = f"/L{layer}" if layer is not None else ""
    if kind == "unit":
        out = [(f"Knock out cell {unit} from step {t} on", f"--knockout {unit}@{t}:{at}")]
        out += [(f"Clamp {g} of unit {unit} to {v} at every step",
                 f"--clamp {g}={v}#{unit}{at}") for g, v in (("f", 1), ("f", 0), ("i", 0),
                                                             ("o", 1))]
        return out
    if kind == "gate":
        ends = {"i": (0, 1), "f": (1, 0), "o": (1, 0), "g": (0, 1)}[gate or "f"]
        out = [(f"Clamp {gate} to {v} at every step", f"--clamp {gate}={v}{at}")
               for v in ends]
        out.append((f"Clamp {gate} to {ends[0]} at step {t} only",
                    f"--clamp {gate}={ends[0]}@{t}{at}"))
        out += [(f"Scale {gate}'s {part} block by 0.5", f"--scale {gate}.{part}=0.5{at}")
                for part in ("x", "h")]
        return out
    if kind == "step":
        out = [(f"Zero x({t})", f"--edit-input zero@{t}"),
               (f"Set x({t}) to 1", f"--edit-input set=1@{t}"),
               (f"Add 0.5 to x({t})", f"--edit-input add=0.5@{t}"),
               (f"Cut the h-path at step {t}", f"--cut h@{t}{at}"),
               (f"Cut the carousel at step {t}", f"--cut s@{t}{at}"),
               ("Cut the h-path at every step (the 1997 truncation)", f"--cut h{at}"),
               ("Cut the carousel at every step", f"--cut s{at}")]
        if 0 < t < steps:
            out.append((f"Truncate BPTT every {t} steps", f"--truncate {t}"))
        return out
    raise ValueError(f"no choices for {kind!r}")


# ---- the session's part ----------------------------------------------------------------------

def _sizes(pass_) -> tuple[tuple[int, ...], int, int]:
    layers = layer_traces(pass_)
    return tuple(tr.hidden for tr in layers), layers[0].inputs, layers[0].steps


def record_with(pass_, config, iv: Interventions):
    """``pass_`` (an ordinary Trace or ModelTrace, recorded under ``config``) recorded again
    with ``iv``, from its own (unedited) input. UserError when it cannot be."""
    try:
        with np.errstate(all="ignore"):
            if isinstance(pass_, ModelTrace):
                inputs = pass_.tokens if pass_.tokens is not None else pass_.x
                new = record_model(pass_.model, inputs, pass_.y, dtype=config.dtype,
                                   interventions=iv)
                return _with_batch(new, pass_)
            if config.backward and config.backward != config.variant:
                raise UserError("interventions run on the true backward; this run uses "
                                f"the {config.backward} backward for a {config.variant} "
                                "cell (configure the right backward first)")
            return record(pass_.params, pass_.x, pass_.y, config.variant, pass_.loss_fn,
                          config.dtype, interventions=iv)
    except ValueError as err:
        raise UserError(f"cannot record the intervened pass: {err}") from None


def _with_batch(new: ModelTrace, old: ModelTrace) -> ModelTrace:
    """``new`` keeping the sequence and batch ``old`` came from (as runs.py does)."""
    return ModelTrace(new.model, new.layers, new.tokens, new.x, new.y, new.loss, new.outputs,
                      new.loss_grads, new.dE, old.sequence, old.batch, new.interventions,
                      vocab=old.vocab)


class WhatIf:
    """The interventions of ``session`` and the pass recorded with them."""

    def __init__(self, session):
        self._s = session
        self.interventions: Interventions = NONE
        self._original = None           # the pass without interventions (None: unknown)
        self._recover = None            # a pass whose original is recorded when asked for
        self.intervened = None          # the pass recorded with ``applied``
        self.applied: Interventions = NONE
        self.stepping = "original"      # which pass the debugger steps (the shown one)
        self.note = ""                  # why the original is missing, if it is
        self._switching = False
        self._take_shown()
        session.events.trace_changed.connect(self._on_trace)

    # ---- state ----

    @property
    def text(self) -> str:
        return interventions_text(self.interventions)

    @property
    def original(self):
        """The pass without interventions (None: not known); for a pass that came with
        interventions it is recorded again without them the first time it is asked for."""
        if self._original is None and self._recover is not None:
            self._original = record_with(self._recover, self._s.config, NONE)
            self._recover = None
        return self._original

    @property
    def has_pass(self) -> bool:
        return self.intervened is not None

    def pass_of(self, which: str):
        """The whole pass ``which`` ('original' or 'intervened'); None if there is none."""
        if which not in PASSES:
            raise UserError(f"there is no pass {show(which)}; choose original or intervened")
        return self.original if which == "original" else self.intervened

    def layer_pass(self, which: str, layer: int | None = None):
        """That pass's Trace of ``layer`` (default: the layer in view)."""
        p = self.pass_of(which)
        if p is None:
            return None
        return layer_traces(p)[self._s.view_layer if layer is None else layer]

    def base(self):
        """The pass interventions are applied to: the original."""
        if self.original is None:
            raise UserError("the original pass is not known: " + (self.note or "none"))
        return self.original

    # ---- changes ----

    def set_text(self, text: str) -> bool:
        """Hold the interventions ``text`` says, checked against the pass's sizes;
        UserError (one line) and nothing changes when it is wrong. True if they changed."""
        iv = parse_interventions(text)
        self._check(iv)
        if iv == self.interventions:
            return False
        self.interventions = iv
        self._s.events.whatif_changed.emit()
        return True

    def add(self, line: str) -> bool:
        """Add one option line (``--clamp f=1@3``) to the interventions."""
        return self.set_text(f"{self.text}\n{line}")

    def _check(self, iv: Interventions) -> None:
        try:
            iv.check(*_sizes(self._s.layers.shown_pass))
        except ValueError as err:
            raise UserError(str(err)) from None

    def apply(self, text: str | None = None):
        """Record the intervened pass (from ``text`` when given); it is shown at once when
        the debugger steps it. Returns that pass."""
        if text is not None:
            iv = parse_interventions(text)
            self._check(iv)
        else:
            iv = self.interventions
        if not iv:
            raise UserError("no interventions to apply: right-click a unit, a gate or a "
                            "step, or write one (e.g. --cut h)")
        new = record_with(self.base(), self._s.config, iv)
        self.interventions, self.applied, self.intervened = iv, iv, new
        if self.stepping == "intervened":
            self._show(new)
        self._s.events.whatif_changed.emit()
        return new

    def clear(self) -> bool:
        """No interventions, no intervened pass; the debugger steps the original."""
        if not self.interventions and self.intervened is None:
            return False
        if self.stepping == "intervened" and self.original is not None:
            self._show(self.original)
        self.stepping = "original"
        self.interventions, self.applied, self.intervened = NONE, NONE, None
        self._s.events.whatif_changed.emit()
        return True

    def step(self, which: str) -> bool:
        """Make the debugger step pass ``which``: the session shows it (cursor, layer and
        breakpoints kept). UserError when there is no such pass."""
        p = self.pass_of(which)
        if p is None:
            raise UserError("apply interventions first: there is no intervened pass"
                            if which == "intervened" else "the original pass is not known")
        if which == self.stepping:
            return False
        self.stepping = which
        self._show(p)
        self._s.events.whatif_changed.emit()
        return True

    def restore(self, iv: Interventions, applied: bool, stepping: str = "original") -> None:
        """Hold ``iv`` (a saved session's or a text's), recorded again when it had been
        applied, and step the pass it stepped. UserError and nothing changes when they do
        not fit the pass."""
        if stepping not in PASSES:
            raise UserError(f"there is no pass {show(stepping)}; choose original or "
                            "intervened")
        if stepping == "intervened" and not applied:
            raise UserError("the intervened pass is stepped but was never applied")
        self._check(iv)
        if applied and iv:
            self.apply(interventions_text(iv))
            self.step(stepping)
        elif iv != self.interventions:
            self.interventions = iv
            self._s.events.whatif_changed.emit()

    def take_from(self, other: WhatIf) -> None:
        """Hold what ``other`` (a session read from a file or a text) holds."""
        self._original, self._recover = other._original, other._recover
        self.intervened, self.interventions = other.intervened, other.interventions
        self.applied, self.stepping, self.note = other.applied, other.stepping, other.note
        self._s.events.whatif_changed.emit()

    def to_json(self) -> dict:
        """What a saved session keeps: the interventions, whether they were applied (the
        intervened pass is recorded again on opening) and the pass stepped."""
        return {"interventions": self.interventions.to_json(), "applied": self.has_pass,
                "stepping": self.stepping}

    def saved_pass(self):
        """The pass a saved session keeps: the original (the intervened one is recorded
        again from it), or the shown pass when the original is not known."""
        original = self.original
        return original if original is not None else self._s.layers.shown_pass

    def _show(self, pass_) -> None:
        s = self._s
        self._switching = True
        try:
            s.replace_pass(pass_, s.config, path=s.path, keep_cursor=True,
                           end_training=False)
        finally:
            self._switching = False

    def _on_trace(self, *_):
        if self._switching or self._s.layers.shown_pass in (self._original, self.intervened):
            return
        before = (self.interventions, self.intervened is None, self.stepping, self.note)
        self._take_shown()
        if before != (self.interventions, self.intervened is None, self.stepping, self.note):
            self._s.events.whatif_changed.emit()       # a real change only (events.py)

    def _take_shown(self) -> None:
        """A new run: the shown pass is the original, or (when it carries interventions)
        the intervened one."""
        shown = self._s.layers.shown_pass
        iv = shown.interventions
        self.note = ""
        self.interventions = self.applied = iv
        self._recover = None
        if not iv:
            self._original, self.intervened, self.stepping = shown, None, "original"
            return
        self._original, self.intervened, self.stepping = None, shown, "intervened"
        if iv.edit_input:
            self.note = "the file keeps the edited input only"
        else:
            self._recover = shown
