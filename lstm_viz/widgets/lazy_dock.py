"""A dock whose panel is built the first time it is needed.

Most sessions never open the Training panel or the views of what their pass lacks (a
read-out, an embedding, stacked layers), yet building them was a fifth of the time to
the first painted window (issue 16: the 22 plots of the views, their menus and colour
bars). A ``LazyDock`` is in the window from the start, with its title, its View menu
toggle, its key and its place in the layout; what it holds is made when it is first
shown, whichever way (the View menu, Alt+N, a restored layout, a pass that has the view,
``dock.show()``), or when code asks for it (``content()``).

It is built before the dock becomes visible (in ``setVisible``, which every way of
showing a widget goes through), so Qt lays the dock out with its panel's own sizes,
exactly as if it had been built at the start. A dock that is not hidden once the window
is made is built then (``build_shown``): the first layout must see every visible panel;
except a tab behind the heatmaps whose panel is no larger at its least, or whose least
size is stated and held by a stand-in until it is built (``hold``; ``wait_behind``):
built when it first comes to the front.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import shiboken6
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QDockWidget, QWidget


class LazyDock(QDockWidget):
    """A dock that builds its panel with ``build()`` when first shown or asked for, and
    puts it in place with ``place(panel)`` (default: as the dock's widget)."""

    def __init__(self, title: str, parent: QWidget, build: Callable[[], QWidget],
                 place: Callable[[QWidget], None] | None = None, waiting: bool = False):
        super().__init__(title, parent)
        self._build = build
        self._place = place if place is not None else self.setWidget
        self._content: QWidget | None = None
        # Shown, but a tab behind another (``wait_behind``): built when in front. True
        # from the start for the docks that may wait, until the window is made.
        self.waiting = waiting
        self.visibilityChanged.connect(lambda on: on and self.content())

    def hold(self, least: QSize) -> None:
        """Until the panel is built, an empty stand-in of the panel's stated least (and
        preferred) size holds its place: a tab group or dock area is laid out with the
        sizes it will have once the panel is there (``wait_behind``)."""
        if self._content is None:
            self.setWidget(_StandIn(least, self))

    @property
    def built(self) -> bool:
        return self._content is not None

    def content(self) -> QWidget:
        """The panel, built now if it was not yet."""
        if self._content is None:
            content = self._build()
            self._content = content
            self.waiting = False
            stand_in = self.widget() if isinstance(self.widget(), _StandIn) else None
            self._place(content)
            if stand_in is not None:
                stand_in.deleteLater()
            if self.isVisible():            # Qt would show it only once events are processed
                content.show()
        return self._content

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt's name
        if not visible:
            self.waiting = False          # shown again, it may be put anywhere: built then
        elif self._content is None and not self.waiting:
            self.content()
        super().setVisible(visible)


class _StandIn(QWidget):
    """Empty, of a stated size: the least and the preferred size of a panel not built yet."""

    def __init__(self, size: QSize, parent: QWidget):
        super().__init__(parent)
        self.setMinimumSize(size)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.minimumSize()


def build_shown(window: QWidget) -> None:
    """Build the panel of every lazy dock of ``window`` that is not hidden and not
    ``waiting`` (before the window is first shown, so that its first layout sees them)."""
    for dock in window.findChildren(LazyDock):
        if not dock.isHidden() and not dock.waiting:
            dock.content()


def wait_behind(window, front: QDockWidget, docks) -> None:
    """Of ``docks`` (made ``waiting``), let those that are tabs behind ``front`` wait to
    be built until they come to the front (their ``visibilityChanged``), or until
    ``front`` first goes out of view or moves (a tab raised, the dock closed, dragged or
    floated: then all of them are built); the others stop waiting.

    Only for docks whose panels are no larger at their least than ``front``'s, or whose
    least size is stated and held until they are built (``LazyDock.hold``;
    ``view_docks.BEHIND_HEATMAPS``, tested): while ``front`` is shown in their group, the
    group's least size is the same built or not, so the window is laid out as if they
    were built."""
    shown = not front.isHidden() and not front.isFloating()
    group = window.tabifiedDockWidgets(front) if shown else []
    waiting = []
    for dock in docks:
        dock.waiting = not dock.built and not dock.isHidden() and dock in group
        if dock.waiting:
            waiting.append(dock)
    if not waiting:
        return

    def build_all(*_):
        # The window closing, hidden, or already deleted (torn down at interpreter exit
        # before its docks say they left the screen): nothing to build for.
        if not shiboken6.isValid(window) or not window.isVisible():
            return
        for dock in waiting:
            if dock.waiting:
                dock.content()
    front.visibilityChanged.connect(lambda on: on or build_all())
    front.dockLocationChanged.connect(build_all)
    front.topLevelChanged.connect(build_all)


class LazyViews(Mapping):
    """``{name: view}`` over docks some of which are lazy: looking a view up builds it
    if its dock has not been shown yet (iterating ``values()`` builds them all)."""

    def __init__(self, docks: Mapping[str, QDockWidget]):
        self._docks = docks

    def __getitem__(self, name: str):
        dock = self._docks[name]
        return dock.content() if isinstance(dock, LazyDock) else dock.widget()

    def __iter__(self) -> Iterator[str]:
        return iter(self._docks)

    def __len__(self) -> int:
        return len(self._docks)

    def built(self, name: str) -> bool:
        dock = self._docks[name]
        return not isinstance(dock, LazyDock) or dock.built
