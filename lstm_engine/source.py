"""The readable cell's own source, with the line of each statement, for the debugger.

The source is read from the installed module (``inspect``), never copied: it is the
code ``run_stepwise`` runs. The passes the app shows are usually recorded by the fast
recorder (``recorder.record``), which computes the same statements vectorised; the tests
hold its every array to this cell's within 1e-12 relative. A statement is found by what it
assigns: ``ds = …`` is statement ``ds``; ``diff.wi += …`` is statement ``wi_diff``.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from . import cell


@dataclass(frozen=True)
class CellSource:
    name: str                    # "cell_forward" or "cell_backward"
    text: str                    # the function's source, dedented
    first_line: int              # its first line's number in cell.py (1-based)
    lines: dict[str, int]        # statement name -> 0-based line index within ``text``


def _statement_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute):
        return f"{node.target.attr}_diff"
    return None


@cache
def cell_source(which: str) -> CellSource:
    """``which`` is "forward" or "backward"."""
    funcs: dict[str, Callable] = {"forward": cell.cell_forward, "backward": cell.cell_backward}
    func = funcs[which]
    wanted = cell.FORWARD_STATEMENTS if which == "forward" else cell.BACKWARD_STATEMENTS
    lines, first = inspect.getsourcelines(func)
    text = textwrap.dedent("".join(lines))
    tree = ast.parse(text)
    found: dict[str, int] = {}
    for node in ast.walk(tree.body[0]):
        if not isinstance(node, ast.stmt):
            continue
        name = _statement_name(node)
        if name is not None and name in wanted and name not in found:
            found[name] = node.lineno - 1
    missing = [n for n in wanted if n not in found]
    if missing:
        raise RuntimeError(f"cell.{func.__name__} has no statement for {', '.join(missing)}")
    return CellSource(func.__name__, text, first, found)
