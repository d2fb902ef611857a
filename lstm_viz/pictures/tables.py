"""Every view's table as CSV text, for export. No Qt."""

from __future__ import annotations

import numpy as np


def stack_tables(tables) -> tuple[list[str], list[list]]:
    """Several tables with a common leading layout in one: the widest header, rows padded."""
    header = max((h for h, _ in tables), key=len)
    rows = [row + [None] * (len(header) - len(row)) for _, rs in tables for row in rs]
    return header, rows


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    x = float(v)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def csv_text(header: list[str], rows) -> str:
    """Comma-separated, one header line; empty cells for values not computed."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()
