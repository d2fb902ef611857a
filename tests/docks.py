"""A view's dock brought to the front in a test's window, for the widget tests."""


def show_view(w, name, qapp):
    """Show and raise the dock of view ``name`` in window ``w``, let it paint, and return
    the view (a lazy dock builds its view when first shown)."""
    w.view_docks[name].show()
    w.view_docks[name].raise_()
    qapp.processEvents()
    return w.views[name]
