"""What if from where you are: the Intervene dock and the right-click menus that feed it.

``add_intervene(window, docks, views)`` adds the Intervene panel as a dock (View ▸
Intervene, Ctrl+I) and a right-click menu on a unit of the heatmaps over time (knock out
this cell from this step, clamp one of its gates), on a gate of the carousel (clamp it,
scale its block) and on a step of the timeline (edit x(t), cut a path, truncate). Each
entry is one of ``whatif.choices``; choosing it adds that line to the panel and applies
it. The menus are hung on the views from here: the views themselves do not change.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QMenu, QScrollArea

from ..model.whatif import choices
from .intervene_panel import IntervenePanel
from .plain import menu_text

KEY = "Ctrl+I"


class Intervener:
    """The dock, the panel and the menus; ``last_menu`` is the menu shown last (tests)."""

    def __init__(self, window, docks, views):
        self.window = window
        self.session = window.session
        # In a scroll area: a tab beside the heatmaps must not raise the window's least
        # height (the panel's editor, buttons and two plots are taller than a heatmap's).
        # The area's least size is its own, so the panel is made when first brought to
        # the front or asked for (``panel``), not at the start, behind the heatmaps.
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setMinimumSize(120, 60)
        self._area = area
        self._panel: IntervenePanel | None = None
        self.dock = window.add_dock("Intervene", "intervene", area,
                                    Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock.visibilityChanged.connect(lambda on: on and self.panel)
        window.tabifyDockWidget(docks["heatmaps"], self.dock)
        docks["heatmaps"].raise_()
        toggle = self.dock.toggleViewAction()
        toggle.setShortcut(QKeySequence(KEY))
        toggle.setToolTip("what if: clamp a gate, knock out a cell, edit x(t), cut a path — "
                          "and compare with the original")
        window.menus["View"].addAction(toggle)
        self.last_menu: QMenu | None = None
        for panel in views["heatmaps"].panels():
            panel.map.plot.setMenuEnabled(False)     # our menu instead of pyqtgraph's
            panel.graphics.scene().sigMouseClicked.connect(
                lambda ev, p=panel: self._heatmap_click(p, ev))
        carousel = views["carousel"]
        carousel.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        carousel.view.customContextMenuRequested.connect(
            lambda pos: self.carousel_menu_at(carousel, pos))
        bar = window.timeline.bar
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        bar.customContextMenuRequested.connect(lambda pos: self.timeline_menu_at(bar, pos))

    @property
    def panel(self) -> IntervenePanel:
        """The Intervene panel, made on first use."""
        if self._panel is None:
            self._panel = IntervenePanel(self.session, compare=self._compare)
            self._area.setWidget(self._panel)
            self._panel.show()
        return self._panel

    def _compare(self, preset: str):
        return self.window.workbench.compare(preset)

    def _layer(self):
        s = self.session
        return s.view_layer if s.num_layers > 1 else None

    def _step(self) -> int:
        s = self.session
        return s.data.focus_step(s.data.model.frame(s.view_index))

    # ---- the menus ----

    def menu(self, kind: str, **where) -> QMenu:
        """The menu of ``whatif.choices(kind, …)`` at the layer in view."""
        menu = QMenu(self.window)
        for label, line in choices(kind, layer=self._layer(),
                                   steps=self.session.trace.steps, **where):
            act = menu.addAction(menu_text(label))
            act.setToolTip(line)
            act.triggered.connect(lambda _=False, ln=line: self.choose(ln))
        menu.setToolTipsVisible(True)
        self.last_menu = menu
        return menu

    def choose(self, line: str) -> bool:
        """Add ``line`` to the panel, apply it and bring the panel up."""
        self.dock.show()
        self.dock.raise_()
        return self.panel.add(line)

    def _popup(self, menu: QMenu, global_pos: QPoint) -> None:
        menu.popup(global_pos)

    def heatmap_menu_at(self, panel, t: int, unit: int) -> QMenu | None:
        """The menu for unit ``unit`` at step ``t`` of a heatmap (None off the units)."""
        if not (0 <= unit < self.session.trace.hidden and 0 <= t < self.session.trace.steps):
            return None
        return self.menu("unit", t=t, unit=unit)

    def _heatmap_click(self, panel, event) -> None:
        if event.button() != Qt.MouseButton.RightButton:
            return
        got = panel.map.at(event.scenePos())
        if got is None:
            return
        data = panel.map.data
        if data is not None and data.shape[1] != self.session.trace.hidden:
            return                                 # xc's rows are inputs and units
        menu = self.heatmap_menu_at(panel, int(np.floor(got[0] + 0.5)), int(np.floor(got[1])))
        if menu is not None:
            event.accept()
            self._popup(menu, event.screenPos().toPoint())

    def gate_at(self, carousel, scene_pos) -> str | None:
        for gate, box in carousel.gates.items():
            if box.sceneBoundingRect().contains(scene_pos):
                return gate
        return None

    def carousel_menu_at(self, carousel, pos) -> QMenu | None:
        """The menu for the gate under ``pos`` (the carousel view's coordinates)."""
        gate = self.gate_at(carousel, carousel.view.mapToScene(pos))
        if gate is None:
            return None
        menu = self.menu("gate", t=self._step(), gate=gate)
        self._popup(menu, carousel.view.mapToGlobal(pos))
        return menu

    def timeline_menu_at(self, bar, pos) -> QMenu:
        """The menu for the step under ``pos`` on the timeline."""
        s = self.session
        index = s.frames.clamp(bar.index_at(pos.x()))
        frame = s.frames.frame(index)
        t = frame.t if frame.t is not None else self._step()
        menu = self.menu("step", t=int(t))
        self._popup(menu, bar.mapToGlobal(pos))
        return menu


def add_intervene(window, docks, views) -> Intervener:
    return Intervener(window, docks, views)
