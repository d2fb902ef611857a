"""The readable model driver around the cell, for a stacked model's source panel. No Qt.

With L > 1 layers a frame is a statement of one layer's cell at one step; what calls that
cell — the loops over t and l, and the routing of ``top_diff_h`` from the loss, the layer
above and t+1 — is ``lstm_engine.model_driver.run_model_stepwise``, the order the
debugger steps in (docs/frames.md). ``driver_state`` gives the part of it that runs at a
frame (the forward loop, the loss, or the backward loop), read from the installed source
through ``inspect`` like the cell's (``lstm_engine.source``), with the cell call as the
current line and the loop variables' values as notes.
"""

from __future__ import annotations

import inspect
import textwrap
from functools import cache

from lstm_engine import model_driver

from .frame_data import SourceState
from .frames import Frame

# Each block: the line that starts it, and the line run at a frame of it (the cell call).
_BLOCKS = {
    "fwd": ("for t in range(T):", "cell_forward("),
    "loss": ("h_top = ", "loss.evaluate("),
    "bwd": ("for t in range(T - 1, -1, -1):", "cell_backward("),
}


@cache
def _driver_lines() -> tuple[tuple[str, ...], int]:
    """The driver's lines, each without its trailing comment: the notes beside them say
    it for the frame at hand (and the lines fit a narrow panel)."""
    lines, first = inspect.getsourcelines(model_driver.run_model_stepwise)
    text = textwrap.dedent("".join(lines)).splitlines()
    return tuple(line.split("  # ")[0].rstrip() for line in text), first


def _find(lines, start: int, text: str) -> int:
    for n in range(start, len(lines)):
        if text in lines[n]:
            return n
    raise RuntimeError(f"model_driver.run_model_stepwise has no line with {text!r}")


@cache
def _block(phase: str) -> tuple[int, int, dict[str, int]]:
    """(first, end) lines of the phase's block: from its loop over t (the loss: its first
    line) to the end of the cell call, and the lines that matter in it by role."""
    lines, _ = _driver_lines()
    head, call = _BLOCKS[phase]
    first = _find(lines, 0, head)
    roles = {"call": _find(lines, first, call)}
    end, depth = roles["call"], 0
    while True:                                  # through the call's closing parenthesis
        code = lines[end].split("#")[0]
        depth += code.count("(") - code.count(")")
        end += 1
        if depth <= 0 or end == len(lines):
            break
    start = first
    if phase != "loss":
        roles["t"] = start
        roles["l"] = _find(lines, start, "for l in range(")
    if phase == "bwd":
        roles["from_above"] = _find(lines, start, "from_above = out.dl_dh[t]")
        roles["top_diff_h"] = _find(lines, start, "top_diff_h = from_above")
    return first, end, roles


def top_diff_h_origin(layer: int, layers: int, t: int, steps: int) -> str:
    """Where layer ``layer``'s ``top_diff_h`` at backward step t comes from (the routing
    of ``model_driver.py``): the loss (top layer) or the layer above, plus t+1's carry."""
    above = ("the loss dl(t)/dh" if layer == layers - 1
             else f"layer {layer + 1}'s dxc[:X] at t={t}")
    carry = f"bottom_diff_h of t={t + 1}" if t + 1 < steps else "0 at t=T-1"
    return f"top_diff_h = {above} + {carry}"


def top_diff_h_short(layer: int, layers: int, t: int, steps: int) -> str:
    """``top_diff_h_origin`` in a few words, for a title:
    ``top_diff_h ← layer 1's dxc[:X] + t=6``."""
    parts = ["the loss" if layer == layers - 1 else f"layer {layer + 1}'s dxc[:X]"]
    if t + 1 < steps:
        parts.append(f"t={t + 1}")
    return "top_diff_h ← " + " + ".join(parts)


def driver_state(frame: Frame, steps: int, layers: int) -> tuple[SourceState, dict]:
    """The driver's block that runs at ``frame`` of a pass of ``steps`` steps through
    ``layers`` layers, and its notes (line -> text): the SourceState marks the loop lines
    and the cell call (the current line); the notes say t and l and, backwards, where
    this layer's ``top_diff_h`` comes from."""
    lines, first_line = _driver_lines()
    first, end, roles = _block(frame.phase)
    rel = {k: v - first for k, v in roles.items()}
    ran = {rel["call"]: "cell" if frame.phase != "loss" else "loss"}
    notes: dict[int, str] = {}
    if frame.phase != "loss":
        t, layer = frame.step, frame.layer if frame.layer is not None else 0
        ran.update({rel["t"]: "t", rel["l"]: "l"})
        notes[rel["t"]] = f"t = {t}"
        where = "bottom-up" if frame.phase == "fwd" else "top-down"
        notes[rel["l"]] = f"l = {layer}  (layers 0…{layers - 1}, {where})"
        if frame.phase == "bwd":
            ran.update({rel["from_above"]: "from_above", rel["top_diff_h"]: "top_diff_h"})
            notes[rel["from_above"]] = "the loss's share, for the top layer"
            notes[rel["top_diff_h"]] = top_diff_h_origin(layer, layers, t, steps)
    else:
        notes[rel["call"]] = "the loss on the top layer's h"
    state = SourceState("driver", "run_model_stepwise", lines[first:end], first_line + first,
                        rel["call"], ran)
    return state, notes
