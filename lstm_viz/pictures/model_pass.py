"""The whole model's pass behind the read-out, embedding and depth pictures, and where a
frame stands in its backward pass. No Qt.

A session shows either a ``ModelTrace`` (any depth, an embedding, a read-out) or a
single cell's ``Trace``; a built-in task's Trace carries a read-out too (its loss object,
``loss_grads``). ``model_pass`` gives both as a ModelTrace, so each picture is written
once: the Trace as a one-layer ModelTrace whose read-out outputs are computed again from
h (``lstm_engine.model_arrays.model_trace_of``).

Where a frame stands (docs/frames.md): the backward pass visits the nodes (t, l) in the
order t = T−1 … 0, l = L−1 … 0, each running the backward statements in order. A frame
is the state just after one statement of one node ran; a step frame ``bwd:t`` is the
state after all layers of step t, and a layer's own step frame the state after that
layer's last statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_engine.cell import BACKWARD_STATEMENTS
from lstm_engine.losses import ToyLoss
from lstm_engine.model import Model, ModelTrace
from lstm_engine.model_arrays import model_trace_of

LAST = len(BACKWARD_STATEMENTS) - 1


def model_pass(trace) -> ModelTrace:
    """``trace`` as a ModelTrace (itself if it is one). One layer of a stacked pass shown
    alone carries the model's read-out, which reads the top layer's h, not this layer's:
    it is taken without a read-out (the toy loss's empty outputs)."""
    if isinstance(trace, ModelTrace):
        return trace
    wy = trace.loss_fn.params().get("wy")
    if wy is not None and wy.shape[1] != trace.hidden:
        model = Model.single(trace.params, trace.variant, ToyLoss())
        return ModelTrace(model, [trace], None, trace.x, trace.y, trace.loss, {}, {}, None)
    return model_trace_of(trace)


@dataclass(frozen=True)
class BackwardAt:
    """Where a backward frame stands: step ``t``, layer ``layer`` (the node under way)
    and ``done``, the index of its last statement that ran (``LAST``: the node is done)."""

    t: int
    layer: int
    done: int

    def ran(self, t: int, layer: int, stmt: str) -> bool:
        """Whether statement ``stmt`` of node (t, layer) has run at this frame."""
        if t != self.t:
            return t > self.t                    # later steps ran, earlier ones have not
        if layer != self.layer:
            return layer > self.layer            # step t runs the top layer first
        return BACKWARD_STATEMENTS.index(stmt) <= self.done

    def first_step(self, layer: int, stmt: str) -> int:
        """The first step of ``layer`` whose ``stmt`` has run: the steps first … T−1 have."""
        return self.t if self.ran(self.t, layer, stmt) else self.t + 1


def backward_at(frame) -> BackwardAt | None:
    """Where ``frame`` stands in the backward pass, None before it (forward, loss).

    A frame without a layer (``frame.layer`` None, or a Frame that has no layer) is of
    a one-layer pass or a whole step's end: a step frame is then every layer done (layer 0
    is the last to run), a statement frame is layer 0's."""
    if frame.phase != "bwd":
        return None
    layer = getattr(frame, "layer", None)
    done = LAST if frame.stmt is None else BACKWARD_STATEMENTS.index(frame.stmt)
    return BackwardAt(frame.t, 0 if layer is None else layer, done)
