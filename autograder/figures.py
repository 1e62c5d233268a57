"""What a graded plotting exercise reports: a matplotlib figure as plain data.

Runs in the learner's kernel (``check(name, fig, kind="figure")`` calls it before encoding),
so it only reads the figure: per axes its title and axis labels and, per plotted thing, its
kind and data: lines (``plot``), bars (``bar``, ``barh``, ``hist``; a horizontal bar is the
same bar on its side), points (``scatter``, or ``plot`` with markers and no line) and images
(``imshow``). The grader compares the summary with the solution's on its own side
(``comparators._figure``): same number of axes, every series of the solution's drawn
with the same kind and data, and a label wherever the solution has one, in any words.
Colours, styles and other decoration are the learner's choice and are not reported.
"""

from __future__ import annotations

from typing import Any

MAX_POINTS = 20_000
"""Most values one series may report (a larger plot reports its first ones)."""


def _values(data: Any) -> list[Any]:
    """Numbers as floats, anything else (category names) as text, at most ``MAX_POINTS``."""
    out: list[Any] = []
    for item in list(data)[:MAX_POINTS]:
        try:
            out.append(float(item))
        except (TypeError, ValueError):
            out.append(str(item))
    return out


def _axes_of(value: Any) -> list[Any]:
    if hasattr(value, "get_axes"):  # a Figure
        return list(value.get_axes())
    if hasattr(value, "get_lines") and hasattr(value, "figure"):  # one Axes
        return [value]
    if isinstance(value, list | tuple) or type(value).__name__ == "ndarray":  # plt.subplots' axes
        axes = list(getattr(value, "flat", value))
        if axes and all(hasattr(ax, "get_lines") for ax in axes):
            return axes
    raise TypeError(
        f"check(..., kind='figure') needs a matplotlib Figure or Axes, got {type(value).__name__}; "
        "pass the figure: fig, ax = plt.subplots() ... check(name, fig, ...)"
    )


def _markers_only(line: Any) -> bool:
    """``plot(x, y, "o")`` draws points without a line: a scatter plot by another call."""
    no_line = str(line.get_linestyle()).lower() in ("none", "", " ")
    return no_line and str(line.get_marker()).lower() not in ("none", "", " ")


def _series(ax: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in ax.get_lines():
        kind = "scatter" if _markers_only(line) else "line"
        found.append({"kind": kind, "x": _values(line.get_xdata()), "y": _values(line.get_ydata())})
    for container in getattr(ax, "containers", []):
        patches = [p for p in container if hasattr(p, "get_height")]
        if patches and getattr(container, "orientation", None) == "horizontal":
            # barh: the same bars on their side, so position and length swap axes
            found.append(
                {
                    "kind": "bar",
                    "x": _values(p.get_y() + p.get_height() / 2 for p in patches),
                    "y": _values(p.get_width() for p in patches),
                }
            )
        elif patches:
            found.append(
                {
                    "kind": "bar",
                    "x": _values(p.get_x() + p.get_width() / 2 for p in patches),
                    "y": _values(p.get_height() for p in patches),
                }
            )
    for collection in ax.collections:
        offsets = collection.get_offsets() if hasattr(collection, "get_offsets") else []
        if len(offsets):
            found.append(
                {
                    "kind": "scatter",
                    "x": _values(row[0] for row in offsets),
                    "y": _values(row[1] for row in offsets),
                }
            )
    for image in ax.get_images():
        array = image.get_array()
        rows = [_values(row) for row in list(array)[:200]] if array is not None else []
        found.append({"kind": "image", "x": [float(len(rows))], "y": [v for row in rows for v in row]})
    return found


def figure_summary(value: Any) -> dict[str, Any]:
    """The figure (or axes) as ``{"axes": [{"title", "xlabel", "ylabel", "series": [...]}]}``."""
    return {
        "axes": [
            {
                "title": str(ax.get_title()),
                "xlabel": str(ax.get_xlabel()),
                "ylabel": str(ax.get_ylabel()),
                "series": _series(ax),
            }
            for ax in _axes_of(value)
        ]
    }
