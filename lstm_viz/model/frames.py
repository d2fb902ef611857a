"""The frame model: what a position in a recorded pass is, and how the cursor moves.

A recorded pass of T steps is a list of frames, in the order the computation ran::

    fwd:0:xc  fwd:0:g … fwd:0:o  fwd:0:s  fwd:0      (fwd:0 = after fwd:0's last line, h)
    fwd:1:xc  …                   fwd:T-1
    loss
    bwd:T-1:ds  bwd:T-1:do … bwd:T-1:bottom_diff_s  bwd:T-1   (= after bottom_diff_h)
    …           bwd:0

Semantics (Python-Tutor style, "just ran"): a statement frame ``fwd:3:g`` is the state
right *after* statement ``g`` of forward step 3 ran, and the step frame ``fwd:3`` is the
state after the whole step, i.e. after its last statement: ``fwd:3`` and ``fwd:3:h`` are
one frame (``fwd:3:h`` parses to it; its text form is ``fwd:3``). So every frame is a
distinct state, ``len = 7T + 1 + 20T``, the first frame is ``fwd:0:xc`` and the last
``bwd:0``. The loss frame is the state after the forward pass and the loss.

Moves (all clamp at the ends; the session applies them):

==================  ======================================================================
next / previous     one frame (statement) forwards / backwards
step into           the next statement (= next frame); back into: the previous one
step over           to the next step frame (end of this step if inside one, else of the
                    next step; the loss counts as a step); back over: the previous one
step out            to the end of this step; at a step's end, to the end of this pass
                    (forward -> loss, loss and backward -> last frame)
step back out       to the first statement of this step; at it, to the start of this
                    pass (forward and loss -> first frame, backward -> loss)
==================  ======================================================================

Stacked layers (L > 1, docs/frames.md): each time step runs every layer's cell, in the
order of ``lstm_engine/model_driver.py`` — forward ``for t: for l = 0…L-1``, backward
``for t = T-1…0: for l = L-1…0`` — and each frame names its layer: ``fwd:3:L1:s``,
``fwd:3:L1`` (layer 1's step end), ``bwd:2:L0:ds``. Step over goes one time step through
all layers (to the end of the time step: the top layer's cell forwards, layer 0's
backwards); step into enters each layer's cell in turn; step out goes to the end of this
layer's cell, at it to the end of the time step, then of the pass (and the reverse moves
mirror them). ``fwd:3``/``bwd:2`` without a layer name the end of that whole time step.
With one layer nothing changes: no frame has a layer and the texts are the ones above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.errors import UserError

PHASES = ("fwd", "loss", "bwd")
STATEMENTS = {"fwd": FORWARD_STATEMENTS, "bwd": BACKWARD_STATEMENTS, "loss": ()}
PHASE_WORDS = {"fwd": "forward", "loss": "loss", "bwd": "backward"}
_LAYER = re.compile(r"L(\d+)")                # the layer part of a frame text: L0, L1, …
_FORMS = "fwd:3, fwd:3:s, loss, bwd:2, bwd:2:ds (with layers: fwd:3:L1:s, bwd:2:L0)"


@dataclass(frozen=True)
class Frame:
    """``phase`` in fwd/loss/bwd; ``t`` the time step (None for the loss); ``stmt`` the
    statement that just ran, None for a step frame (its last statement); ``layer`` the
    layer whose cell runs (None for the loss and in a one-layer run)."""

    phase: str
    t: int | None = None
    stmt: str | None = None
    layer: int | None = None

    def __post_init__(self):
        if self.phase not in PHASES:
            raise UserError(f"unknown phase {self.phase!r}; frames look like {_FORMS}")
        if self.phase == "loss":
            if self.t is not None or self.stmt is not None or self.layer is not None:
                raise UserError("the loss frame has no step, layer or statement")
            return
        if self.layer is not None and (not isinstance(self.layer, int)
                                       or isinstance(self.layer, bool) or self.layer < 0):
            raise UserError(f"the layer must be an integer >= 0, got {self.layer!r}")
        if not isinstance(self.t, int) or isinstance(self.t, bool) or self.t < 0:
            raise UserError(f"the time step must be an integer >= 0, got {self.t!r}")
        names = STATEMENTS[self.phase]
        if self.stmt is not None and self.stmt not in names:
            raise UserError(f"{PHASE_WORDS[self.phase]} steps have no statement "
                            f"{self.stmt!r}; choose one of {', '.join(names)}")
        if self.stmt == names[-1]:                      # the last statement is the step frame
            object.__setattr__(self, "stmt", None)

    def __str__(self) -> str:
        if self.phase == "loss":
            return "loss"
        step = f"{self.phase}:{self.t}"
        if self.layer is not None:
            step = f"{step}:L{self.layer}"
        return step if self.stmt is None else f"{step}:{self.stmt}"

    @classmethod
    def parse(cls, text: str) -> Frame:
        """The frame whose text form is ``text``: fwd:3, fwd:3:s, loss, bwd:2, bwd:2:ds,
        and with a layer part fwd:3:L1, fwd:3:L1:s, bwd:2:L0:ds."""
        parts = str(text).strip().split(":")
        if parts == ["loss"]:
            return cls("loss")
        layer = None
        if len(parts) >= 3 and _LAYER.fullmatch(parts[2]):
            layer = int(parts[2][1:])
            del parts[2]
        if len(parts) not in (2, 3) or parts[0] not in ("fwd", "bwd"):
            raise UserError(f"cannot read the frame {text!r}; frames look like {_FORMS}")
        try:
            t = int(parts[1])
        except ValueError:
            raise UserError(f"cannot read the frame {text!r}: {parts[1]!r} is not a "
                            f"time step") from None
        return cls(parts[0], t, parts[2] if len(parts) == 3 else None, layer)

    @property
    def step(self) -> int:
        """``t`` of a step frame (forward or backward); the loss frame has none."""
        if self.t is None:
            raise ValueError("the loss frame has no time step")
        return self.t

    @property
    def statement(self) -> str | None:
        """The statement that just ran (the last one for a step frame; None for the loss)."""
        if self.phase == "loss":
            return None
        return self.stmt or STATEMENTS[self.phase][-1]

    @property
    def statement_index(self) -> int:
        """Position of ``statement`` in its function (-1 for the loss)."""
        if self.phase == "loss":
            return -1
        return STATEMENTS[self.phase].index(self.statement)

    @property
    def is_step(self) -> bool:
        return self.phase != "loss" and self.stmt is None


class FrameModel:
    """The frames of a pass of ``steps`` time steps through ``layers`` stacked cells,
    addressed by index (no per-frame objects). A *cell* is one layer's statements at one
    time step; a *time step* is every layer's cell at that step (with one layer the two
    are the same, and so is everything below to the one-layer model)."""

    NF = len(FORWARD_STATEMENTS)
    NB = len(BACKWARD_STATEMENTS)

    def __init__(self, steps: int, layers: int = 1):
        if steps < 1:
            raise ValueError("a pass has at least one step")
        if layers < 1:
            raise ValueError("a model has at least one layer")
        self.steps = steps
        self.layers = layers
        self.fwd_block = self.NF * layers           # frames of one forward time step
        self.bwd_block = self.NB * layers           # frames of one backward time step
        self.loss_index = self.fwd_block * steps
        self.backward_start = self.loss_index + 1
        self.count = self.backward_start + self.bwd_block * steps
        self._last: tuple[int, Frame] | None = None

    def __len__(self) -> int:
        return self.count

    @property
    def last(self) -> int:
        return self.count - 1

    def clamp(self, index: int) -> int:
        return min(max(int(index), 0), self.count - 1)

    # ---- index <-> frame ------------------------------------------------------------------

    def frame(self, index: int) -> Frame:
        last = self._last
        if last is not None and last[0] == index:
            return last[1]
        frame = self._frame(index)
        self._last = (index, frame)
        return frame

    def _frame(self, index: int) -> Frame:
        if not 0 <= index < self.count:
            raise IndexError(f"frame index {index} outside 0…{self.count - 1}")
        named = self.layers > 1                     # one-layer frames carry no layer
        if index < self.loss_index:
            t, r = divmod(index, self.fwd_block)
            layer, k = divmod(r, self.NF)
            return Frame("fwd", t, FORWARD_STATEMENTS[k], layer if named else None)
        if index == self.loss_index:
            return Frame("loss")
        n, r = divmod(index - self.backward_start, self.bwd_block)
        j, k = divmod(r, self.NB)
        return Frame("bwd", self.steps - 1 - n, BACKWARD_STATEMENTS[k],
                     self.layers - 1 - j if named else None)

    def index(self, frame: Frame | str) -> int:
        """The index of a frame (or its text). With layers, a step frame without one
        (``fwd:3``, ``bwd:2``) is the end of that whole time step; a statement needs its
        layer; a one-layer run has no layer part. UserError for a frame the run lacks."""
        if isinstance(frame, str):
            frame = Frame.parse(frame)
        if frame.phase == "loss":
            return self.loss_index
        t = frame.t
        assert t is not None                    # a step frame's (Frame checks it has one)
        if t >= self.steps:
            raise UserError(f"frame {frame} is past the last step ({self.steps - 1}) "
                            f"of this run")
        layer = frame.layer
        if layer is None:
            if self.layers > 1 and not frame.is_step:
                raise UserError(f"frame {frame}: this model has {self.layers} layers; name "
                                f"one, e.g. {frame.phase}:{t}:L0:{frame.stmt}")
            layer = self.layers - 1 if frame.phase == "fwd" else 0   # the time step's end
        elif self.layers == 1:
            raise UserError(f"frame {frame}: this run has one layer; leave out the layer "
                            f"part (L{layer})")
        elif layer >= self.layers:
            raise UserError(f"frame {frame}: this model has layers 0…{self.layers - 1}")
        k = frame.statement_index
        if frame.phase == "fwd":
            return t * self.fwd_block + layer * self.NF + k
        return (self.backward_start + (self.steps - 1 - t) * self.bwd_block
                + (self.layers - 1 - layer) * self.NB + k)

    def text(self, index: int) -> str:
        return str(self.frame(index))

    # ---- structure ----------------------------------------------------------------------

    def step_bounds(self, index: int) -> tuple[int, int]:
        """(first, last) index of the cell holding ``index`` (one layer at one step); the
        loss is a step of its own."""
        if index < self.loss_index:
            first = index - index % self.NF
            return first, first + self.NF - 1
        if index == self.loss_index:
            return index, index
        first = index - (index - self.backward_start) % self.NB
        return first, first + self.NB - 1

    def time_bounds(self, index: int) -> tuple[int, int]:
        """(first, last) index of the time step holding ``index``: every layer's cell at
        that step (the cell itself with one layer); the loss is a step of its own."""
        if index < self.loss_index:
            first = index - index % self.fwd_block
            return first, first + self.fwd_block - 1
        if index == self.loss_index:
            return index, index
        first = index - (index - self.backward_start) % self.bwd_block
        return first, first + self.bwd_block - 1

    def is_step_end(self, index: int) -> bool:
        """Whether ``index`` ends a whole time step (or is the loss)."""
        return self.time_bounds(index)[1] == index

    def step_boundaries(self) -> list[int]:
        """Index of the first frame of every time step after the first (for tick marks)."""
        fwd = range(self.fwd_block, self.loss_index + 1, self.fwd_block)
        bwd = range(self.backward_start, self.count, self.bwd_block)
        return [*fwd, *bwd]

    # ---- moves (pure functions of an index) ----------------------------------------------

    def next_step_end(self, index: int) -> int:
        """Step over: the first end of a whole time step (or the loss) after ``index``."""
        if index >= self.last:
            return self.last
        end = self.time_bounds(index)[1]
        return end if end > index else self.time_bounds(index + 1)[1]

    def prev_step_end(self, index: int) -> int:
        """Step back over: the end of the time step before this one, else frame 0."""
        first = self.time_bounds(index)[0]
        return first - 1 if first > 0 else 0                # the end of the previous step

    def step_out(self, index: int) -> int:
        """The end of this cell; at it, of this time step; at that, of this pass."""
        for end in (self.step_bounds(index)[1], self.time_bounds(index)[1]):
            if end != index:
                return end
        return self.loss_index if index < self.loss_index else self.last

    def step_back_out(self, index: int) -> int:
        """The first statement of this cell; at it, of this time step; at that, the start
        of this pass."""
        for first in (self.step_bounds(index)[0], self.time_bounds(index)[0]):
            if first != index:
                return first
        return self.loss_index if index > self.loss_index else 0

    # ---- one layer's view ------------------------------------------------------------------

    def local_frame(self, frame: Frame, layer: int) -> Frame:
        """The one-layer frame (no layer part) that says what is known of layer ``layer``
        at the global frame ``frame``; see ``local_frame``."""
        return local_frame(frame, layer, self.steps)


def local_frame(frame: Frame, layer: int, steps: int) -> Frame:
    """What is known of layer ``layer`` at the global frame ``frame`` of a pass of
    ``steps`` steps, as a frame of that layer's own one-layer pass.

    Forward (``for t: for l = 0…L-1``) at the cell of layer r, step t: layer r is at this
    very statement; a layer below it finished step t (``fwd:t``); a layer above finished
    step t-1 (``fwd:t-1``). Backward (``for t = T-1…0: for l = L-1…0``) mirrored: a layer
    above finished backward step t (``bwd:t``), one below finished step t+1 (``bwd:t+1``,
    or the loss at t = T-1, when its backward has not begun). The loss is the loss for
    every layer. One case has no one-layer frame: a layer above the running one at forward
    step 0 has run nothing yet; it maps to ``fwd:0:xc``, its first statement (what it will
    read), the nearest state a one-layer pass has.
    """
    if frame.phase == "loss":
        return frame
    t = frame.step
    running = frame.layer if frame.layer is not None else layer
    if running == layer:
        return Frame(frame.phase, t, frame.stmt)
    if frame.phase == "fwd":
        if layer < running:
            return Frame("fwd", t)
        return Frame("fwd", t - 1) if t > 0 else Frame("fwd", 0, FORWARD_STATEMENTS[0])
    if layer > running:
        return Frame("bwd", t)
    return Frame("bwd", t + 1) if t + 1 < steps else Frame("loss")


# ---- what each statement computes, for labels ---------------------------------------------

_FORWARD_MATH = {
    "xc": "xc = [x, h_prev]",
    "g": "g = tanh(Wg·xc + bg)",
    "i": "i = sigmoid(Wi·xc + bi)",
    "f": "f = sigmoid(Wf·xc + bf)",
    "o": "o = sigmoid(Wo·xc + bo)",
    "s": "s = g*i + s_prev*f",
    "h": "h = s*o",
}
_BACKWARD_MATH = {
    "ds": "ds = o*top_diff_h + top_diff_s",
    "do": "do = s*top_diff_h",
    "di": "di = g*ds", "dg": "dg = i*ds", "df": "df = s_prev*ds",
    "di_input": "di_input = i(1-i)*di", "df_input": "df_input = f(1-f)*df",
    "do_input": "do_input = o(1-o)*do", "dg_input": "dg_input = (1-g²)*dg",
    **{f"w{k}_diff": f"w{k}_diff += outer(d{k}_input, xc)" for k in "ifog"},
    **{f"b{k}_diff": f"b{k}_diff += d{k}_input" for k in "ifog"},
    "dxc": "dxc = Wiᵀdi_input + Wfᵀdf_input + Woᵀdo_input + Wgᵀdg_input",
    "bottom_diff_s": "bottom_diff_s = ds*f",
    "bottom_diff_h": "bottom_diff_h = dxc[X:]",
}
_STANDARD_MATH = {
    "h": "h = o*tanh(s)",
    "ds": "ds = o*(1-tanh(s)²)*top_diff_h + top_diff_s",
    "do": "do = tanh(s)*top_diff_h",
}


def formula(phase: str, stmt: str, variant: str = "seed") -> str:
    """The mathematics of one statement, as docs/equations.md writes it."""
    if variant == "standard" and stmt in _STANDARD_MATH:
        return _STANDARD_MATH[stmt]
    return (_FORWARD_MATH if phase == "fwd" else _BACKWARD_MATH)[stmt]


def describe(frame: Frame, variant: str = "seed", total_loss: float | None = None) -> str:
    """``backward t=2 · ds = o*top_diff_h + top_diff_s`` (what the frame computes)."""
    if frame.phase == "loss":
        value = "" if total_loss is None else f" = {total_loss:.6g}"
        return f"loss · L = Σ_t l(t){value}"
    statement = frame.statement
    assert statement is not None                # a step frame's (the loss returned above)
    what = formula(frame.phase, statement, variant)
    step = f"{PHASE_WORDS[frame.phase]} t={frame.t}"
    if frame.layer is not None:
        step = f"{step} layer {frame.layer}"
    if frame.is_step:
        return f"{step} · {what} · step done"
    return f"{step} · {what}"
