"""Runs and files in the session: recording a run from its configuration, recording a
file's run again, reading and writing trace files, and taking over a whole session read
from a saved one. No Qt.

Each builds the new pass completely (recording or reading it can fail: UserError, and
the session is unchanged) before the session shows it (``Session.replace_pass``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.io import save_model_trace
from lstm_engine.model import ModelTrace, record_model
from lstm_engine.recorder import record

from .app_memory import load_trace_to_show
from .config import RunConfig, build_run, check_config, config_from_trace
from .training_run import record_run


def record_config(config: RunConfig):
    """The pass a (checked) configuration describes: a single cell's Trace (its read-out,
    if the task has one, in ``loss_params``/``loss_grads``), or for ``layers`` > 1 the
    whole stack's ModelTrace (``record_model``, the read-out's outputs included). The text
    task's characters go with it as its ``vocab``."""
    run = build_run(config)
    try:
        if config.layers > 1:
            with np.errstate(all="ignore"):
                trace = record_model(run.model(config.variant), run.x, run.y,
                                     dtype=config.dtype)
        else:
            trace = record_run(run.params, run.x, run.y, config.variant, config.backward,
                               run.loss, config.dtype)
    except ValueError as err:
        raise UserError(f"cannot record this run: {err}") from None
    trace.vocab = run.vocab
    return trace


def _rerecord_model(trace: ModelTrace, config: RunConfig) -> ModelTrace:
    """A model's pass recorded again with the configuration's variant and dtype: the same
    layers, read-out, embedding, inputs and targets (and the batch it came from)."""
    model = dataclasses.replace(trace.model, variant=config.variant)
    inputs = trace.tokens if trace.tokens is not None else trace.x
    new = record_model(model, inputs, trace.y, dtype=config.dtype)
    return ModelTrace(new.model, new.layers, new.tokens, new.x, new.y, new.loss, new.outputs,
                      new.loss_grads, new.dE, trace.sequence, trace.batch, vocab=trace.vocab)


class Runs:
    """The run and the file of ``session``."""

    def __init__(self, session, path: str | None = None):
        self._session = session
        self.path = path                       # the trace file the pass came from

    def set_path(self, path: str | None) -> None:
        if path != self.path:
            self.path = path
            self._session.events.path_changed.emit(path)

    def configure(self, config: RunConfig) -> bool:
        """A new run when the configuration changes (nothing happens otherwise)."""
        s = self._session
        if s.config.task == "file" and config.task == "file":
            return self._rerecord_file(config)
        config = check_config(config)
        if config == s.config:
            return False
        trace = record_config(config)
        s.replace_pass(trace, config, path=None, keep_cursor=False, end_training=True)
        return True

    def _rerecord_file(self, config: RunConfig) -> bool:
        """A trace from a file: the same data and parameters, another variant or dtype."""
        s = self._session
        old = s.config
        if config == old:
            return False
        if (config.hidden, config.steps, config.inputs) != (old.hidden, old.steps, old.inputs):
            raise UserError("the sizes of a run read from a file are those of the file")
        tr = s.trace
        try:
            with np.errstate(all="ignore"):
                if s.model_trace is not None:         # every layer, not the one in view
                    trace = _rerecord_model(s.model_trace, config)
                else:
                    trace = record(tr.params, tr.x, tr.y, config.variant, tr.loss_fn,
                                   config.dtype)
        except ValueError as err:
            raise UserError(f"cannot record this run: {err}") from None
        s.replace_pass(trace, config, path=self.path, keep_cursor=True, end_training=True)
        return True

    def open(self, path) -> None:
        """Read a trace file; on any problem (one that the app could not show in the
        memory there is, too: ``app_memory``) UserError and the session is unchanged."""
        s = self._session
        trace = load_trace_to_show(path)
        first = trace.layers[0] if isinstance(trace, ModelTrace) else trace
        s.replace_pass(trace, config_from_trace(first, s.config.lr), path=str(path),
                       keep_cursor=False, end_training=True)

    def show_model(self, trace: ModelTrace) -> None:
        """Show a pass opened from files (``model_files.open_model``): a run of task
        ``file`` with layer 0's sizes and the model's number of layers."""
        config = config_from_trace(trace.layers[0], self._session.config.lr)
        self._session.replace_pass(trace, config.with_(layers=trace.num_layers), path=None,
                                   keep_cursor=False, end_training=True)

    def save(self, path) -> None:
        """Write the shown pass (atomically); UserError naming the file if that fails,
        and the file that was there is unchanged."""
        save_model_trace(path, self._session.layers.shown_pass)
        self.set_path(str(path))

    def adopt(self, other) -> None:
        """Take over everything the Session ``other`` holds (one read from a file or a
        text): its pass, run, training, breakpoints, history, cursor, selection and speed.
        The views update once, when the session is whole."""
        s = self._session
        with s.events.batch():
            s.pause()
            s.pause_training()
            s.replace_pass(other.layers.shown_pass, other.config, path=other.path,
                           keep_cursor=False, end_training=True,
                           carry=False)    # it brings its own breakpoints
            # its History itself: the entries (other.history) carry no clipped flags
            s.apply(breakpoints=other.breakpoints, history=other.live.history,
                    training=other.training, iteration=other.iteration, frame=other.cursor,
                    selected=other.selected, speed=other.speed,
                    view_layer=other.layers.pinned)
            s.checks.take_from(other.checks)
            s.whatif.take_from(other.whatif)     # its interventions and intervened pass
