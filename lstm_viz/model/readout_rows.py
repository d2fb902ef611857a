"""What the read-out computed at the cursor, for the variables panel (stacked models). No
Qt.

A model's read-out (``lstm_engine/losses.py``: ``y_hat(t) = Wy h(t) + by`` on the top
layer's h, then MSE or softmax cross-entropy) records its per-step arrays in
``ModelTrace.outputs``: the MSE read-out's ``y_hat`` and ``dl_dy_hat``, cross-entropy's
``logits``, ``probs`` and ``dl_dlogits``. They are computed with the loss, so they are
known from the loss frame on (docs/frames.md), and they belong to the top layer: the
panel shows them while that layer is in view.
"""

from __future__ import annotations

from dataclasses import dataclass

from .frame_data import Stats, summarize

WORDS = {"y_hat": "ŷ", "dl_dy_hat": "dl/dŷ", "logits": "logits", "probs": "softmax p",
         "dl_dlogits": "dl/dlogits"}


@dataclass(frozen=True)
class ReadoutRow:
    name: str                   # the key in ModelTrace.outputs
    label: str                  # how the panel names it
    t: int                      # the step shown
    stats: Stats | None         # None: not computed yet at this frame

    def text(self) -> str:
        where = f"{self.label} (t={self.t})"
        return f"{where}: not yet computed" if self.stats is None else \
            f"{where}: {self.stats.short()}"


def readout_rows(session) -> list[ReadoutRow]:
    """The read-out's arrays at the session's frame, while the top layer is in view (none
    for a plain Trace, a model without a read-out, or a lower layer)."""
    mt = session.model_trace
    if mt is None or not mt.outputs or session.view_layer != session.num_layers - 1:
        return []
    frame = session.layers.local_frame()
    t = mt.steps - 1 if frame.phase == "loss" else frame.step
    known = frame.phase != "fwd"
    return [ReadoutRow(name, WORDS.get(name, name), t,
                       summarize(values[t]) if known else None)
            for name, values in mt.outputs.items()]
