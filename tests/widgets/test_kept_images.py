"""``Heatmap.keep_images``: an image set again under its key is shown from the item that
already holds its coloured picture; every change of what a key stands for gives a new
picture (a new image under a forgotten key, an image set with no key, a cleared map, other
levels)."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF

from lstm_viz.pictures.colors import DIVERGING
from lstm_viz.widgets.plots import Heatmap

RECT = QRectF(0, 0, 3, 2)


@pytest.fixture
def heat(qapp):
    view = pg.GraphicsLayoutWidget()
    h = Heatmap(view.ci, 0, 0)
    h.view = view                             # kept alive with the map
    h.keep_images(2)
    return h


def shown(h):
    """The image items drawn over the plot, and the picture of the one drawn (the others
    are transparent, not hidden: hiding throws a cached item's pixmap away)."""
    items = [i for i in h.plot.items if isinstance(i, pg.ImageItem) and i is not h.special]
    drawn = [i for i in items if i.isVisible() and i.opacity() > 0]
    assert drawn == [h.image]
    h.image.render()
    return h.image.qimage.copy()


def test_a_kept_image_is_shown_again_without_colouring_it_again(heat):
    a, b = np.full((3, 2), -0.5, np.float32), np.full((3, 2), 0.5, np.float32)
    heat.set_image(a, RECT, DIVERGING, (-1, 1), key="a")
    picture_a, item_a = shown(heat), heat.image
    heat.set_image(b, RECT, DIVERGING, (-1, 1), key="b")
    assert heat.image is not item_a and shown(heat) != picture_a
    heat.set_image(a, RECT, DIVERGING, (-1, 1), key="a")
    assert heat.image is item_a and item_a.qimage is not None     # not rendered again
    assert shown(heat) == picture_a and heat.data is a


def test_other_levels_recolour_a_kept_image(heat):
    a = np.array([[-1, 0], [0.5, 1], [0, 0]], np.float32)
    heat.set_image(a, RECT, DIVERGING, (-1, 1), key="a")
    wide = shown(heat)
    heat.set_image(a, RECT, DIVERGING, (-1, 1), key="b")
    heat.set_image(a, RECT, DIVERGING, (-4, 4), key="a")
    assert tuple(heat.image.levels) == (-4, 4) and shown(heat) != wide


def test_a_forgotten_key_a_keyless_image_and_a_clear_drop_the_picture(heat):
    old, new = np.full((3, 2), -0.5, np.float32), np.full((3, 2), 0.9, np.float32)
    heat.set_image(new, RECT, DIVERGING, (-1, 1), key="x")
    want = shown(heat)
    for drop in (heat.forget_images,
                 lambda: heat.set_image(np.zeros((3, 2), np.float32), RECT, DIVERGING,
                                        (-1, 1)),
                 heat.clear):
        heat.set_image(old, RECT, DIVERGING, (-1, 1), key="x")
        drop()
        heat.set_image(new, RECT, DIVERGING, (-1, 1), key="x")
        assert shown(heat) == want


def test_no_more_items_than_kept(heat):
    for k in range(6):
        heat.set_image(np.full((3, 2), k / 6, np.float32), RECT, DIVERGING, (-1, 1), key=k)
        shown(heat)
    items = [i for i in heat.plot.items if isinstance(i, pg.ImageItem) and i is not heat.special]
    assert len(items) == 2
