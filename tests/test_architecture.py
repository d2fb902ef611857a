"""The layers of docs/architecture.md, checked on the folders rather than a list of modules:
the engine, the model and the pictures never import Qt; no module imports itself back
through others; no module of the app grows past a size a reader can hold."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lstm_engine", "lstm_viz")
QT_FREE = ("lstm_engine", "lstm_viz.model", "lstm_viz.pictures")
MAX_LINES = 500


def test_qt_free_layers_import_without_qt():
    """Import every module found under the Qt-free folders (and use the model once), then
    look for Qt among the loaded modules. ``__main__`` modules run the program on import,
    so they are left out; a module added to these folders is checked without a list."""
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {QT_FREE!r}:\n"
        "    package = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        if info.name.rsplit('.', 1)[-1] != '__main__':\n"
        "            importlib.import_module(info.name)\n"
        "from lstm_viz.model.session import Session\n"
        "s = Session(); s.step_over(); s.data.stats('h', s.cursor)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('lstm_engine.', 'lstm_viz.')))\n"
        "qt = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "print(len(loaded), bad)\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count, bad = done.stdout.split(maxsplit=1)
    assert bad.strip() == "[]"
    # the walk found the modules: at least every .py file of the Qt-free folders
    files = [p for name in QT_FREE for p in (ROOT / name.replace(".", "/")).rglob("*.py")
             if p.name not in ("__init__.py", "__main__.py")]
    assert int(count) >= len(files) > 20


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules ``name`` imports anywhere in its file (a function-level import
    closes a cycle as surely as one at the top)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            # ``from pkg import mod`` imports the module pkg.mod; ``from mod import f`` mod
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:    # ``import a.b.c``: the deepest known
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = {}                     # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_among_the_project_modules():
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    assert graph["lstm_viz.widgets.main_window"] >= {"lstm_viz.widgets.workbench",
                                                     "lstm_viz.model.session"}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _line_counts() -> dict[str, int]:
    return {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
            for p in sorted((ROOT / "lstm_viz").rglob("*.py"))}


def test_no_module_of_the_app_is_over_500_lines():
    counts = _line_counts()
    assert "lstm_viz/model/session.py" in counts             # (the walk sees the model)
    long = {f: n for f, n in counts.items() if n > MAX_LINES}
    assert not long, long
