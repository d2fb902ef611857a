"""A model's vocabulary: the text of each token id, to label time steps by their tokens.

A vocabulary file (``io.load_vocab`` reads one) is UTF-8 text: a JSON list of strings
(``["a", "b", "\\n"]``, which can hold any character, a newline too), or one token per
line (a line break cannot be a token then; a final line break ends the last line and adds
no token). Its length must be the model's vocabulary size V (the embedding's rows, or the
inputs of a one-hot model), so token id v is labelled ``vocab[v]``. A parameters file of
format 2 can carry one (its ``vocab`` entry, ``docs/file-formats.md``).

Limits, checked before anything is parsed or shown: at most ``MAX_FILE_BYTES`` of text,
at most ``MAX_TOKENS`` tokens of at most ``MAX_TOKEN_CHARS`` characters each, no NUL
byte (a binary file is not a vocabulary). Every problem is one line naming the file.
"""

from __future__ import annotations

import json

import numpy as np

from .errors import UserError
from .textsafe import show

MAX_FILE_BYTES = 16 * 2**20
MAX_TOKENS = 1_000_000
MAX_TOKEN_CHARS = 200


def vocab_size(model) -> int:
    """How many tokens a vocabulary of ``model`` has: the embedding's rows V, or the
    inputs X of a model on dense (one-hot) inputs."""
    return model.vocab if model.vocab is not None else model.inputs


def vocab_array(tokens) -> np.ndarray:
    """The vocabulary as a file stores it: a (V,) text array."""
    return np.array(list(tokens), dtype=str)


def vocab_of_array(a, size: int, where: str) -> tuple[str, ...]:
    """The vocabulary a file's (V,) text array holds, checked against ``size``."""
    if a.ndim != 1 or a.dtype.kind != "U":
        raise UserError(f"{where}: 'vocab' must be a (V,) array of text, got {a.dtype} "
                        f"{a.shape}")
    if a.dtype.itemsize // 4 > MAX_TOKEN_CHARS:
        raise UserError(f"{where}: 'vocab' holds tokens of up to {a.dtype.itemsize // 4} "
                        f"characters, more than {MAX_TOKEN_CHARS}")
    return check_vocab([str(t) for t in a], size, f"{where}: 'vocab'")


def parse_vocab(raw: bytes, size: int | None, where: str) -> tuple[str, ...]:
    """The tokens of a vocabulary file's bytes (a JSON list, or one token per line),
    checked; with ``size``, their number must be ``size`` (the model's V). ``io.load_vocab``
    reads the file."""
    if b"\0" in raw:
        raise UserError(f"{where}: holds NUL bytes; a vocabulary is plain text (a JSON list "
                        "or one token per line)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{where}: not a UTF-8 text file") from None
    if text.lstrip().startswith("["):
        try:
            tokens = json.loads(text)
        except (ValueError, RecursionError):
            raise UserError(f"{where}: starts like a JSON list but is not valid JSON") from None
        if not isinstance(tokens, list):
            raise UserError(f"{where}: not a JSON list of strings")
    else:
        tokens = text.split("\n")
        if tokens and tokens[-1] == "":          # the final line break ends a line
            tokens.pop()
        tokens = [t[:-1] if t.endswith("\r") else t for t in tokens]
    return check_vocab(tokens, size, where)


def check_vocab(tokens, size: int | None, where: str) -> tuple[str, ...]:
    """``tokens`` as a tuple of strings, or UserError (starting with ``where``): strings
    only, at most MAX_TOKENS of at most MAX_TOKEN_CHARS characters, ``size`` of them."""
    if isinstance(tokens, str) or not isinstance(tokens, list | tuple):
        raise UserError(f"{where}: a vocabulary is a list of strings")
    if not tokens:
        raise UserError(f"{where}: the vocabulary is empty")
    if len(tokens) > MAX_TOKENS:
        raise UserError(f"{where}: {len(tokens)} tokens, more than the {MAX_TOKENS} a "
                        "vocabulary may have")
    for v, t in enumerate(tokens):
        if not isinstance(t, str):
            raise UserError(f"{where}: token {v} is {show(t)}, not a string")
        if "\0" in t:
            raise UserError(f"{where}: token {v} holds a NUL character")
        if not t.isprintable() and any(0xD800 <= ord(c) <= 0xDFFF for c in t):
            raise UserError(f"{where}: token {v} is not valid text (a lone surrogate)")
        if len(t) > MAX_TOKEN_CHARS:
            raise UserError(f"{where}: token {v} has {len(t)} characters, more than "
                            f"{MAX_TOKEN_CHARS}")
    if size is not None and len(tokens) != size:
        raise UserError(f"{where}: {len(tokens)} tokens, but the model's vocabulary has "
                        f"{size} (token ids 0 … {size - 1})")
    return tuple(tokens)
