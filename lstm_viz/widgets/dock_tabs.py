"""Tabbed docks keep their titles whole.

QMainWindow makes the tab bar of a group of tabbed docks itself, and by default elides
the titles to fit the group's width: with ten views beside the heatmaps at 1366 px they
read "G…", "L…", "P…". Whole titles with scroll arrows are readable; so every tab bar the
window makes, whenever it makes one (docks are tabbed, moved and shown as passes change),
is set so when Qt polishes it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QTabBar


def whole_titles(bar: QTabBar) -> None:
    bar.setElideMode(Qt.TextElideMode.ElideNone)
    bar.setUsesScrollButtons(True)


class _TabBarWatcher(QObject):
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ChildPolished:
            child = event.child()
            if isinstance(child, QTabBar):
                whole_titles(child)
        return False


def keep_tab_titles_whole(window) -> None:
    """Whole titles on the window's dock tab bars, those there now and those to come."""
    for bar in window.findChildren(QTabBar):
        whole_titles(bar)
    window._tab_bar_watcher = _TabBarWatcher(window)
    window.installEventFilter(window._tab_bar_watcher)
