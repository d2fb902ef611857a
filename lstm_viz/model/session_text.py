"""The short text form of a session: the configuration and the frame in one line that
reopens the same view (``lstm-viz:1 task=adding steps=100 frame=bwd:3:ds``; a training
run: ``lstm-viz:1 train task=adding … iteration=k``). No Qt.

A text is read in full and every field checked before any work starts (each problem is
one ``UserError`` line naming the field and its value, cut and escaped). Reopening a
training run trains it again from its seed up to its iteration (deterministic, so it is
the same pass): that can be minutes of work, so it is a job (``jobs.py``) that reports
its progress after each slice and can be cancelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from lstm_engine.errors import UserError
from lstm_engine.textsafe import show

from .config import RunConfig, check_config, default_config
from .jobs import SLICE, Job, finish
from .session import Session
from .training_run import TrainingRun, TrainingSettings, check_settings

TEXT_PREFIX = "lstm-viz:1"
MAX_TEXT_ITERATIONS = 100_000
MAX_TEXT = 2000                 # characters: a text the app writes is about a hundred
MAX_FRAME = 100
INT_FIELDS = ("hidden", "steps", "inputs", "seed", "length", "ring", "layers", "symbols", "pattern",
              "delay")
FLOAT_FIELDS = ("lr", "clip", "forget_bias")
_INT = re.compile(r"[+-]?\d{1,12}")


# ---- writing ------------------------------------------------------------------------------

def _value_text(v) -> str:
    return "none" if v is None else repr(v) if isinstance(v, float) else str(v)


def _defaults_diff(obj, base) -> list[str]:
    out = []
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v != getattr(base, f.name):
            out.append(f"{f.name}={_value_text(v)}")
    return out


def state_text(session: Session) -> str:
    """``lstm-viz:1 task=adding steps=100 … frame=bwd:3:ds`` (training: ``train … iteration=k``)."""
    run = session.training
    if run is not None:
        s = run.settings
        words = ["train", f"task={s.task}"]
        words += [w for w in _defaults_diff(s, TrainingSettings(task=s.task))
                  if not w.startswith("task=")]
        words.append(f"iteration={session.iteration}")
    else:
        c = session.config
        if c.task == "file":
            raise UserError("a run read from a file has no short text form; save the session")
        words = [f"task={c.task}"]
        words += [w for w in _defaults_diff(c, default_config(c.task))
                  if not w.startswith("task=")]
    words.append(f"frame={session.frame_text}")
    return " ".join([TEXT_PREFIX, *words])


# ---- reading ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextPlan:
    """What a session text asks for, every field checked; nothing done yet."""

    config: RunConfig | None              # a plain run (None: a training run)
    settings: TrainingSettings | None     # a training run
    iteration: int                        # the training iteration shown
    frame: str | None


def _parse_value(text: str, default, name: str):
    """A field's value: "none" (for a field that may be left to its default), an integer,
    a number or a word, as the field is."""
    if text == "none":
        if default is not None:
            raise UserError(f"{name}=none: {name} needs a value (its default is "
                            f"{_value_text(default)})")
        return None
    if name in INT_FIELDS:
        if not _INT.fullmatch(text):
            raise UserError(f"{name}={show(text)} is not a whole number")
        return int(text)
    if name in FLOAT_FIELDS:
        try:
            return float(text)
        except ValueError:
            raise UserError(f"{name}={show(text)} is not a number") from None
    return text


def parse_text(text) -> TextPlan:  # noqa: C901 - one check per word of the text form, each with its own message
    """The plan of a session text; UserError (one line) for the first field that is
    wrong, before anything is recorded or trained."""
    text = str(text)
    if len(text) > MAX_TEXT:
        raise UserError(f"a session text is at most {MAX_TEXT} characters; this one has "
                        f"{len(text)}")
    words = text.split()
    if not words or words[0] != TEXT_PREFIX:
        raise UserError(f"a session text starts with {TEXT_PREFIX!r}")
    training = len(words) > 1 and words[1] == "train"
    pairs: dict[str, str] = {}
    for w in words[2 if training else 1:]:
        key, sep, value = w.partition("=")
        if not sep:
            raise UserError(f"cannot read {show(w)} in the session text (want key=value)")
        if key in pairs:
            raise UserError(f"{show(key)} is given twice in the session text")
        pairs[key] = value
    frame = pairs.pop("frame", None)
    if frame is not None and not 0 < len(frame) <= MAX_FRAME:
        raise UserError(f"frame={show(frame)} is not a frame (fwd:3, loss, bwd:2:ds)")
    iteration = pairs.pop("iteration", None)
    if iteration is not None and not training:
        raise UserError("iteration= belongs to a training run's text (lstm-viz:1 train …)")
    task = pairs.get("task", "adding" if training else "published")
    base = TrainingSettings(task=task) if training else default_config(task)
    names = {f.name for f in fields(base)}
    changes = {}
    for key, value in pairs.items():
        if key not in names:
            raise UserError(f"unknown setting {show(key)} in the session text")
        changes[key] = _parse_value(value, getattr(base, key), key)
    if not isinstance(base, TrainingSettings):
        return TextPlan(check_config(base.with_(**changes)), None, 0, frame)
    k = 0
    if iteration is not None:
        if not _INT.fullmatch(iteration) or not 0 <= int(iteration) < MAX_TEXT_ITERATIONS:
            raise UserError(f"iteration={show(iteration)}: the iteration must be a whole "
                            f"number from 0 to {MAX_TEXT_ITERATIONS - 1}")
        k = int(iteration)
    return TextPlan(None, check_settings(base.with_(**changes)), k, frame)


def session_from_text_job(text) -> Job:
    """The session a ``state_text`` describes, as a job: a training run is trained again,
    from its seed, up to its iteration, a slice at a time."""
    plan = parse_text(text)
    if plan.settings is None:
        yield 0, 1, "recording the pass"
        session = Session(plan.config)
    else:
        session = Session.restore(training=TrainingRun(plan.settings))
        total = plan.iteration + 1
        run = session.training
        assert run is not None                  # restored from a training run just above
        while run.iterations_done < total and not run.stopped:
            session.train(total - run.iterations_done, time_budget=SLICE,
                          stop_at_breakpoints=False)
            yield (run.iterations_done, total,
                   f"training iteration {run.iterations_done:,} of {total:,}")
        session.seek_iteration(plan.iteration)
    if plan.frame:
        session.goto(plan.frame)
    return session


def session_from_text(text) -> Session:
    """``session_from_text_job`` run to the end."""
    return finish(session_from_text_job(text))
