"""Two costs of importing PySide6 and pyqtgraph that the app has no use for (start-up
time, issue 16).

**pyqtgraph's Qt modules, filled on first use instead of all at once.**

When pyqtgraph is imported on PySide6 it copies every name of ``PySide6.QtCore``,
``QtGui`` and ``QtWidgets`` into its own modules ``pyqtgraph.Qt.QtCore`` … (its
``_copy_attrs``: ``dir`` of each, then a ``getattr`` of every name). PySide6 creates its
classes and enums lazily, on their first ``getattr``, so that copy creates all ~720 of
them: 190-220 ms here, in ``pyqtgraph.Qt``'s own time (``python -X importtime``). The
app uses a few dozen.

``install`` puts pyqtgraph's three modules in place before pyqtgraph is imported, each
with a module ``__getattr__`` (PEP 562) that takes a name from PySide6 the first time it
is asked for and keeps it, so every later use is a plain module attribute. Asked from
inside ``_copy_attrs`` (its ``hasattr`` test) it answers without creating anything, so
the copy skips the name. Every name pyqtgraph's modules would hold is then there when
asked for, and ``dir`` lists them all; what the modules do not do is list a name before
its first use (``vars``, a star import): neither pyqtgraph nor the app does that.

If pyqtgraph is already imported, or would pick another binding, nothing is done; if a
later pyqtgraph renames ``_copy_attrs``, its copy simply creates every class again (the
start-up of before, the same modules).

**PySide6's scan of every imported module, done on the file's bytes.** Once
``PySide6.QtCore`` is imported, PySide6 looks at every module imported after it, once,
to learn whether the module may switch its optional ``__feature__`` syntax: a module
whose source contains "PySide6" may (``shibokensupport.feature._mod_uses_pyside``, which
reads the source through ``inspect.getsource``). For the ~470 modules the app imports
that is about 65 ms. ``quick_feature_scan`` answers the same question for a module
loaded from a ``.py`` file by searching the file's bytes ("PySide6" is ASCII, so it is the
same bytes in any encoding Python reads source in), about 10× faster; any other module
is asked the original way. (Bytes could differ from text only in a multi-byte
encoding whose second bytes can be ASCII, Shift_JIS or Big5: a "yes" there would only
let such a module switch features, which none here asks for.)

Together: pyqtgraph's import 221 → 131 ms, the app to its first paint about 80 ms
sooner (12 alternating starts, median; the classes the app uses are still created,
when first used).
"""

from __future__ import annotations

import os
import sys
import types

MODULES = ("QtCore", "QtGui", "QtWidgets")
OTHER_BINDINGS = ("PyQt5", "PyQt6", "PySide2")


def _forwarding_module(name: str, source: types.ModuleType) -> types.ModuleType:
    module = types.ModuleType(f"pyqtgraph.Qt.{name}")

    def __getattr__(attr: str):
        caller = sys._getframe(1)
        if (caller.f_code.co_name == "_copy_attrs"
                and caller.f_globals.get("__name__") == "pyqtgraph.Qt"):
            return None                         # "has it": the copy leaves it for later
        if attr in ("__file__", "__path__"):    # not PySide6's: this is no extension
            raise AttributeError(attr)
        value = getattr(source, attr)           # AttributeError as PySide6 raises it
        setattr(module, attr, value)            # kept: asked once
        return value

    def __dir__():
        return dir(source)                      # (listing creates nothing in PySide6)

    vars(module)["__getattr__"] = __getattr__   # PEP 562: asked for names it lacks
    vars(module)["__dir__"] = __dir__
    return module


def _scan_bytes(original):
    def uses_pyside(module) -> bool:
        spec = getattr(module, "__spec__", None)
        path = getattr(spec, "origin", None)
        if not (isinstance(path, str) and path.endswith(".py")
                and getattr(spec, "has_location", False)):
            return original(module)
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return original(module)

    uses_pyside.original = original             # type: ignore[attr-defined]
    return uses_pyside


def quick_feature_scan() -> bool:
    """Have PySide6's per-module scan read bytes (see the module's docstring); True if it
    was installed (a PySide6 without that scan is left as it is)."""
    import PySide6.QtCore  # noqa: F401  (the scan exists once QtCore is imported)

    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or hasattr(original, "original"):
        return False
    feature._mod_uses_pyside = _scan_bytes(original)   # type: ignore[union-attr]
    return True


def fill_on_use() -> bool:
    """Put pyqtgraph's Qt modules in place, to be filled on use; True if it did."""
    if "pyqtgraph" in sys.modules or any(b in sys.modules for b in OTHER_BINDINGS):
        return False
    if os.environ.get("PYQTGRAPH_QT_LIB", "PySide6") != "PySide6":
        return False
    import PySide6.QtCore
    import PySide6.QtGui
    import PySide6.QtWidgets

    for name in MODULES:
        sys.modules[f"pyqtgraph.Qt.{name}"] = _forwarding_module(name, getattr(PySide6, name))
    return True


def install() -> None:
    """Both, before the app imports pyqtgraph or most of its own modules."""
    quick_feature_scan()
    fill_on_use()
