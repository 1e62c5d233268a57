"""Tiny SVG charts (bars, histogram, heatmap, lines) for pages that must stand alone.

Why our own: the progress page and the class report are single HTML files a learner
opens from JupyterLab's file browser or an instructor mails around, so they may load
nothing from the network and run no script; and matplotlib is not a dependency. Each
chart is a small, deterministic SVG (same data, same bytes), embedded as an ``<img>``
with a ``data:`` URI and an alt text that states the numbers, so the picture is never
the only way to read them. Colours are the Okabe-Ito palette (safe for colour-blind
readers), and every heatmap cell prints its value as well.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FONT = 'font-family="system-ui, sans-serif"'
CHAR = 0.6  # average glyph width, in font sizes: enough to lay labels out without a font engine
THRESHOLD = 'stroke="#C62828" stroke-width="2" stroke-dasharray="4 2"'
SVG_NS = "http://www.w3.org/2000/svg"  # the namespace name an SVG file needs; nothing is fetched


@dataclass(frozen=True)
class Chart:
    """An SVG document with its size and the alt text that says what it shows."""

    svg: str
    alt: str
    width: int
    height: int

    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode("ascii")

    def img(self) -> str:
        """The ``<img>`` element to put in a page (alt text escaped here)."""
        return (
            f'<img src="{self.data_uri()}" alt="{html.escape(self.alt)}" '
            f'width="{self.width}" height="{self.height}">'
        )


def percent(value: float) -> str:
    return f"{value:.0%}"


def _esc(text: object) -> str:
    return html.escape(str(text))


def _n(value: float) -> str:
    """Coordinates with two decimals at most, so output is stable and small."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: object, *, size: int = 11, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>{_esc(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, style: str = 'stroke="#e0e0e0"') -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" {style}/>'


def _rect(x: float, y: float, w: float, h: float, style: str) -> str:
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" {style}/>'


def _width(text: object, size: int = 11) -> float:
    return len(str(text)) * size * CHAR


def _chart(width: float, height: float, title: str, body: list[str], alt: str) -> Chart:
    """The SVG document, at least as wide as its title."""
    w, h = round(max(width, _width(title, 13) + 16)), round(height)
    svg = (
        f'<svg xmlns="{SVG_NS}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" {FONT}>'
        f"<title>{_esc(title)}</title>"
        f'<rect width="{w}" height="{h}" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )
    return Chart(svg, alt, w, h)


def count_ticks(peak: float) -> list[float]:
    """Whole-number ticks from 0 to ``peak`` (counts of learners), at most about six."""
    top = max(1, math.ceil(peak))
    step = max(1, math.ceil(top / 5))
    return sorted({*range(0, top + 1, step), top})


def _legend(x: float, y: float, labels: Sequence[str], first: int = 0) -> list[str]:
    parts = []
    for i, label in enumerate(labels, start=first):
        parts.append(_rect(x, y - 9, 10, 10, f'fill="{PALETTE[i % 8]}"'))
        parts.append(_text(x + 14, y, label))
        x += 14 + _width(label) + 16
    return parts


def _threshold_key(
    legend: Sequence[str], top: float, threshold: float, threshold_label: str, fmt: Callable[[float], str]
) -> tuple[list[str], float]:
    """The threshold's dashed-line key after the series legend, and the width it needs."""
    legend_x = 8 + sum(14 + _width(n) + 16 for n in legend)
    label = threshold_label or f"threshold {fmt(threshold)}"
    line = _line(legend_x, top - 22, legend_x + 12, top - 22, THRESHOLD)
    return [line, _text(legend_x + 16, top - 18, label)], legend_x + 16 + _width(label) + 8


def _value_ticks(
    ticks: Sequence[float], left: float, top: float, height: float, scale: float, fmt: Callable[[float], str]
) -> list[str]:
    """Vertical grid lines with their values under the plot, so bar lengths can be read."""
    parts = []
    for tick in ticks:
        x = left + tick * scale
        parts.append(_line(x, top - 4, x, height - 26))
        parts.append(_text(x, height - 12, fmt(tick), size=10, anchor="middle"))
    return parts


def _bar_group(
    values: Sequence[tuple[str, float | None]],
    left: float,
    y0: float,
    bar_h: float,
    scale: float,
    max_value: float,
    fmt: Callable[[float], str],
) -> tuple[list[str], list[str]]:
    """One category's bars (``None`` drawn as "no data") and the words for its alt text."""
    parts: list[str] = []
    words: list[str] = []
    for j, (name, value) in enumerate(values):
        y = y0 + j * bar_h
        if value is None:
            parts.append(_text(left + 4, y + bar_h - 3, "no data", size=10, extra=' fill="#757575"'))
            words.append(f"{name}: no data")
            continue
        w = max(0.0, min(value, max_value)) * scale
        parts.append(_rect(left, y + 1, w, bar_h - 2, f'fill="{PALETTE[j % 8]}"'))
        parts.append(_text(left + w + 4, y + bar_h - 3, fmt(value), size=10))
        words.append(f"{name}: {fmt(value)}" if len(values) > 1 else fmt(value))
    return parts, words


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    max_value: float = 1.0,
    threshold: float | None = None,
    threshold_label: str = "",
    ticks: Sequence[float] | None = None,
    fmt: Callable[[float], str] = percent,
) -> Chart:
    """Horizontal grouped bars, one group per category, one bar per series.

    Horizontal, because categories are notebook and exercise names that are long; a
    ``None`` value is drawn as "no data", never as zero.
    """
    names = list(series)
    label_w = max((_width(c) for c in categories), default=0) + 12
    plot_w, bar_h, gap = 320.0, 14.0, 10.0
    group_h = bar_h * max(len(names), 1) + gap
    top = 28.0 + (18 if len(names) > 1 or threshold is not None else 0)
    left = label_w + 8
    height = top + group_h * len(categories) + 30
    width = left + plot_w + 60
    body = [_text(8, 18, title, size=13, extra=' font-weight="bold"')]
    legend = list(names) if len(names) > 1 else []
    if threshold is not None:
        key, key_width = _threshold_key(legend, top, threshold, threshold_label, fmt)
        body += key
        width = max(width, key_width)
    body += _legend(8, top - 18, legend)
    scale = plot_w / max_value if max_value else 0.0
    default_ticks = [max_value * t for t in (0.0, 0.25, 0.5, 0.75, 1.0)]
    body += _value_ticks(ticks if ticks is not None else default_ticks, left, top, height, scale, fmt)
    alt_parts = []
    for i, category in enumerate(categories):
        y0 = top + i * group_h
        body.append(_text(left - 8, y0 + group_h / 2, category, anchor="end"))
        bars, values = _bar_group([(n, series[n][i]) for n in names], left, y0, bar_h, scale, max_value, fmt)
        body += bars
        alt_parts.append(f"{category} {', '.join(values)}")
    if threshold is not None:
        x = left + min(threshold, max_value) * scale
        body.append(_line(x, top - 4, x, height - 26, THRESHOLD))
    alt = f"{title}. " + "; ".join(alt_parts)
    if threshold is not None:
        alt += f". {threshold_label or 'Threshold'}: {fmt(threshold)}"
    return _chart(width, height, title, body, alt)


def histogram(
    values: Sequence[float],
    edges: Sequence[float],
    *,
    title: str,
    x_label: str,
    fmt: Callable[[float], str] = percent,
) -> Chart:
    """Counts of ``values`` per bin ``[edges[i], edges[i+1])``, the last bin closed."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= value < edges[i + 1] or (last and value == edges[i + 1]):
                counts[i] += 1
                break
    top, left, plot_h, bin_w = 42.0, 40.0, 120.0, 28.0
    width = left + bin_w * len(counts) + 20
    height = top + plot_h + 44
    peak = max(counts, default=0) or 1
    body = [_text(8, 18, title, size=13, extra=' font-weight="bold"')]
    base = top + plot_h
    body.append(_line(left, base, width - 20, base, 'stroke="#757575"'))
    body.append(_text(left - 6, top + 8, peak, size=10, anchor="end"))
    body.append(_text(left - 6, base, 0, size=10, anchor="end"))
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bin_w
        if count:
            body.append(_rect(x + 1, base - h, bin_w - 2, h, f'fill="{PALETTE[0]}"'))
            body.append(_text(x + bin_w / 2, base - h - 3, count, size=10, anchor="middle"))
    for i, edge in enumerate(edges):
        if i % 2 == 0 or len(edges) <= 6:
            body.append(_text(left + i * bin_w, base + 14, fmt(edge), size=10, anchor="middle"))
    body.append(_text(left + bin_w * len(counts) / 2, base + 32, x_label, size=10, anchor="middle"))
    bins = [f"{fmt(edges[i])} to {fmt(edges[i + 1])}: {c}" for i, c in enumerate(counts) if c] or [
        "no values"
    ]
    alt = f"{title}. Histogram of {x_label} ({len(values)} values): " + "; ".join(bins)
    return _chart(width, height, title, body, alt)


def _colour(value: float) -> str:
    """A light-to-dark blue ramp, so low and high differ in lightness, not only hue."""
    low, high = (0xF1, 0xEE, 0xF6), (0x08, 0x51, 0x9C)
    v = max(0.0, min(1.0, value))
    return "#" + "".join(f"{round(a + (b - a) * v):02x}" for a, b in zip(low, high))


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    fmt: Callable[[float], str] = percent,
) -> Chart:
    """A grid of fractions in [0, 1] (rows x columns); ``None`` cells are hatched grey."""
    cell_w = max(64.0, max((_width(c, 10) + 8 for c in columns), default=0))
    cell_h = 20.0
    left = max((_width(r) for r in rows), default=0) + 16
    top = 46.0
    width = left + cell_w * len(columns) + 12
    height = top + cell_h * len(rows) + 12
    body = [_text(8, 18, title, size=13, extra=' font-weight="bold"')]
    for j, column in enumerate(columns):
        body.append(_text(left + j * cell_w + cell_w / 2, top - 8, column, size=10, anchor="middle"))
    alt_rows = []
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(_text(left - 8, y + cell_h / 2 + 4, row, anchor="end"))
        cells = []
        for j, column in enumerate(columns):
            x = left + j * cell_w
            value = values[i][j]
            if value is None:
                body.append(_rect(x, y, cell_w, cell_h, 'fill="#eeeeee" stroke="#ffffff"'))
                body.append(_text(x + cell_w / 2, y + 14, "-", size=10, anchor="middle"))
                cells.append(f"{column} no data")
                continue
            ink = "#ffffff" if value > 0.55 else "#000000"
            body.append(_rect(x, y, cell_w, cell_h, f'fill="{_colour(value)}" stroke="#ffffff"'))
            ink = f' fill="{ink}"'
            body.append(_text(x + cell_w / 2, y + 14, fmt(value), size=10, anchor="middle", extra=ink))
            cells.append(f"{column} {fmt(value)}")
        alt_rows.append(f"{row}: {', '.join(cells)}")
    alt = f"{title}. " + "; ".join(alt_rows)
    return _chart(width, height, title, body, alt)


def line_chart(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    y_label: str,
    y_max: float | None = None,
) -> Chart:
    """Lines over ordered x labels (dates), with a dot at every point (one date is a dot)."""
    names = list(series)
    peak = y_max if y_max is not None else max((v for s in series.values() for v in s), default=0)
    ticks = count_ticks(peak)
    peak = ticks[-1]
    legend_h = 16.0 * len(names)
    top, left, plot_h = 44.0 + legend_h, 48.0, 140.0
    step = 80.0 if len(x_labels) <= 8 else max(12.0, 560.0 / (len(x_labels) - 1))
    plot_w = max(240.0, step * (len(x_labels) - 1))
    if len(x_labels) > 1:
        step = plot_w / (len(x_labels) - 1)
    start = left + (plot_w / 2 if len(x_labels) == 1 else 0)  # a single date sits in the middle
    width = max(left + plot_w + 40, 8 + max((_width(n) + 14 for n in names), default=0) + 16)
    height = top + plot_h + 30
    base = top + plot_h
    body = [_text(8, 18, title, size=13, extra=' font-weight="bold"')]
    for j, name in enumerate(names):  # one per line: phase titles are long
        body += _legend(8, 36 + 16 * j, [name], first=j)
    for tick in ticks:
        y = base - plot_h * tick / peak
        body.append(_line(left, y, left + plot_w, y))
        body.append(_text(left - 6, y + 4, f"{tick:g}", size=10, anchor="end"))
    body.append(_text(left - 6, top - 10, y_label, size=10, anchor="end"))
    every = max(1, round(len(x_labels) / 8))
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == len(x_labels) - 1:
            body.append(_text(start + i * step, base + 16, label, size=10, anchor="middle"))

    def point(i: int, value: float) -> tuple[float, float]:
        return start + i * step, base - plot_h * value / peak

    alt_parts = []
    for j, name in enumerate(names):
        colour = PALETTE[j % 8]
        points = [point(i, v) for i, v in enumerate(series[name])]
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            body.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{colour}"/>')
        pairs = [f"{x} {v:g}" for x, v in zip(x_labels, series[name])]
        alt_parts.append(f"{name}: {', '.join(pairs) or 'no data'}")
    alt = f"{title} ({y_label}). " + "; ".join(alt_parts)
    return _chart(width, height, title, body, alt)
