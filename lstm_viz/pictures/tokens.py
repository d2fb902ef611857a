"""Time steps labelled by their tokens: the pass's token ids, its vocabulary, how a token
reads, and which time-axis ticks fit. No Qt.

A pass has tokens when its inputs are token ids looked up in an embedding (a ModelTrace's
``tokens``) or one-hot rows over a vocabulary (the ``text`` task feeds its characters
one-hot: ``lstm_engine/tasks.py``). The vocabulary comes with the pass or its run: the
pass's own ``vocab`` (a ModelTrace opened with ``--vocab FILE`` or from a parameters or
trace file that holds one), else one the run's configuration carries, else the built-in
task's (the ``text`` task's characters).
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

from lstm_engine import tasks as _tasks

MAX_TOKEN_CHARS = 12                    # a longer token is cut with "…" on axes and labels
_VISIBLE = {"\n": "⏎", "\t": "⇥", " ": "␣", "\r": "␍"}


@cache
def task_vocabulary(task: str) -> tuple[str, ...] | None:
    """The vocabulary of a built-in task (``task.info["vocab"]``), None if it has none."""
    cls = _tasks.TASKS.get(task)
    if cls is None or task == "file":
        return None
    try:
        vocab = cls(0).info.get("vocab")
    except (TypeError, ValueError):
        return None
    return None if vocab is None else tuple(vocab)


def run_vocabulary(config) -> tuple[str, ...] | None:
    """The vocabulary a run carries: its configuration's ``vocab`` (a file's), else its
    task's."""
    vocab = getattr(config, "vocab", None)
    if vocab:
        return tuple(str(v) for v in vocab)
    return task_vocabulary(getattr(config, "task", ""))


def pass_vocabulary(trace, config) -> tuple[str, ...] | None:
    """The vocabulary of a pass: its own, else its run's (``run_vocabulary``)."""
    vocab = getattr(trace, "vocab", None)
    if vocab:
        return tuple(str(v) for v in vocab)
    return run_vocabulary(config)


def pass_tokens(trace, vocab: tuple[str, ...] | None) -> np.ndarray | None:
    """The token id of every step (T,), or None when the inputs are not tokens.

    Token ids when the pass has them (an embedding's input); else, with a vocabulary of
    X entries, the inputs when every row is exactly one-hot (a 1 and X−1 zeros)."""
    tokens = getattr(trace, "tokens", None)
    if tokens is not None:
        return np.asarray(tokens)
    if vocab is None:
        return None
    x = np.asarray(trace.x)
    if x.ndim != 2 or x.shape[1] != len(vocab) or x.shape[0] == 0:
        return None
    ids = np.argmax(x, axis=1)
    rows = np.arange(x.shape[0])
    with np.errstate(all="ignore"):
        one_hot = np.all(x[rows, ids] == 1) and np.count_nonzero(x) == x.shape[0]
    return ids if one_hot else None


def token_text(token: str) -> str:
    """A token as it reads on an axis: white space and control characters made visible
    (a newline is ⏎, a space ␣), long tokens cut with "…"."""
    out = []
    for ch in str(token):
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif unicodedata.category(ch)[0] == "C":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    text = "".join(out) or "∅"
    return text if len(text) <= MAX_TOKEN_CHARS else text[:MAX_TOKEN_CHARS - 1] + "…"


class Tokens:
    """The tokens of one pass and their texts (an id beyond the vocabulary reads #id)."""

    def __init__(self, ids: np.ndarray, vocab: tuple[str, ...] | None):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vocab = vocab
        self._texts: dict[int, str] = {}
        self._widest: int | None = None

    @classmethod
    def of(cls, trace, vocab: tuple[str, ...] | None) -> Tokens | None:
        ids = pass_tokens(trace, vocab)
        return None if ids is None else cls(ids, vocab)

    @property
    def steps(self) -> int:
        return len(self.ids)

    def text(self, token_id: int) -> str:
        found = self._texts.get(token_id)
        if found is None:
            v = self.vocab
            found = token_text(v[token_id]) if v is not None and 0 <= token_id < len(v) \
                else f"#{token_id}"
            self._texts[token_id] = found
        return found

    def at(self, t: int) -> str:
        """The text of step t's token."""
        return self.text(int(self.ids[t]))

    def step_label(self, t: int) -> str:
        """What the frame label and the timeline say of step t: ``token 'a' (id 3)``."""
        tid = int(self.ids[t])
        return f"token '{self.text(tid)}' (id {tid})"

    def widest(self) -> int:
        """Characters of the longest token text of the pass (once: every axis repaint
        asks)."""
        if self._widest is None:
            self._widest = max((len(self.text(int(v))) for v in np.unique(self.ids)),
                               default=1)
        return self._widest

    def tick_step(self, steps_shown: float, pixels: float, char_px: float,
                  chars: int | None = None) -> int:
        """Every how many steps a time axis ``pixels`` wide showing ``steps_shown`` steps
        can label (1, 2, 5, 10, 20, …): a label ``chars`` characters wide (default: the
        widest token) needs that many pixels and a little room beside it."""
        label = ((self.widest() if chars is None else chars) + 1.5) * char_px
        per_step = pixels / max(steps_shown, 1e-9)
        need = label / per_step if per_step > 0 else float("inf")
        return nice_step(need)

    def ticks(self, lo: float, hi: float, pixels: float, char_px: float) -> list[tuple[int, str]]:
        """(step, text) for the steps an axis from ``lo`` to ``hi`` labels: every step
        with its token when they fit, else every k-th step as ``t:token`` (the step
        number too, so the axis still says where it is; k as ``tick_step`` finds for
        labels that wide)."""
        T = self.steps
        first, last = max(0, int(np.ceil(lo))), min(T - 1, int(np.floor(hi)))
        if last < first:
            return []
        k = self.tick_step(hi - lo, pixels, char_px)
        if k > 1:
            k = self.tick_step(hi - lo, pixels, char_px,
                               len(str(T - 1)) + 1 + self.widest())
        start = -(-first // k) * k
        return [(t, self.at(t) if k == 1 else f"{t}:{self.at(t)}")
                for t in range(start, last + 1, k)]


def nice_step(need: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that is at least ``need`` (capped at 10**12
    for an axis with no room at all)."""
    k = 1
    while k < 10 ** 12:
        for m in (1, 2, 5):
            if m * k >= need:
                return m * k
        k *= 10
    return k


def row_step(rows: int, pixels: float, room_px: float) -> int:
    """Every how many rows a vertical axis ``pixels`` high can label ``rows`` rows with
    labels ``room_px`` apart (1, 2, 5, 10, …)."""
    per_row = pixels / max(rows, 1)
    need = room_px / per_row if per_row > 0 else float("inf")
    return nice_step(need)
