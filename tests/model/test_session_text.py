"""Issue 14, classes 10 and 18: a session text. Every field is checked, with one line for
the first that is wrong, before any work starts (``iteration=none`` was a TypeError);
the work a text asks for runs as a job, a slice at a time, that can be stopped."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_engine.errors import UserError
from lstm_viz.model.config import RunConfig
from lstm_viz.model.jobs import finish
from lstm_viz.model.session_text import (
    MAX_TEXT_ITERATIONS,
    parse_text,
    session_from_text,
    session_from_text_job,
)
from lstm_viz.model.training_run import TrainingSettings

TRAIN = "lstm-viz:1 train task=adding length=10 hidden=3"
PLAIN = "lstm-viz:1 task=random steps=5 inputs=2 hidden=3"


def text_with(base: str, field: str, value: str) -> str:
    """``base`` with ``field`` set to ``value`` (replacing it if it is there)."""
    words = [w for w in base.split() if not w.startswith(field + "=")]
    return " ".join([*words, f"{field}={value}"])
VALUES = ["none", "", "x", "<b>x</b>", "a\x1bb\u202e", "nan", "inf", "-inf", "1e999", "1e308",
          "-1", "0", "5e-324", "2147483648", "9" * 5000, "1.5", "True", "[]", "=", "x" * 3000]
TRAIN_FIELDS = [f for f in TrainingSettings.__dataclass_fields__] + ["iteration", "frame"]
PLAIN_FIELDS = [f for f in RunConfig.__dataclass_fields__] + ["frame"]


def _checked(text):
    """parse_text: a plan, or one UserError line; never another exception."""
    try:
        return parse_text(text)
    except UserError as err:
        message = str(err)
        assert "\n" not in message and "\x1b" not in message and len(message) < 600, message
        return None


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(training=st.booleans(), data=st.data())
def test_every_field_of_a_text_is_checked(training, data):
    fields = TRAIN_FIELDS if training else PLAIN_FIELDS
    field = data.draw(st.sampled_from(fields))
    value = data.draw(st.sampled_from(VALUES))
    plan = _checked(text_with(TRAIN if training else PLAIN, field, value))
    if plan is not None:                             # then it is a plan that can run
        assert (plan.settings is not None) == training
        assert 0 <= plan.iteration < MAX_TEXT_ITERATIONS


@pytest.mark.parametrize("text,words", [
    (f"{TRAIN} iteration=none", "iteration"),
    (f"{TRAIN} iteration=-1", "iteration"),
    (f"{TRAIN} iteration=1e3", "iteration"),
    (f"{TRAIN} iteration={MAX_TEXT_ITERATIONS}", "iteration"),
    (f"{TRAIN} seed=none", "seed=none"),
    (f"{TRAIN} ring=none", "ring=none"),
    (f"{TRAIN} lr=nan", "learning rate"),
    (f"{TRAIN} clip=-inf", "clipping norm"),
    (f"{TRAIN} seed=2147483648", "seed"),
    (f"{TRAIN} task=adding task=copy", "twice"),
    (text_with(PLAIN, "steps", "none"), "steps=none"),
    (text_with(PLAIN, "hidden", "1e3"), "whole number"),
    (f"{PLAIN} iteration=3", "training run"),
    (f"{PLAIN} colour=<b>red</b>", "unknown setting"),
    ("lstm-viz:1 " + "x" * 3000, "at most"),
    ("hello", "starts with"),
])
def test_a_bad_field_is_named_in_one_line(text, words):
    with pytest.raises(UserError) as info:
        parse_text(text)
    assert words in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_none_leaves_an_optional_setting_to_its_default():
    plan = parse_text(f"{TRAIN} lr=none clip=none optimizer=none")
    assert plan.settings.lr is None and plan.settings.clip is None


def test_training_is_a_job_of_slices_that_can_be_stopped(monkeypatch):
    import lstm_viz.model.session_text as session_text

    monkeypatch.setattr(session_text, "SLICE", 0.0)           # one iteration a slice
    job = session_from_text_job(f"{TRAIN} iteration=30 frame=bwd:2:ds")
    reports = [next(job) for _ in range(3)]
    assert [r[:2] for r in reports] == [(1, 31), (2, 31), (3, 31)]
    assert "training iteration" in reports[-1][2]
    job.close()                                                # stopped: nothing returned
    session = finish(session_from_text_job(f"{TRAIN} iteration=30 frame=bwd:2:ds"))
    assert session.iteration == 30 and session.frame_text == "bwd:2:ds"
    assert session_from_text(f"{TRAIN} iteration=30").iteration == 30


def test_a_plain_text_records_its_pass():
    s = session_from_text(f"{PLAIN} frame=fwd:1:s")
    assert s.config.hidden == 3 and s.frame_text == "fwd:1:s"
