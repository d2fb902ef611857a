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
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_engine.cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS
from lstm_engine.errors import UserError

PHASES = ("fwd", "loss", "bwd")
STATEMENTS = {"fwd": FORWARD_STATEMENTS, "bwd": BACKWARD_STATEMENTS, "loss": ()}
PHASE_WORDS = {"fwd": "forward", "loss": "loss", "bwd": "backward"}


@dataclass(frozen=True)
class Frame:
    """``phase`` in fwd/loss/bwd; ``t`` the time step (None for the loss); ``stmt`` the
    statement that just ran, None for a step frame (its last statement)."""

    phase: str
    t: int | None = None
    stmt: str | None = None

    def __post_init__(self):
        if self.phase not in PHASES:
            raise UserError(f"unknown phase {self.phase!r}; frames look like fwd:3, "
                            f"fwd:3:s, loss, bwd:2, bwd:2:ds")
        if self.phase == "loss":
            if self.t is not None or self.stmt is not None:
                raise UserError("the loss frame has no step or statement")
            return
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
        return step if self.stmt is None else f"{step}:{self.stmt}"

    @classmethod
    def parse(cls, text: str) -> Frame:
        """The frame whose text form is ``text``: fwd:3, fwd:3:s, loss, bwd:2, bwd:2:ds."""
        parts = str(text).strip().split(":")
        if parts == ["loss"]:
            return cls("loss")
        if len(parts) not in (2, 3) or parts[0] not in ("fwd", "bwd"):
            raise UserError(f"cannot read the frame {text!r}; frames look like fwd:3, "
                            f"fwd:3:s, loss, bwd:2, bwd:2:ds")
        try:
            t = int(parts[1])
        except ValueError:
            raise UserError(f"cannot read the frame {text!r}: {parts[1]!r} is not a "
                            f"time step") from None
        return cls(parts[0], t, parts[2] if len(parts) == 3 else None)

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
    """The frames of a pass of ``steps`` time steps, addressed by index (no per-frame objects)."""

    NF = len(FORWARD_STATEMENTS)
    NB = len(BACKWARD_STATEMENTS)

    def __init__(self, steps: int):
        if steps < 1:
            raise ValueError("a pass has at least one step")
        self.steps = steps
        self.loss_index = self.NF * steps
        self.backward_start = self.loss_index + 1
        self.count = self.backward_start + self.NB * steps
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
        if index < self.loss_index:
            t, k = divmod(index, self.NF)
            return Frame("fwd", t, FORWARD_STATEMENTS[k])
        if index == self.loss_index:
            return Frame("loss")
        n, k = divmod(index - self.backward_start, self.NB)
        return Frame("bwd", self.steps - 1 - n, BACKWARD_STATEMENTS[k])

    def index(self, frame: Frame | str) -> int:
        if isinstance(frame, str):
            frame = Frame.parse(frame)
        if frame.phase == "loss":
            return self.loss_index
        t = frame.t
        assert t is not None                    # a step frame's (Frame checks it has one)
        if t >= self.steps:
            raise UserError(f"frame {frame} is past the last step ({self.steps - 1}) "
                            f"of this run")
        k = frame.statement_index
        if frame.phase == "fwd":
            return t * self.NF + k
        return self.backward_start + (self.steps - 1 - t) * self.NB + k

    def text(self, index: int) -> str:
        return str(self.frame(index))

    # ---- structure ----------------------------------------------------------------------

    def step_bounds(self, index: int) -> tuple[int, int]:
        """(first, last) index of the step holding ``index``; the loss is a step of its own."""
        if index < self.loss_index:
            first = index - index % self.NF
            return first, first + self.NF - 1
        if index == self.loss_index:
            return index, index
        first = index - (index - self.backward_start) % self.NB
        return first, first + self.NB - 1

    def is_step_end(self, index: int) -> bool:
        return self.step_bounds(index)[1] == index

    def step_boundaries(self) -> list[int]:
        """Index of the first frame of every step after the first (for tick marks)."""
        fwd = range(self.NF, self.loss_index + 1, self.NF)
        bwd = range(self.backward_start, self.count, self.NB)
        return [*fwd, *bwd]

    # ---- moves (pure functions of an index) ----------------------------------------------

    def next_step_end(self, index: int) -> int:
        """Step over: the first step frame (or the loss) after ``index``."""
        if index >= self.last:
            return self.last
        end = self.step_bounds(index)[1]
        return end if end > index else self.step_bounds(index + 1)[1]

    def prev_step_end(self, index: int) -> int:
        """Step back over: the last step frame (or the loss) before ``index``, else frame 0."""
        first = self.step_bounds(index)[0]
        return first - 1 if first > 0 else 0                # the end of the previous step

    def step_out(self, index: int) -> int:
        end = self.step_bounds(index)[1]
        if end != index:
            return end
        return self.loss_index if index < self.loss_index else self.last

    def step_back_out(self, index: int) -> int:
        first = self.step_bounds(index)[0]
        if first != index:
            return first
        return self.loss_index if index > self.loss_index else 0


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
    if frame.is_step:
        return f"{step} · {what} · step done"
    return f"{step} · {what}"
