"""The SVG charts of the progress page and class report: pure functions, tested without a browser.

Each chart must be a well-formed SVG document, the same bytes for the same data, say its
numbers in its alt text (the picture is never the only way to read them), escape what it
is given, and draw "no data" as no data, never as zero.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from autograder.views.charts import SVG_NS, bar_chart, count_ticks, heatmap, histogram, line_chart


def parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{{{SVG_NS}}}svg"
    return root


def texts(svg: str) -> list[str]:
    return [el.text or "" for el in parsed(svg).iter(f"{{{SVG_NS}}}text")]


def test_a_bar_chart_is_deterministic_and_says_its_numbers():
    series = {"default seed": [1.0, 0.5], "lowest other seed": [0.75, None]}
    chart = bar_chart(["01-python-numpy", "02-pandas"], series, title="Scores", threshold=0.8)
    again = bar_chart(["01-python-numpy", "02-pandas"], series, title="Scores", threshold=0.8)
    assert chart == again
    parsed(chart.svg)
    assert "100%" in chart.alt and "50%" in chart.alt and "75%" in chart.alt
    assert "02-pandas" in chart.alt
    assert "Scores" in texts(chart.svg)
    assert base64.b64decode(chart.data_uri().split(",", 1)[1]).decode() == chart.svg
    assert (
        chart.img().startswith('<img src="data:image/svg+xml;base64,')
        and f'width="{chart.width}"' in chart.img()
    )


def test_a_missing_value_is_no_data_not_zero():
    chart = bar_chart(["a"], {"only": [None]}, title="t")
    assert "no data" in texts(chart.svg) and "no data" in chart.alt
    assert "0%" not in chart.alt  # the axis has a 0% tick; the value is not 0%


def test_labels_are_escaped_in_the_svg_and_in_the_img_tag():
    name = '<script>alert("x")</script> & co'
    chart = bar_chart([name], {"s": [0.5]}, title=name)
    parsed(chart.svg)  # still well-formed XML
    assert "<script>" not in chart.svg and "<script>" not in chart.img()


def test_a_heatmap_prints_every_cell_and_hatches_the_empty_ones():
    chart = heatmap(
        ["mean-tests", "scale-tests"], ["seed 0", "seed 7"], [[1.0, 0.0], [0.5, None]], title="Grid"
    )
    labels = texts(chart.svg)
    for value in ("100%", "0%", "50%"):
        assert value in labels
    assert len([t for t in labels if t.endswith("%")]) == 3  # the empty cell prints no number


def test_a_histogram_counts_each_value_once_with_the_last_bin_closed():
    chart = histogram([0.0, 0.1, 0.5, 1.0, 1.0], [0.0, 0.5, 1.0], title="Spread", x_label="score")
    parsed(chart.svg)
    assert "2" in chart.alt and "3" in chart.alt  # [0, 0.5): 2 values; [0.5, 1]: 3 values


def test_a_line_chart_draws_one_date_as_a_dot():
    chart = line_chart(["2026-12-05"], {"mastered phase 1": [3.0]}, title="Over time", y_label="learners")
    root = parsed(chart.svg)
    assert list(root.iter(f"{{{SVG_NS}}}circle"))
    assert "3" in chart.alt


def test_count_ticks_are_whole_numbers_up_to_the_peak():
    assert count_ticks(0) == [0, 1]
    assert count_ticks(3) == [0, 1, 2, 3]
    ticks = count_ticks(23)
    assert ticks[0] == 0 and ticks[-1] == 23 and len(ticks) <= 7 and all(t == int(t) for t in ticks)
