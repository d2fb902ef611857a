"""``plots.ColourImage``: its own render of a colour-mapped float image gives the very
picture pyqtgraph's render gives (same indices, same colour table), for every image order,
dtype, table and levels the views use, and when the table or the levels change; images it
does not map itself (NaN, RGBA) are pyqtgraph's."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage

from lstm_viz.pictures.colors import DIVERGING, SEQUENTIAL
from lstm_viz.widgets.plots import ColourImage, lut_for


def pixels(item) -> np.ndarray:
    item.render()
    q = item.qimage.convertToFormat(QImage.Format.Format_ARGB32)
    return np.array(q.constBits(), copy=True).reshape(q.height(), q.width(), 4)


def both(image, lut, levels, order="row-major"):
    ours, theirs = ColourImage(axisOrder=order), pg.ImageItem(axisOrder=order)
    for item in (ours, theirs):
        item.setLookupTable(lut, update=False)
        item.setImage(image, autoLevels=False, levels=levels)
    return ours, theirs


def values(shape, dtype, seed=0):
    """Values inside, beyond and exactly at the levels ±1, and 0."""
    a = np.random.default_rng(seed).normal(0.0, 0.8, shape).astype(dtype)
    a.flat[:6] = (-1.0, 1.0, 0.0, -3.0, 3.0, 0.999999)
    return a


@pytest.mark.parametrize("order", ["row-major", "col-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("levels", [(-1.0, 1.0), (-0.013, 0.02), (0.5, 0.5), (0, 255)])
def test_the_same_picture_as_pyqtgraph(qapp, order, dtype, levels):
    ours, theirs = both(values((37, 53), dtype), lut_for(DIVERGING), levels, order)
    mine = pixels(ours)
    assert ours._table_of is lut_for(DIVERGING)        # drawn by its own path
    np.testing.assert_array_equal(mine, pixels(theirs))


@pytest.mark.parametrize("lut", [
    np.random.default_rng(1).integers(0, 256, (256, 4), dtype=np.uint8),   # with alpha
    np.random.default_rng(2).integers(0, 256, (16, 3), dtype=np.uint8),    # short table
])
def test_other_tables(qapp, lut):
    ours, theirs = both(values((20, 30), np.float32), lut, (-1.0, 1.0))
    np.testing.assert_array_equal(pixels(ours), pixels(theirs))


def test_a_new_table_or_new_levels_recolour(qapp):
    image = values((25, 40), np.float32)
    ours, theirs = both(image, lut_for(DIVERGING), (-1.0, 1.0))
    before = pixels(ours)
    for item in (ours, theirs):
        item.setLookupTable(lut_for(SEQUENTIAL))
    after = pixels(ours)
    assert ours._table_of is lut_for(SEQUENTIAL) and not np.array_equal(after, before)
    np.testing.assert_array_equal(after, pixels(theirs))
    for item in (ours, theirs):
        item.setLevels((-0.2, 0.4))
    np.testing.assert_array_equal(pixels(ours), pixels(theirs))
    for item in (ours, theirs):
        item.setImage(image * 0.1, autoLevels=False)
    np.testing.assert_array_equal(pixels(ours), pixels(theirs))


def test_nan_and_rgba_images_are_pyqtgraphs(qapp):
    image = values((10, 12), np.float32)
    image[3, 4] = np.nan                                # pyqtgraph: a transparent pixel
    ours, theirs = both(image, lut_for(DIVERGING), (-1.0, 1.0))
    mine = pixels(ours)
    assert mine[3, 4, 3] == 0 and ours._table_of is None
    np.testing.assert_array_equal(mine, pixels(theirs))
    rgba = np.random.default_rng(3).integers(0, 256, (10, 12, 4), dtype=np.uint8)
    ours, theirs = ColourImage(axisOrder="row-major"), pg.ImageItem(axisOrder="row-major")
    for item in (ours, theirs):
        item.setImage(rgba, autoLevels=False, levels=(0, 255))
    np.testing.assert_array_equal(pixels(ours), pixels(theirs))
