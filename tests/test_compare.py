"""Encoding in the kernel and comparison on the trusted side."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest

from autograder.checks import MIME_TYPE, check
from autograder.compare import compare, compare_close, compare_metric
from autograder.encode import MAX_DEPTH, MAX_ITEMS, encode

CLOSE = {"kind": "close", "atol": 1e-6, "rtol": 1e-6}
EXACT = {**CLOSE, "exact_type": True}


class EqualsEverything:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


class LyingFloat(float):
    def __eq__(self, other: object) -> bool:
        return True

    def __float__(self) -> float:
        return 42.0

    __hash__ = float.__hash__


class LyingInt(int):
    def __eq__(self, other: object) -> bool:
        return True

    def __int__(self) -> int:
        return 42

    __hash__ = int.__hash__


def same(a, b, spec=CLOSE) -> bool:
    return compare(encode(a), encode(b), spec).passed


def test_numbers_within_tolerance_and_ints_stand_for_floats():
    assert same(1.0 + 1e-9, 1.0)
    assert same(3, 3.0)
    assert not same(1.01, 1.0)
    assert same(float("nan"), float("nan"))
    assert not same(float("inf"), 1.0)
    assert not same(True, 1)  # a bool is not a number here


def test_objects_that_claim_equality_are_not_equal():
    assert encode(EqualsEverything())["type"] == "unsupported"
    assert not same(EqualsEverything(), 3.0)
    # subclasses are read through the base type: their true value, not their story
    assert encode(LyingFloat(1.5)) == {"type": "float", "value": 1.5}
    assert encode(LyingInt(7)) == {"type": "int", "value": 7}
    assert not same(LyingFloat(1.5), 2.0)
    assert not same(LyingInt(7), 8)
    assert not same(np.array([EqualsEverything()], dtype=object), np.array([1.0]))


def test_arrays_shapes_dtypes_and_nan():
    a = np.arange(6, dtype=float).reshape(2, 3)
    assert same(a, a + 1e-9)
    outcome = compare(encode(a.T), encode(a), CLOSE)
    assert not outcome.passed and "shape" in outcome.reason
    b = a.copy()
    b[0, 0] = 99
    outcome = compare(encode(b), encode(a), CLOSE)
    assert not outcome.passed and outcome.reason == "1 of 6 values differ"
    assert same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert not same(np.array([True, False]), np.array([1.0, 0.0]))


def test_frames_and_series_compare_index_columns_and_values():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}, index=[3, 4])
    assert same(df, df.copy())
    assert same(df[["b", "a"]], df)  # column order does not matter
    assert not same(df.reset_index(drop=True), df)
    changed = df.copy()
    changed.loc[3, "b"] = "z"
    outcome = compare(encode(changed), encode(df), CLOSE)
    assert not outcome.passed and "column b" in outcome.reason
    s = pd.Series([1.0, 2.0], index=["p", "q"], name="s")
    assert same(s, s.copy()) and not same(s[::-1], s)


def test_containers():
    assert same({"a": [1, 2], "b": (3.0,)}, {"b": (3.0,), "a": [1, 2]})
    assert not same([1, 2], [1, 2, 3])
    assert not same({"a": 1}, {"b": 1})
    assert same({3, 1, 2}, {1, 2, 3})
    assert same([1, 2], (1, 2))  # the prompt did not fix the container
    assert not same([1, 2], (1, 2), EXACT)  # it did


def test_reasons_never_contain_the_expected_value():
    expected = encode(123.456789)
    outcome = compare_close(encode(1.0), expected, 1e-6, 1e-6)
    assert "123.45" not in outcome.reason
    outcome = compare(encode(np.array([1.0, 2.0])), encode(np.array([123.456, 2.0])), CLOSE)
    assert "123.45" not in outcome.reason


def test_metric_with_threshold():
    labels = encode(np.array([1.0, 2.0, 3.0, 4.0]))
    assert compare_metric(encode(np.array([1.1, 2.0, 2.9, 4.0])), labels, "r2", 0.9).passed
    bad = compare_metric(encode(np.full(4, 2.5)), labels, "r2", 0.9)
    assert not bad.passed and "needs at least 0.9" in bad.reason
    assert compare_metric(encode(np.array([1.0, 2.0, 3.0, 4.0])), labels, "rmse", 0.1).passed
    assert not compare_metric(encode(np.array([np.nan, 2.0, 3.0, 4.0])), labels, "rmse", 0.1).passed
    assert not compare_metric(encode(np.array([1.0, 2.0])), labels, "mae", 1.0).passed
    assert not compare_metric(encode(EqualsEverything()), labels, "accuracy", 0.5).passed


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_is_scikit_learns_on_strings_and_numbers(seed):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    labels = rng.choice(["law", "food", "love", "linux"], size=60)
    predictions = np.where(rng.random(60) < 0.6, labels, rng.choice(["law", "food", "sports"], size=60))
    expected = f1_score(labels, predictions, average="macro")
    for threshold, passes in ((expected - 1e-9, True), (expected + 1e-9, False)):
        outcome = compare_metric(encode(predictions), encode(labels), "macro_f1", threshold)
        assert outcome.passed is passes, outcome.reason
    numbers = compare_metric(encode([0, 1, 1, 2]), encode(np.array([0, 1, 2, 2])), "macro_f1", 0.0)
    assert numbers.reason == f"macro_f1 = {f1_score([0, 1, 2, 2], [0, 1, 1, 2], average='macro'):.4g}"


def test_spearman_is_scipys_and_zero_where_undefined():
    from scipy.stats import spearmanr

    human = np.array([7.5, 3.1, 9.0, 3.1, 5.5, 1.0])
    cosines = np.array([0.4, 0.1, 0.35, 0.2, 0.3, -0.1])
    expected = spearmanr(cosines, human).statistic
    outcome = compare_metric(encode(cosines), encode(human), "spearman", expected - 1e-9)
    assert outcome.passed and outcome.reason == f"spearman = {expected:.4g}"
    assert not compare_metric(encode(cosines), encode(human), "spearman", expected + 1e-9).passed
    constant = compare_metric(encode(np.ones(6)), encode(human), "spearman", -0.5)
    assert constant.passed and constant.reason == "spearman = 0"


def test_perplexity_scores_a_row_of_probabilities_per_label_and_normalises_them():
    labels = encode(np.array([0, 2, 1]))
    probabilities = np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5], [0.1, 0.8, 0.1]])
    expected = math.exp(-np.mean(np.log([0.5, 0.5, 0.8])))
    outcome = compare_metric(encode(probabilities), labels, "perplexity", expected + 1e-9)
    assert outcome.passed and outcome.reason == f"perplexity = {expected:.4g}"
    assert compare_metric(encode((probabilities * 7).tolist()), labels, "perplexity", expected + 1e-9).passed
    # rows of ones are the uniform guess, not certainty: perplexity k = 3, not 1
    ones = compare_metric(encode(np.ones((3, 3))), labels, "perplexity", 2.9)
    assert not ones.passed and "perplexity = 3," in ones.reason
    for bad in (-probabilities, np.zeros((3, 3)), probabilities[:, :2]):  # the last: label 2 out of range
        assert "perplexity = inf" in compare_metric(encode(bad), labels, "perplexity", 100.0).reason
    wrong = compare_metric(encode(probabilities[:2]), labels, "perplexity", 100.0)
    assert not wrong.passed and "a row of class scores per label, shape (3, k)" in wrong.reason
    assert not compare_metric(encode(np.array([0.5, 0.5, 0.8])), labels, "perplexity", 100.0).passed


def test_huge_values_are_refused_not_stored():
    assert encode(np.zeros(MAX_ITEMS + 1))["type"] == "too_large"
    assert encode([[]] * (MAX_ITEMS + 1))["type"] == "too_large"  # empty containers count too
    recursive: list = []
    recursive.append(recursive)
    assert encode(recursive)["type"] == "unsupported"
    deep: list = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    assert encode(deep)["type"] == "unsupported"


def test_json_cannot_carry_nan_so_it_is_spelled():
    encoded = encode(np.array([math.inf, -math.inf, math.nan]))
    assert encoded["data"] == ["inf", "-inf", "nan"]


@pytest.mark.parametrize("value", [np.float32(1.5), np.int64(3), np.bool_(True), np.str_("x")])
def test_numpy_scalars(value):
    assert encode(value)["type"] in {"float", "int", "bool", "str"}
    assert same(value, value.item())


# --- types the prompt does not fix (issue 12, item 11) ------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        [1.0, 2.5, -3.0],
        (1.0, 2.5, -3.0),
        pd.Series([1.0, 2.5, -3.0]),
        pd.Series([1.0, 2.5, -3.0], index=["a", "b", "c"]),  # the reference has no index to match
        np.array([1, 2.5, -3]),
        np.array([1.0, 2.5, -3.0], dtype=np.float32),
        [np.float64(1.0), 2.5, -3],
    ],
    ids=["list", "tuple", "series", "series-labelled", "array", "float32", "mixed-scalars"],
)
def test_a_vector_passes_in_any_container_that_holds_it(value):
    assert compare(encode(value), encode(np.array([1.0, 2.5, -3.0])), CLOSE).passed
    labelled = isinstance(value, pd.Series) and not pd.api.types.is_integer_dtype(value.index)
    assert compare(encode([1.0, 2.5, -3.0]), encode(value), CLOSE).passed is not labelled
    wrong = compare(encode(value), encode(np.array([1.0, 2.5, 3.0])), CLOSE)
    assert not wrong.passed and wrong.reason == "1 of 3 values differ"


def test_equivalent_containers_keep_shape_kind_and_index_rules():
    matrix = np.arange(6.0).reshape(2, 3)
    assert same(matrix.tolist(), matrix) and same(tuple(map(tuple, matrix)), matrix)
    outcome = compare(encode(matrix.T.tolist()), encode(matrix), CLOSE)
    assert not outcome.passed and "shape" in outcome.reason
    assert not same([[0.0, 1.0, 2.0], [3.0, 4.0]], matrix)  # ragged is not a matrix
    assert same(np.float64(2.5), 2.5) and same(np.array(2.5), 2.5) and not same([2.5], 2.5)
    assert not same([True, False], np.array([1.0, 0.0]))  # booleans are still not numbers
    assert not same(["1", "2"], np.array([1, 2]))
    assert same(["x", "y"], np.array(["x", "y"])) and same(pd.Series(["x", "y"]), np.array(["x", "y"]))
    labelled = pd.Series([1.0, 2.0], index=["p", "q"])
    outcome = compare(encode([1.0, 2.0]), encode(labelled), CLOSE)
    assert not outcome.passed and "index is part of the answer" in outcome.reason
    assert same([1.0, 2.0], pd.Series([1.0, 2.0]))  # a default index carries nothing
    assert same([np.array([1.0, 2.0]), 3.0], [[1.0, 2.0], 3])  # inside containers too


def test_nullable_pandas_dtypes_are_the_numbers_they_hold():
    plain = pd.DataFrame({"n": [1, 2, 3], "x": [0.5, np.nan, 2.0], "ok": [True, False, True]})
    nullable = plain.astype({"n": "Int64", "x": "Float64", "ok": "boolean"})
    assert same(nullable, plain)
    assert same(nullable["n"], plain["n"]) and same(plain["n"], nullable["n"].astype(float))
    with_na = pd.Series(pd.array([1, None, 3], dtype="Int64"))
    assert encode(with_na)["values"]["data"] == [1.0, "nan", 3.0]
    assert same(with_na, pd.Series([1.0, np.nan, 3.0]))
    assert same(pd.Index([1, 2], dtype="Int64").to_series(), pd.Series([1, 2], index=[1, 2]))
    assert encode(pd.NA) == {"type": "none"}
    text = pd.DataFrame({"region": ["North", np.nan, "South"]})  # a missing entry: NaN, None or pd.NA
    assert same(text.astype("string"), text) and same(text.astype(object).fillna(np.nan), text)
    assert not same(text.astype("string").fillna("?"), text)
    assert not same(nullable.assign(n=[1, 2, 4]), plain)


def test_dates_and_durations_are_the_moments_they_hold_whatever_their_unit_or_type():
    days = pd.Series(pd.to_datetime(["2026-01-05 00:00", "2026-02-01 13:30"]))
    assert days.dtype != days.astype("datetime64[s]").dtype
    assert same(days.astype("datetime64[s]"), days) and same(days.astype("datetime64[ns]"), days)
    assert same(days.to_list(), [datetime.datetime(2026, 1, 5), datetime.datetime(2026, 2, 1, 13, 30)])
    assert same(days.to_numpy(), days) and same(days.dt.to_pydatetime().tolist(), days)
    assert encode(days[0]) == {"type": "str", "value": "2026-01-05T00:00:00"}
    assert same(datetime.date(2026, 1, 5), pd.Timestamp("2026-01-05"))
    assert same(np.datetime64("2026-01-05T00:00:00.000000", "us"), pd.Timestamp("2026-01-05"))
    assert not same(days.iloc[::-1].reset_index(drop=True), days)  # the moments themselves count
    gappy = pd.Series([pd.NaT, days[0]])
    assert encode(pd.NaT) == {"type": "none"} and encode(gappy)["values"]["data"][0] == {"type": "none"}
    assert same(gappy.astype("datetime64[s]"), gappy)
    waits = pd.Series(pd.to_timedelta([1.5, 3600], unit="s"))
    assert same(waits, [1.5, 3600.0]) and same(waits.astype("timedelta64[ms]"), waits)
    assert same(datetime.timedelta(days=1), 86400.0) and same(np.timedelta64(2, "m"), 120.0)
    utc = pd.Timestamp("2026-01-05 10:00", tz="UTC")
    assert same(utc.tz_convert("Europe/Paris"), utc)  # one instant, written in UTC


def test_exact_type_keeps_containers_and_kinds_of_number_apart():
    vector = np.array([1.0, 2.0])
    assert compare(encode(vector.copy()), encode(vector), EXACT).passed
    outcome = compare(encode([1.0, 2.0]), encode(vector), EXACT)
    assert not outcome.passed and outcome.reason == "expected an array, got list of length 2"
    outcome = compare(encode(3), encode(3.0), EXACT)
    assert not outcome.passed and outcome.reason == "expected a float, got an int"
    assert not compare(encode(np.array([1, 2])), encode(vector), EXACT).passed  # integer vs float array
    assert compare(encode(np.array([1, 2])), encode(vector), CLOSE).passed
    assert not compare(encode({"a": 1.0}), encode({"a": 1}), EXACT).passed
    assert compare(encode({"a": np.int64(1)}), encode({"a": 1}), EXACT).passed  # NumPy scalars are numbers
    frame = pd.DataFrame({"n": [1, 2]})
    assert compare(encode(frame.astype("Int64")), encode(frame), EXACT).passed
    assert not compare(encode(frame.astype(float)), encode(frame), EXACT).passed


def test_check_carries_exact_type_in_the_spec_it_reports(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.setenv("AUTOGRADER_COLLECT", "1")
    InteractiveShell.instance()
    with capture_output() as captured:
        check("t.exact", [1.0], hint="h", exact_type=True)
        check("t.lenient", [1.0], hint="h")
    specs = [output.data[MIME_TYPE]["spec"] for output in captured.outputs]
    assert [spec["exact_type"] for spec in specs] == [True, False]


# --- figures: graded plots -------------------------------------------------------------------


def _figure(draw, *, labels=True):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    draw(ax)
    if labels:
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title("Training")
    plt.close(fig)
    return fig


def _figure_outcome(actual_fig, expected_fig, **spec):
    from autograder.comparators import spec_for
    from autograder.encode import encode
    from autograder.figures import figure_summary

    comparator, built = spec_for("x.plot", {"atol": 1e-6, "rtol": 1e-6, **spec}, "figure")
    assert comparator.prepare is not None
    return compare(encode(figure_summary(actual_fig)), encode(figure_summary(expected_fig)), built)


def test_a_figure_passes_with_the_solutions_data_in_any_words_and_styles():
    import numpy as np

    x = np.arange(5)
    solution = _figure(lambda ax: ax.plot(x, x**2))

    def mine(ax):
        ax.plot(list(x), [float(v) ** 2 for v in x], color="red", linestyle="--", label="train")
        ax.axhline(3.0)  # an extra line of their own is fine

    learner = _figure(mine)
    learner.axes[0].set_xlabel("Epoch number")
    outcome = _figure_outcome(learner, solution)
    assert outcome.passed, outcome.reason


@pytest.mark.parametrize(
    ("draw", "labels", "reason"),
    [
        (lambda ax: ax.plot([0, 1, 2, 3, 4], [0, 1, 4, 9, 17]), True, "axes 1: no line shows the data"),
        (lambda ax: ax.bar([0, 1, 2, 3, 4], [0, 1, 4, 9, 16]), True, "axes 1 has no line plot where"),
        (lambda ax: ax.plot([0, 1, 2, 3, 4], [0, 1, 4, 9, 16]), False, "axes 1 has no title"),
    ],
)
def test_a_figure_fails_with_other_data_another_kind_or_no_labels(draw, labels, reason):
    solution = _figure(lambda ax: ax.plot([0, 1, 2, 3, 4], [0, 1, 4, 9, 16]))
    outcome = _figure_outcome(_figure(draw, labels=labels), solution)
    assert not outcome.passed and reason in outcome.reason, outcome.reason
    assert "16" not in outcome.reason  # never the expected data


def test_histograms_scatter_and_axes_counts():
    import matplotlib.pyplot as plt
    import numpy as np

    data = np.random.default_rng(0).normal(size=200)
    hist = _figure(lambda ax: ax.hist(data, bins=10))
    assert _figure_outcome(_figure(lambda ax: ax.hist(list(data), bins=10)), hist).passed
    assert not _figure_outcome(_figure(lambda ax: ax.hist(data, bins=12)), hist).passed
    scatter = _figure(lambda ax: ax.scatter(data[:20], data[20:40]))
    assert _figure_outcome(_figure(lambda ax: ax.scatter(data[:20], data[20:40], s=4)), scatter).passed
    assert _figure_outcome(_figure(lambda ax: ax.plot(data[:20], data[20:40], "o")), scatter).passed
    assert not _figure_outcome(_figure(lambda ax: ax.plot(data[:20], data[20:40], "o-")), scatter).passed
    two, _ = plt.subplots(1, 2)
    plt.close(two)
    outcome = _figure_outcome(two, hist)
    assert not outcome.passed and "the figure has 2 axes; the exercise asks for 1" in outcome.reason


def test_bars_count_the_same_standing_or_lying_in_the_same_order():
    values = [5.0, 3.0, 2.5]
    standing = _figure(lambda ax: ax.bar(["b", "a", "c"], values))
    lying = _figure(lambda ax: ax.barh(["b", "a", "c"], values))
    assert _figure_outcome(lying, standing).passed
    assert _figure_outcome(standing, lying).passed
    reordered = _figure(lambda ax: ax.barh(["a", "b", "c"], [3.0, 5.0, 2.5]))
    assert not _figure_outcome(reordered, standing).passed

    def one_at_a_time(ax):
        for position, value in enumerate(values):
            ax.bar(position, value, color=f"C{position}")

    assert _figure_outcome(_figure(one_at_a_time), standing).passed
    shuffled = _figure(lambda ax: [ax.bar(p, values[::-1][p]) for p in range(3)])
    assert not _figure_outcome(shuffled, standing).passed


def test_check_refuses_what_is_not_a_figure_with_the_fix():
    from autograder.figures import figure_summary

    with pytest.raises(TypeError, match="needs a matplotlib Figure or Axes, got list"):
        figure_summary([1, 2, 3])
