"""The variables table's rows at a frame, as the texts it shows. No Qt.

One row per quantity (``frame_data.VARIABLES``): its name, the step it belongs to, its
shape, min, max, norm and NaN/Inf count (``FrameData.stats``). A row is formatted the
first time it is asked for at a frame and kept until the frame or the pass changes; rows
never scrolled into view are never computed. The table keeps its cells in Qt's own item
model (it paints without calling Python), so ``VariableRows`` also remembers the row each
line of the table holds, of whatever frame it was written at, and says which lines must
be written again.
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
    """The rows at one frame of one pass, each formatted once when first asked for, and
    the row each line of the table holds."""

    def __init__(self) -> None:
        self._at: tuple[FrameData, int] | None = None
        self._rows: dict[int, VariableRow] = {}
        self._held: dict[int, VariableRow] = {}       # by line: what the table shows

    def clear(self) -> None:
        """Forget the rows formatted (not what the table holds: it still shows it)."""
        self._at = None
        self._rows.clear()

    def move_to(self, data: FrameData, index: int,
                rows: range) -> list[tuple[int, VariableRow, VariableRow | None]]:
        """Go to frame ``index`` of ``data``'s pass and say which of ``rows`` (those on
        screen, or about to be painted) read differently there than the table holds for
        them: each as (line, its row now, the row held until now or None), held from now
        on. A step to the next statement changes a row or two; the table writes and
        repaints those alone. Lines not in ``rows`` keep what they hold (and nothing is
        formatted for them)."""
        changed = []
        held = self._held
        for r in rows:
            now = self.row(data, index, r)
            before = held.get(r)
            if now is not before and now != before:
                held[r] = now
                changed.append((r, now, before))
        return changed

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
