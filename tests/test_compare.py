"""Encoding in the kernel and comparison on the trusted side."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from autograder.compare import compare, compare_close, compare_metric
from autograder.encode import MAX_ITEMS, encode

CLOSE = {"kind": "close", "atol": 1e-6, "rtol": 1e-6}


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
    assert not same([1, 2], (1, 2))


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


def test_huge_values_are_refused_not_stored():
    assert encode(np.zeros(MAX_ITEMS + 1))["type"] == "too_large"
    recursive: list = []
    recursive.append(recursive)
    assert encode(recursive)["type"] == "unsupported"


def test_json_cannot_carry_nan_so_it_is_spelled():
    encoded = encode(np.array([math.inf, -math.inf, math.nan]))
    assert encoded["data"] == ["inf", "-inf", "nan"]


@pytest.mark.parametrize("value", [np.float32(1.5), np.int64(3), np.bool_(True), np.str_("x")])
def test_numpy_scalars(value):
    assert encode(value)["type"] in {"float", "int", "bool", "str"}
    assert same(value, value.item())
