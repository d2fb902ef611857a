"""Whole titles on the tabs of tabbed docks.

Qt's main window draws a tab bar for every group of tabbed docks and, by default, elides
the titles to fit the bar: nine views tabbed under the carousel of a 1366-wide window
read "G…", "L…", "P…". Each such bar keeps its titles whole and scrolls instead. The bars
are made and remade by Qt as docks are tabbed, so each is set when it is polished.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QMainWindow, QTabBar


def whole_titles(bar: QTabBar) -> None:
    bar.setElideMode(Qt.TextElideMode.ElideNone)
    bar.setUsesScrollButtons(True)


class DockTabs(QObject):
    """Sets every tab bar of ``window``'s docks, present and to come, to ``whole_titles``."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        for bar in window.findChildren(QTabBar):
            whole_titles(bar)
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.ChildPolished:
            child = event.child()
            if isinstance(child, QTabBar):
                whole_titles(child)
        return False
