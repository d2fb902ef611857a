"""Saved-session files changed in place, for the tests of several layers: read the
members of an ``.npz``, change its JSON ``meta`` (or its members), write it back."""

import io
import json
import zipfile

import numpy as np


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {m.filename: zf.read(m) for m in zf.infolist()}


def write_members(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def npy_bytes(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def meta_of(path) -> dict:
    return json.loads(str(np.load(io.BytesIO(members_of(path)["meta.npy"]))[()]))


def rewrite_meta(path, change, out=None) -> None:
    """Apply ``change(meta)`` (in place) to the file's meta; write to ``out`` (default:
    the same file). The JSON may then hold NaN or Infinity, as a hand edit could."""
    members = members_of(path)
    meta = json.loads(str(np.load(io.BytesIO(members["meta.npy"]))[()]))
    change(meta)
    members["meta.npy"] = npy_bytes(np.array(json.dumps(meta)))
    write_members(out or path, members)


def leaves(value, where=()):
    """Every (path, value) of a JSON tree whose value is not a list or an object."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*where, i))
    else:
        yield where, value


def set_at(tree, where, value) -> None:
    node = tree
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = value
