"""The time heatmaps' left axis reads "xc index" for dxc and "unit" otherwise; a seek into
the other layer of a stacked model sets no label again (its HTML was re-made and repainted
at every change of layer)."""

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session


def test_the_left_label_follows_the_quantity_and_is_set_only_when_it_changes(
        make_window, qapp):
    w = make_window(Session(default_config("random", steps=12, inputs=3, hidden=4,
                                           layers=2)))
    s = w.session
    w.view_docks["heatmaps"].show()
    view = w.views["heatmaps"]
    panel = view.backward
    axis = panel.map.plot.getAxis("left")
    labels = []
    set_label = axis.setLabel

    def counted(*a, **kw):
        labels.append(a[0] if a else kw.get("text"))
        return set_label(*a, **kw)

    axis.setLabel = counted
    for frame in ("bwd:5:L0:ds", "bwd:5:L1:ds", "bwd:3:L0:ds"):
        s.goto(frame)
        qapp.processEvents()
    assert labels == [] and axis.labelText == "unit"
    panel.choose.setCurrentText("dxc")
    qapp.processEvents()
    assert axis.labelText == "xc index"
    for frame in ("bwd:5:L1:ds", "bwd:4:L0:ds"):
        s.goto(frame)
        qapp.processEvents()
    assert labels == ["xc index"] and axis.labelText == "xc index"
    panel.choose.setCurrentText("ds")
    qapp.processEvents()
    assert labels == ["xc index", "unit"] and axis.labelText == "unit"
