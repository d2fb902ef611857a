"""fast_imports: pyqtgraph's Qt modules filled on use hold what pyqtgraph's own copy
would, and PySide6's per-module scan answers as PySide6's own does."""

import os
import subprocess
import sys
import textwrap

from lstm_viz.widgets import fast_imports


def _fresh(code: str, **env: str) -> str:
    """Run ``code`` in a new interpreter (this one imported pyqtgraph long ago)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_pyqtgraphs_qt_modules_hold_every_pyside6_name_and_create_none_before_use():
    out = _fresh("""
        import lstm_viz.widgets                       # installs before pyqtgraph comes
        import pyqtgraph as pg
        import PySide6
        unused = "QCryptographicHash"                 # no widget asks pyqtgraph for it
        print("filled early:", unused in vars(pg.Qt.QtCore))
        for name in ("QtCore", "QtGui", "QtWidgets"):
            ours, theirs = getattr(pg.Qt, name), getattr(PySide6, name)
            for attr in dir(theirs):
                if attr.startswith("__"):
                    continue
                assert getattr(ours, attr) is getattr(theirs, attr), (name, attr)
        print("kept after use:", unused in vars(pg.Qt.QtCore))
        print("opengl shim:", pg.Qt.QtWidgets.QOpenGLWidget.__name__)
        print("listed:", set(dir(PySide6.QtCore)) <= set(dir(pg.Qt.QtCore)))
        print("no file:", hasattr(pg.Qt.QtCore, "__file__"))
        import shibokensupport.feature as feature
        print("scan installed:", hasattr(feature._mod_uses_pyside, "original"))
        app = pg.mkQApp()
        plot = pg.PlotWidget()
        plot.plot([1.0, 2.0, 3.0])                    # pyqtgraph works on them
    """)
    assert out.splitlines() == ["filled early: False", "kept after use: True",
                                "opengl shim: QOpenGLWidget", "listed: True", "no file: False",
                                "scan installed: True"]


def test_nothing_is_replaced_once_pyqtgraph_is_imported_or_another_binding_is_chosen():
    import pyqtgraph  # noqa: F401
    assert fast_imports.fill_on_use() is False
    out = _fresh("""
        import sys
        import lstm_viz.widgets
        print("pyqtgraph.Qt.QtCore" in sys.modules)
    """, PYQTGRAPH_QT_LIB="PyQt6")
    assert out == "False"


def test_the_byte_scan_answers_as_pysides_own_for_every_module_loaded():
    import PySide6.QtCore  # noqa: F401

    original = sys.modules["shibokensupport.feature"]._mod_uses_pyside
    original = getattr(original, "original", original)          # PySide6's own
    asked = []
    scan = fast_imports._scan_bytes(lambda m: asked.append(m) or original(m))
    modules = [m for m in list(sys.modules.values()) if getattr(m, "__spec__", None)]
    answers = [(m.__name__, scan(m), original(m)) for m in modules]
    assert len(answers) > 300
    assert [a for a in answers if a[1] != a[2]] == []
    assert any(ours for _, ours, _ in answers)       # both answers occur
    assert not all(ours for _, ours, _ in answers)
    from_files = [m for m in modules if str(m.__spec__.origin).endswith(".py")
                  and os.path.isfile(m.__spec__.origin)]     # (shiboken's own are not)
    assert len(from_files) > 300
    assert not any(m in from_files for m in asked)  # the bytes answered those
