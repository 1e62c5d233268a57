"""Comparators, run by the trusted grader on encoded JSON values (see ``encode.py``).

Nothing here touches an object a learner made: both sides are plain JSON data, the
expected side comes from the solution notebook run under the same parameters, and the
comparator spec comes from that reference run too, never from the learner's report.
Reasons returned here are shown to learners, so they describe *what* differs (type,
shape, how many entries) and never the expected value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .encode import Encoded, describe

METRICS_HIGHER_IS_BETTER = {"r2": True, "accuracy": True, "roc_auc": True, "rmse": False, "mae": False}


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str = ""


def _as_float(x: Any) -> float:
    if isinstance(x, str):
        return float(x)  # "nan", "inf", "-inf"
    return float(x)


def _numbers_close(actual: Any, expected: Any, atol: float, rtol: float) -> bool:
    a, e = _as_float(actual), _as_float(expected)
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    if math.isinf(a) or math.isinf(e):
        return a == e
    return abs(a - e) <= atol + rtol * abs(e)


def _array_values(encoded: Encoded) -> np.ndarray:
    data = encoded.get("data", [])
    if encoded.get("dtype") in ("int", "float", "bool"):
        return np.array([_as_float(x) for x in data], dtype=float)
    return np.array(data, dtype=object)


def _compare_arrays(actual: Encoded, expected: Encoded, atol: float, rtol: float) -> Outcome:
    if list(actual.get("shape", [])) != list(expected.get("shape", [])):
        return Outcome(False, f"wrong shape: got {tuple(actual.get('shape', []))}")
    numeric = {"int", "float", "bool"}
    a_kind, e_kind = actual.get("dtype"), expected.get("dtype")
    if e_kind in numeric and a_kind in numeric:
        if (e_kind == "bool") != (a_kind == "bool"):
            return Outcome(False, f"wrong dtype: got {a_kind} values")
        a, e = _array_values(actual), _array_values(expected)
        close = np.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
        wrong = int(np.size(close) - np.count_nonzero(close))
        if wrong:
            return Outcome(False, f"{wrong} of {np.size(close)} values differ")
        return Outcome(True)
    if e_kind != a_kind:
        return Outcome(False, f"wrong dtype: got {a_kind} values")
    if e_kind == "object":
        for a_item, e_item in zip(actual.get("data", []), expected.get("data", [])):
            outcome = compare_close(a_item, e_item, atol, rtol)
            if not outcome.passed:
                return outcome
        return Outcome(True)
    wrong = sum(1 for a, e in zip(actual.get("data", []), expected.get("data", [])) if a != e)
    if wrong:
        return Outcome(False, f"{wrong} of {len(expected.get('data', []))} values differ")
    return Outcome(True)


def compare_close(actual: Encoded, expected: Encoded, atol: float, rtol: float) -> Outcome:
    """Equal up to tolerance, recursively; ints and floats may stand for each other."""
    a_type, e_type = actual.get("type"), expected.get("type")
    numbers = {"int", "float"}
    if e_type in numbers and a_type in numbers:
        if _numbers_close(actual["value"], expected["value"], atol, rtol):
            return Outcome(True)
        return Outcome(False, "the number is not the expected one")
    if a_type != e_type:
        return Outcome(False, f"expected a {e_type}, got {describe(actual)}")
    if e_type in ("none",):
        return Outcome(True)
    if e_type in ("bool", "str"):
        if actual["value"] == expected["value"]:
            return Outcome(True)
        return Outcome(False, f"the {e_type} is not the expected one")
    if e_type in ("list", "tuple", "set"):
        a_items, e_items = actual.get("items", []), expected.get("items", [])
        if len(a_items) != len(e_items):
            return Outcome(False, f"wrong length: got {len(a_items)} items")
        for i, (a, e) in enumerate(zip(a_items, e_items)):
            outcome = compare_close(a, e, atol, rtol)
            if not outcome.passed:
                return Outcome(False, f"item {i}: {outcome.reason}")
        return Outcome(True)
    if e_type == "dict":
        a_map = {_key(k): v for k, v in actual.get("items", [])}
        e_map = {_key(k): v for k, v in expected.get("items", [])}
        if set(a_map) != set(e_map):
            return Outcome(False, "the keys are not the expected ones")
        for key, e in e_map.items():
            outcome = compare_close(a_map[key], e, atol, rtol)
            if not outcome.passed:
                return Outcome(False, f"key {key}: {outcome.reason}")
        return Outcome(True)
    if e_type == "ndarray":
        return _compare_arrays(actual, expected, atol, rtol)
    if e_type == "series":
        index = _compare_arrays(actual["index"], expected["index"], 0.0, 0.0)
        if not index.passed:
            return Outcome(False, f"index: {index.reason}")
        return _compare_arrays(actual["values"], expected["values"], atol, rtol)
    if e_type == "dataframe":
        a_cols = [_key(c) for c in actual.get("columns", [])]
        e_cols = [_key(c) for c in expected.get("columns", [])]
        if sorted(a_cols) != sorted(e_cols):
            return Outcome(False, f"the columns are not the expected ones (got {a_cols})")
        index = _compare_arrays(actual["index"], expected["index"], 0.0, 0.0)
        if not index.passed:
            return Outcome(False, f"index: {index.reason}")
        a_values = dict(zip(a_cols, actual.get("values", [])))
        for col, e_values in zip(e_cols, expected.get("values", [])):
            outcome = _compare_arrays(a_values[col], e_values, atol, rtol)
            if not outcome.passed:
                return Outcome(False, f"column {col}: {outcome.reason}")
        return Outcome(True)
    return Outcome(False, f"cannot compare a {describe(actual)}")


def _key(encoded: Any) -> str:
    if isinstance(encoded, dict) and "value" in encoded:
        return str(encoded["value"])
    return repr(encoded)


def metric_value(metric: str, predictions: np.ndarray, labels: np.ndarray) -> float:
    """The competition-style metric of ``predictions`` against ``labels``."""
    if metric == "accuracy":
        return float(np.mean(predictions == labels))
    if metric == "roc_auc":  # the Mann-Whitney statistic: P(score of a positive > score of a negative)
        from scipy.stats import rankdata

        positive = labels.astype(float) == 1.0
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if not n_pos or not n_neg:
            return 0.5
        ranks = rankdata(predictions.astype(float))
        return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    diff = predictions.astype(float) - labels.astype(float)
    if metric == "rmse":
        return float(np.sqrt(np.mean(diff**2)))
    if metric == "mae":
        return float(np.mean(np.abs(diff)))
    if metric == "r2":
        total = float(np.sum((labels - labels.mean()) ** 2))
        return 1.0 - float(np.sum(diff**2)) / total if total else 0.0
    raise ValueError(f"unknown metric {metric!r}; use one of {sorted(METRICS_HIGHER_IS_BETTER)}")


def compare_metric(actual: Encoded, labels: Encoded, metric: str, threshold: float) -> Outcome:
    """Score predictions against hidden labels and require ``threshold`` or better."""
    if actual.get("type") == "series":
        actual = actual["values"]
    if labels.get("type") == "series":
        labels = labels["values"]
    if labels.get("type") != "ndarray":
        return Outcome(False, "the grader has no labels for this check (an authoring error, not yours)")
    if actual.get("type") != "ndarray":
        return Outcome(False, f"expected an array of predictions, got {describe(actual)}")
    if list(actual.get("shape", [])) != list(labels.get("shape", [])):
        return Outcome(False, f"wrong number of predictions: got shape {tuple(actual['shape'])}")
    predictions, truth = _array_values(actual), _array_values(labels)
    if predictions.dtype == float and not np.all(np.isfinite(predictions)):
        return Outcome(False, "some predictions are NaN or infinite")
    score = metric_value(metric, predictions, truth)
    higher = METRICS_HIGHER_IS_BETTER[metric]
    if (score >= threshold) if higher else (score <= threshold):
        return Outcome(True, f"{metric} = {score:.4g}")
    side = "at least" if higher else "at most"
    return Outcome(False, f"{metric} = {score:.4g}, needs {side} {threshold:g}")


def compare(actual: Encoded, expected: Encoded, spec: dict[str, Any]) -> Outcome:
    """Apply the reference's comparator ``spec`` to a learner's encoded value."""
    kind = spec.get("kind", "close")
    if kind == "close":
        return compare_close(actual, expected, float(spec.get("atol", 1e-6)), float(spec.get("rtol", 1e-6)))
    if kind == "metric":
        return compare_metric(actual, expected, str(spec["metric"]), float(spec["threshold"]))
    return Outcome(False, f"unknown comparator {kind!r}")
