"""The window's layout as a small, checked description. No Qt.

Qt's ``restoreState``/``restoreGeometry`` take opaque bytes and are not safe on damaged
ones (one flipped byte can crash the process), so a layout read from the settings or a
saved session is never given to them. The layout is described instead as plain JSON:

    {"version": 1,
     "window": {"x": 10, "y": 20, "width": 1366, "height": 768, "maximized": false},
     "docks": {"source": {"visible": true, "floating": false, "area": "left",
                          "size": [700, 500], "tab": "variables"}, …},
     "toolbars": {"transport": true, "timeline": true}}

``check_layout`` keeps only what has the right type and range (ints that are ints, in
bounds; bools that are bools; an area that is one of four names; a dock or toolbar name
that is a short identifier) and says in one line what it dropped; the widgets apply the
rest with ``addDockWidget``, ``setFloating``, ``setVisible`` and ``resize``.
"""

from __future__ import annotations

import json
import re

LAYOUT_VERSION = 1
AREAS = ("left", "right", "top", "bottom")
MAX_COORD = 100_000            # a window or a floating dock this far off is not on a screen
MIN_SIDE, MAX_SIDE = 20, 16_384
MAX_ENTRIES = 64               # more docks or toolbars than the window will ever have
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_WINDOW_KEYS = ("x", "y", "width", "height", "maximized")


class LayoutProblem(ValueError):
    """What is wrong with a layout description (one line)."""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _coord(v, what: str) -> int:
    if not _is_int(v) or abs(v) > MAX_COORD:
        raise LayoutProblem(f"{what} is not a whole number of pixels within ±{MAX_COORD}")
    return v


def _side(v, what: str) -> int:
    if not _is_int(v) or not MIN_SIDE <= v <= MAX_SIDE:
        raise LayoutProblem(f"{what} is not a whole number from {MIN_SIDE} to {MAX_SIDE}")
    return v


def _flag(v, what: str) -> bool:
    if not isinstance(v, bool):
        raise LayoutProblem(f"{what} is not true or false")
    return v


def _name(v, what: str) -> str:
    if not isinstance(v, str) or not _NAME.fullmatch(v):
        raise LayoutProblem(f"{what} is not a dock or toolbar name")
    return v


def _mapping(v, what: str) -> dict:
    if not isinstance(v, dict):
        raise LayoutProblem(f"{what} is not an object")
    if len(v) > MAX_ENTRIES:
        raise LayoutProblem(f"{what} has more than {MAX_ENTRIES} entries")
    return v


def _window(d) -> dict:
    d = _mapping(d, "'window'")
    out = {}
    for key in _WINDOW_KEYS:
        if key not in d:
            raise LayoutProblem(f"'window' lacks {key!r}")
    out["x"], out["y"] = _coord(d["x"], "window x"), _coord(d["y"], "window y")
    out["width"], out["height"] = _side(d["width"], "window width"), \
        _side(d["height"], "window height")
    out["maximized"] = _flag(d["maximized"], "window maximized")
    return out


def _dock(name: str, d) -> dict:
    what = f"dock {name!r}"
    d = _mapping(d, what)
    out: dict[str, object] = {"visible": _flag(d.get("visible"), f"{what} visible"),
           "floating": _flag(d.get("floating"), f"{what} floating")}
    area = d.get("area")
    if area not in AREAS:
        raise LayoutProblem(f"{what} area is not one of {', '.join(AREAS)}")
    out["area"] = area
    if "size" in d:
        size = d["size"]
        if not isinstance(size, list) or len(size) != 2:
            raise LayoutProblem(f"{what} size is not [width, height]")
        out["size"] = [_side(size[0], f"{what} width"), _side(size[1], f"{what} height")]
    if "geometry" in d:
        g = d["geometry"]
        if not isinstance(g, list) or len(g) != 4:
            raise LayoutProblem(f"{what} geometry is not [x, y, width, height]")
        out["geometry"] = [_coord(g[0], f"{what} x"), _coord(g[1], f"{what} y"),
                           _side(g[2], f"{what} width"), _side(g[3], f"{what} height")]
    if d.get("tab") is not None:
        out["tab"] = _name(d["tab"], f"{what} tab")
    return out


def check_layout(value) -> dict:
    """The layout ``value`` describes, checked; LayoutProblem (one line) for the first
    thing that is wrong. A layout is all or nothing: half of one is not what was saved."""
    d = _mapping(value, "the layout")
    version = d.get("version")
    if not _is_int(version) or version != LAYOUT_VERSION:
        raise LayoutProblem(f"the layout is not version {LAYOUT_VERSION}")
    out: dict = {"version": LAYOUT_VERSION, "docks": {}, "toolbars": {}}
    if d.get("window") is not None:
        out["window"] = _window(d["window"])
    for name, dock in _mapping(d.get("docks", {}), "'docks'").items():
        out["docks"][_name(name, "a dock")] = _dock(name, dock)
    for name, shown in _mapping(d.get("toolbars", {}), "'toolbars'").items():
        out["toolbars"][_name(name, "a toolbar")] = _flag(shown, f"toolbar {name!r}")
    for name, dock in out["docks"].items():
        if dock.get("tab") is not None and dock["tab"] not in out["docks"]:
            raise LayoutProblem(f"dock {name!r} is tabbed with an unknown dock")
    return out


MAX_TEXT = 64 * 1024           # the text of a layout: a few hundred bytes when saved


def layout_from_text(text) -> dict:
    """A layout stored as JSON text (the settings file), checked (LayoutProblem)."""
    if not isinstance(text, str):
        raise LayoutProblem("the layout is not text")
    if len(text) > MAX_TEXT:
        raise LayoutProblem(f"the layout is longer than {MAX_TEXT} characters")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise LayoutProblem("the layout is not valid JSON") from None
    return check_layout(value)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def layout_text(layout: dict) -> str:
    """The JSON text of a (checked) layout."""
    return json.dumps(check_layout(layout), allow_nan=False, separators=(",", ":"))
