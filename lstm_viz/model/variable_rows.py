"""The variables table's rows at a frame, as the texts it shows. No Qt.

One row per quantity (``frame_data.VARIABLES``): its name, the step it belongs to, its
shape, min, max, norm and NaN/Inf count (``FrameData.stats``). A row is formatted the
first time it is asked for at a frame and kept until the frame or the pass changes: the
table asks for every role of every visible cell on each repaint, and rows never scrolled
into view are never computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .frame_data import ACCUMULATORS, VARIABLES, FrameData

COLUMNS = ("variable", "step", "shape", "min", "max", "‖·‖", "NaN/Inf")


@dataclass(frozen=True)
class VariableRow:
    texts: tuple[str, ...]        # one per column
    known: bool                   # computed at this frame (else: "not yet computed")
    nonfinite: bool               # a NaN or ±Inf entry


def _num(v: float) -> str:
    return f"{v:.4g}"


def step_text(data: FrameData, name: str, index: int) -> str:
    """The steps ``name``'s value at frame ``index`` comes from: its step, all of them (the
    loss), or the steps an accumulator holds so far."""
    frame = data.model.frame(index)
    if name == "loss":
        return "all t"
    if name in ACCUMULATORS:
        first = data.accumulated_from(name, frame)
        return "none yet" if first >= data.trace.steps else f"Σ t≥{first}"
    return f"t={data.focus_step(frame)}"


def variable_row(data: FrameData, name: str, index: int) -> VariableRow:
    """``name``'s row at frame ``index``."""
    stats = data.stats(name, index)
    if stats is None:
        return VariableRow((name, "", "not yet computed", "", "", "", ""), False, False)
    shape = str(stats.shape) if stats.shape else "()"
    texts = (name, step_text(data, name, index), shape, _num(stats.min), _num(stats.max),
             _num(stats.norm), str(stats.nonfinite))
    return VariableRow(texts, True, stats.nonfinite > 0)


class VariableRows:
    """The rows at one frame of one pass, each formatted once when first asked for."""

    def __init__(self) -> None:
        self._at: tuple[FrameData, int] | None = None
        self._rows: dict[int, VariableRow] = {}

    def clear(self) -> None:
        self._at = None
        self._rows.clear()

    def move_to(self, data: FrameData, index: int, rows: range) -> list[int]:
        """Go to frame ``index`` of ``data``'s pass and say which of ``rows`` (those on
        screen) read differently there than they did: each of them that was formatted
        at the frame before is formatted again now and compared (the others are
        formatted when first asked for, as ever). A step to the next statement changes
        a row or two; the table repaints those alone."""
        before = self._rows if self._at is not None else {}
        self._at = (data, index)
        self._rows = {}
        return [r for r in rows if r in before and self.row(data, index, r) != before[r]]

    def row(self, data: FrameData, index: int, row: int) -> VariableRow:
        """Row ``row`` (of ``VARIABLES``) at frame ``index`` of ``data``'s pass: kept while
        both stay the same (a new pass or layer is a new FrameData)."""
        at = self._at
        if at is None or at[0] is not data or at[1] != index:
            self._at = (data, index)
            self._rows.clear()
        found = self._rows.get(row)
        if found is None:
            found = self._rows[row] = variable_row(data, VARIABLES[row], index)
        return found
