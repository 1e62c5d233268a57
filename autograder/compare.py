"""Comparators, run by the trusted grader on encoded JSON values (see ``encode.py``).

Nothing here touches an object a learner made: both sides are plain JSON data, the
expected side comes from the solution notebook run under the same parameters, and the
comparator spec comes from that reference run too, never from the learner's report.
Reasons returned here are shown to learners, so they describe *what* differs (type,
shape, how many entries) and never the expected value.

Which comparators and metrics exist is declared once, in ``comparators.py``; this module
holds the machinery they share. :func:`compare` is the only entry point scoring uses. It
checks the learner's value against the complete encoded format first
(``report_schema.py``), so a report that lies about its shape or leaves out a key fails
with a reason instead of being zipped against the reference, and it never raises:
whatever JSON a kernel sends, the answer is an :class:`Outcome`.

**Which types count as the same.** Unless the check says ``exact_type=True`` (for an
exercise whose prompt fixes the type, and whose visible asserts say so first), values
are compared as a learner reads the prompt: a list, a tuple, a NumPy array or a pandas
Series of numbers are the same vector when they have the same shape and values (a
Series' index counts only where the reference is itself a Series with an index of its
own), a number equals a 0-d array holding it, ints and floats stand for each other, and
a nullable column is the plain column it stands for (``encode.py``). Booleans are never
numbers, and strings never anything else. With ``exact_type=True`` the container must be
the reference's (a tuple is not a list, an array is not a list) and so must the kind of
number (an int is not a float, an integer array is not a float array).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from .comparators import DEFAULT_KIND, Metric, comparator_named, metric_named, metric_names
from .comparators import METRICS_HIGHER_IS_BETTER as METRICS_HIGHER_IS_BETTER  # for older callers
from .encode import Encoded, describe, type_name
from .report_schema import value_problem

MAX_REASON = 500
"""Longest reason a learner is shown; longer ones are cut (they would only echo data)."""


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str = ""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def safe_text(text: str, limit: int = MAX_REASON) -> str:
    """``text`` made safe to store and show: valid UTF-8, no control characters, short."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compare(actual: Any, expected: Any, spec: Any) -> Outcome:
    """Apply the reference's comparator ``spec`` to a learner's encoded value; never raises."""
    try:
        outcome = _compare(actual, expected, spec)
    except Exception as exc:  # one bad report must never stop scoring
        outcome = Outcome(False, f"the grader could not compare this value ({type(exc).__name__})")
    return Outcome(outcome.passed, safe_text(outcome.reason))


def _compare(actual: Any, expected: Any, spec: Any) -> Outcome:
    if not isinstance(spec, dict):
        return authoring_error("its comparator spec is not a JSON object")
    problem = value_problem(actual)
    if problem is not None:
        return Outcome(False, f"the reported value is malformed: {problem}")
    if value_problem(expected) is not None:
        return authoring_error("its reference value is malformed")
    comparator = comparator_named(spec.get("kind", DEFAULT_KIND))  # comparators.py declares them
    if comparator is None:
        return authoring_error("its comparator kind is unknown")
    return comparator.compare(actual, expected, spec)


def plain(node: Any) -> Any:
    """An encoded value of scalars, lists and dicts as plain Python (None for anything else).

    For comparators that read a judge's finding (``comparators._catches``): the finding was
    encoded by the grader and validated like any report."""
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    if kind in ("bool", "int", "float", "str"):
        return node.get("value")
    if kind in ("list", "tuple"):
        return [plain(item) for item in node.get("items", [])]
    if kind == "dict":
        pairs = [(plain(k), plain(v)) for k, v in node.get("items", [])]
        return {k: v for k, v in pairs if isinstance(k, str | int | float | bool)}
    return None


def authoring_error(what: str) -> Outcome:
    """A failed check that blames the reference, not the learner (comparators use it too)."""
    reason = f"the grader's reference for this check is unusable: {what} (an authoring error, not yours)"
    return Outcome(False, reason)


def tolerance(x: Any, *, signed: bool = False) -> float | None:
    """A spec's tolerance or threshold as a finite float (None if it is not one)."""
    if type(x) not in (int, float):
        return None
    value = _as_float(x)
    return value if math.isfinite(value) and (signed or value >= 0) else None


# --- numbers -----------------------------------------------------------------------


def _as_float(x: Any) -> float:
    """A validated JSON number or number word as a float (huge ints become infinities)."""
    if isinstance(x, str):
        return float(x)  # "nan", "inf", "-inf"
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _floats(values: list[Any]) -> np.ndarray:
    """Validated JSON numbers and number words as a float array (NumPy parses the words)."""
    try:
        return np.array(values, dtype=float)
    except OverflowError:
        return np.array([_as_float(x) for x in values], dtype=float)


def _numbers_close(actual: Any, expected: Any, atol: float, rtol: float) -> bool:
    if type(actual) is int and type(expected) is int and actual == expected:
        return True  # exact, also for ints too large for a float
    a, e = _as_float(actual), _as_float(expected)
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    if math.isinf(a) or math.isinf(e):
        return a == e
    return abs(a - e) <= atol + rtol * abs(e)


# --- arrays, and the sequences that stand for them ---------------------------------


@dataclass(frozen=True)
class _Flat:
    """A value read as an n-d array of one kind of scalar: int, float, bool or str."""

    shape: tuple[int, ...]
    kind: str | None  # None: no entries, so any kind
    values: list[Any]


_SCALAR_KINDS = {"int": "int", "float": "float", "bool": "bool", "str": "str"}
_FLOAT_RANGE = 2**1000


def _scalar_kind(node: Encoded) -> str | None:
    kind = _SCALAR_KINDS.get(node["type"])
    if kind == "int" and abs(node["value"]) > _FLOAT_RANGE:
        return None  # compared exactly, item by item, never through a float array
    return kind


def _merge_kinds(kinds: set[str | None]) -> tuple[bool, str | None]:
    """The one kind a set of entry kinds makes (ints and floats make floats), if any."""
    kinds = kinds - {None}
    if not kinds:
        return True, None
    if kinds <= {"int", "float"}:
        return True, "float" if "float" in kinds else "int"
    if len(kinds) == 1:
        return True, next(iter(kinds))
    return False, None


def _flatten(node: Encoded, *, series: bool = False) -> _Flat | None:
    """``node`` as a flat array (scalars, arrays, rectangular lists and tuples), or None."""
    kind = node["type"]
    if kind in _SCALAR_KINDS:
        scalar = _scalar_kind(node)
        return _Flat((), scalar, [node["value"]]) if scalar else None
    if kind == "ndarray":
        shape = tuple(node["shape"])
        if node["dtype"] != "object":
            return _Flat(shape, node["dtype"] if node["data"] else None, node["data"])
        kinds = {_scalar_kind(item) if item["type"] in _SCALAR_KINDS else "other" for item in node["data"]}
        ok, merged = _merge_kinds(kinds)
        if not ok or "other" in kinds:
            return None
        return _Flat(shape, merged, [item["value"] for item in node["data"]])
    if kind in ("list", "tuple"):
        parts = [_flatten(item) for item in node["items"]]
        if any(p is None for p in parts) or len({p.shape for p in parts}) > 1:  # type: ignore[union-attr]
            return None
        ok, merged = _merge_kinds({p.kind for p in parts})  # type: ignore[union-attr]
        if not ok:
            return None
        inner = parts[0].shape if parts else ()  # type: ignore[union-attr]
        return _Flat((len(parts), *inner), merged, [x for p in parts for x in p.values])  # type: ignore[union-attr]
    if kind == "series" and series:
        return _flatten(node["values"])
    return None


def _kind_words(kind: str | None) -> str:
    return {"int": "int", "float": "float", "bool": "bool", "str": "str"}.get(kind or "", "no")


def _compare_flat(actual: _Flat, expected: _Flat, atol: float, rtol: float, exact: bool) -> Outcome:
    if actual.shape != expected.shape:
        return Outcome(False, f"wrong shape: got {actual.shape}")
    a_kind, e_kind = actual.kind, expected.kind
    if a_kind is not None and e_kind is not None and a_kind != e_kind:
        numbers = {"int", "float"}
        if exact or not (a_kind in numbers and e_kind in numbers):
            return Outcome(False, f"wrong dtype: got {_kind_words(a_kind)} values, {e_kind} values expected")
    total = len(expected.values)
    if e_kind in ("int", "float") and a_kind in ("int", "float"):
        a, e = _floats(actual.values), _floats(expected.values)
        with np.errstate(all="ignore"):
            close = np.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
        wrong = int(close.size - np.count_nonzero(close))
    else:
        wrong = sum(1 for a, e in zip(actual.values, expected.values, strict=True) if a != e)
    if wrong:
        return Outcome(False, f"{wrong} of {total} values differ")
    return Outcome(True)


def _compare_arrays(actual: Encoded, expected: Encoded, atol: float, rtol: float, exact: bool) -> Outcome:
    """Two validated ndarrays: the same shape and kind of entries, and close entries."""
    a_flat, e_flat = _flatten(actual), _flatten(expected)
    if a_flat is not None and e_flat is not None:
        return _compare_flat(a_flat, e_flat, atol, rtol, exact)
    if list(actual["shape"]) != list(expected["shape"]):
        return Outcome(False, f"wrong shape: got {tuple(actual['shape'])}")
    a_data, e_data = _entries(actual), _entries(expected)
    for i, (a_item, e_item) in enumerate(zip(a_data, e_data, strict=True)):
        if _missing(a_item) and _missing(e_item):
            continue  # pandas marks a missing entry with None, NaN or pd.NA, by dtype
        outcome = compare_close(a_item, e_item, atol, rtol, exact_type=exact)
        if not outcome.passed:
            return Outcome(False, f"entry {i}: {outcome.reason}")
    return Outcome(True)


def _missing(node: Encoded) -> bool:
    """A missing array entry: None (also pd.NA, see ``encode.py``) or a float NaN."""
    return bool(node["type"] == "none" or (node["type"] == "float" and node["value"] == "nan"))


def _entries(array: Encoded) -> list[Encoded]:
    """The entries of a validated ndarray as encoded values (object arrays already are)."""
    if array["dtype"] == "object":
        entries: list[Encoded] = array["data"]
        return entries
    return [{"type": array["dtype"], "value": x} for x in array["data"]]


def _default_index(series: Encoded) -> bool:
    """True when a Series' index is 0, 1, ..., n-1: it then carries no information."""
    index = series["index"]
    return bool(index["dtype"] == "int" and index["data"] == list(range(len(index["data"]))))


def _compare_series(actual: Encoded, expected: Encoded, atol: float, rtol: float, exact: bool) -> Outcome:
    index = _compare_arrays(actual["index"], expected["index"], 0.0, 0.0, False)
    if not index.passed:
        return Outcome(False, f"index: {index.reason}")
    return _compare_arrays(actual["values"], expected["values"], atol, rtol, exact)


# --- containers --------------------------------------------------------------------


def _key(node: Encoded) -> Any:
    """A hashable stand-in for an encoded dict key or column name (1 and 1.0 are one key)."""
    kind = node["type"]
    if kind in ("int", "float"):
        value = _as_float(node["value"])
        return ("number", value if not math.isnan(value) else "nan")
    if kind in ("bool", "str"):
        return (kind, node["value"])
    if kind in ("list", "tuple"):
        return ("sequence", tuple(_key(item) for item in node["items"]))
    return (kind, json.dumps(node, sort_keys=True))


def _label(node: Encoded) -> str:
    """A key or column name as a learner wrote it, short: safe to show (it is their own)."""
    if node["type"] in ("int", "float", "bool", "str"):
        return safe_text(str(node["value"]), 40)
    return describe(node)


def _compare_items(actual: Encoded, expected: Encoded, atol: float, rtol: float, exact: bool) -> Outcome:
    a_items, e_items = actual["items"], expected["items"]
    if len(a_items) != len(e_items):
        return Outcome(False, f"wrong length: got {len(a_items)} items")
    for i, (a, e) in enumerate(zip(a_items, e_items, strict=True)):
        outcome = compare_close(a, e, atol, rtol, exact_type=exact)
        if not outcome.passed:
            return Outcome(False, f"item {i}: {outcome.reason}")
    return Outcome(True)


def _compare_dicts(actual: Encoded, expected: Encoded, atol: float, rtol: float, exact: bool) -> Outcome:
    a_map = {_key(k): (k, v) for k, v in actual["items"]}
    e_map = {_key(k): (k, v) for k, v in expected["items"]}
    if len(a_map) != len(actual["items"]) or set(a_map) != set(e_map):
        return Outcome(False, "the keys are not the expected ones")
    for key, (e_key, e_value) in e_map.items():
        a_key, a_value = a_map[key]
        if exact and a_key["type"] != e_key["type"]:
            return Outcome(False, f"key {_label(a_key)}: expected a {type_name(e_key['type'])} key")
        outcome = compare_close(a_value, e_value, atol, rtol, exact_type=exact)
        if not outcome.passed:
            return Outcome(False, f"key {_label(a_key)}: {outcome.reason}")
    return Outcome(True)


def _compare_frames(actual: Encoded, expected: Encoded, atol: float, rtol: float, exact: bool) -> Outcome:
    a_keys = [_key(c) for c in actual["columns"]]
    e_keys = [_key(c) for c in expected["columns"]]
    if Counter(a_keys) != Counter(e_keys):
        names = [_label(c) for c in actual["columns"][:10]]
        more = ", ..." if len(actual["columns"]) > 10 else ""
        return Outcome(False, f"the columns are not the expected ones (got [{', '.join(names)}{more}])")
    index = _compare_arrays(actual["index"], expected["index"], 0.0, 0.0, False)
    if not index.passed:
        return Outcome(False, f"index: {index.reason}")
    positions: dict[Any, list[int]] = {}
    for i, key in enumerate(a_keys):
        positions.setdefault(key, []).append(i)
    for e_position, key in enumerate(e_keys):
        a_position = positions[key].pop(0)  # the n-th column of a repeated name meets the n-th
        outcome = _compare_arrays(
            actual["values"][a_position], expected["values"][e_position], atol, rtol, exact
        )
        if not outcome.passed:
            return Outcome(False, f"column {_label(actual['columns'][a_position])}: {outcome.reason}")
    return Outcome(True)


_ARRAY_LIKE = ("ndarray", "list", "tuple")


def _lenient(actual: Encoded, expected: Encoded, atol: float, rtol: float) -> Outcome | None:
    """Compare two different containers that may hold the same thing; None if they cannot."""
    a_type, e_type = actual["type"], expected["type"]
    if e_type in _SCALAR_KINDS and a_type == "ndarray" and actual["shape"] == []:
        return compare_close(_entries(actual)[0], expected, atol, rtol)  # a 0-d array holds a scalar
    if e_type == "ndarray" and expected["shape"] == [] and a_type in _SCALAR_KINDS:
        return compare_close(actual, _entries(expected)[0], atol, rtol)
    if e_type in ("list", "tuple") and a_type in ("list", "tuple"):
        return _compare_items(actual, expected, atol, rtol, False)
    if e_type in _ARRAY_LIKE and a_type in (*_ARRAY_LIKE, "series"):
        a_flat, e_flat = _flatten(actual, series=True), _flatten(expected)
        if a_flat is not None and e_flat is not None:
            return _compare_flat(a_flat, e_flat, atol, rtol, False)
        if a_type == "series" and e_type == "ndarray":
            return _compare_arrays(actual["values"], expected, atol, rtol, False)
        return None
    if e_type == "series" and a_type in _ARRAY_LIKE:
        if not _default_index(expected):
            reason = f"expected a Series (its index is part of the answer), got {describe(actual)}"
            return Outcome(False, reason)
        a_flat, e_flat = _flatten(actual), _flatten(expected["values"])
        if a_flat is None or e_flat is None:
            return None
        return _compare_flat(a_flat, e_flat, atol, rtol, False)
    return None


def compare_close(
    actual: Encoded, expected: Encoded, atol: float, rtol: float, *, exact_type: bool = False
) -> Outcome:
    """Equal up to tolerance, recursively, on two *validated* values (see :func:`compare`)."""
    a_type, e_type = actual["type"], expected["type"]
    if e_type in ("int", "float") and a_type in ("int", "float"):
        if exact_type and a_type != e_type:
            return Outcome(False, f"expected {_article(e_type)}, got {_article(a_type)}")
        if _numbers_close(actual["value"], expected["value"], atol, rtol):
            return Outcome(True)
        return Outcome(False, "the number is not the expected one")
    if a_type != e_type and not exact_type:
        lenient = _lenient(actual, expected, atol, rtol)
        if lenient is not None:
            return lenient
    if a_type != e_type:
        return Outcome(False, f"expected {_article(e_type)}, got {describe(actual)}")
    if e_type == "none":
        return Outcome(True)
    if e_type in ("too_large", "unsupported"):
        return Outcome(False, f"cannot compare a {describe(actual)}")
    if e_type in ("bool", "str"):
        if actual["value"] == expected["value"]:
            return Outcome(True)
        return Outcome(False, f"the {e_type} is not the expected one")
    if e_type in ("list", "tuple", "set"):
        return _compare_items(actual, expected, atol, rtol, exact_type)
    if e_type == "dict":
        return _compare_dicts(actual, expected, atol, rtol, exact_type)
    if e_type == "ndarray":
        return _compare_arrays(actual, expected, atol, rtol, exact_type)
    if e_type == "series":
        return _compare_series(actual, expected, atol, rtol, exact_type)
    return _compare_frames(actual, expected, atol, rtol, exact_type)


def _article(kind: str) -> str:
    name = type_name(kind)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


# --- metrics -----------------------------------------------------------------------


def _vector(flat: _Flat) -> np.ndarray:
    """A flat value as a 1-D NumPy array: floats for numbers and bools, objects for strings."""
    if flat.kind in ("int", "float", "bool", None):
        return _floats(flat.values)
    return np.array(flat.values, dtype=object)


def _array_values(encoded: Any) -> np.ndarray:
    """The entries of an encoded array, list or Series as a 1-D array (empty if it is not one)."""
    flat = _flatten(encoded, series=True) if value_problem(encoded) is None else None
    return _vector(flat) if flat is not None else np.array([], dtype=float)


def prediction_vector(encoded: Any) -> np.ndarray | None:
    """The predictions a report holds as a 1-D array, or None if it is malformed or holds none."""
    if value_problem(encoded) is not None:
        return None
    flat = _flatten(encoded, series=True)
    if flat is None or len(flat.shape) != 1 or flat.kind not in ("int", "float", "bool"):
        return None
    return _vector(flat)


def _metric(name: str) -> Metric:
    """The registered metric ``name``; ValueError naming the known ones if there is none."""
    found = metric_named(name)
    if found is None:
        raise ValueError(f"unknown metric {name!r}; use one of {sorted(metric_names())}")
    return found


def metric_value(metric: str, predictions: np.ndarray, labels: np.ndarray) -> float:
    """The competition-style metric of ``predictions`` against ``labels`` (see comparators.py)."""
    return _metric(metric).score(predictions, labels)


def compare_metric(actual: Encoded, labels: Encoded, metric: str, threshold: float) -> Outcome:
    """Score predictions (an array, list, tuple or Series) against hidden labels."""
    truth = _flatten(labels, series=True)
    if truth is None or len(truth.shape) != 1 or not truth.values:
        return authoring_error("it has no labels")
    predictions = _flatten(actual, series=True)
    if predictions is None or actual["type"] in _SCALAR_KINDS:
        return Outcome(False, f"expected an array of predictions, got {describe(actual)}")
    per_class = _metric(metric).scores_per_class
    if per_class and (len(predictions.shape) != 2 or predictions.shape[0] != truth.shape[0]):
        n = truth.shape[0]
        return Outcome(
            False, f"expected a row of class scores per label, shape ({n}, k): got {predictions.shape}"
        )
    if not per_class and predictions.shape != truth.shape:
        return Outcome(False, f"wrong number of predictions: got shape {predictions.shape}")
    numeric = ("int", "float", "bool")
    if _metric(metric).numbers_only and (predictions.kind not in numeric or truth.kind not in numeric):
        got = _kind_words(predictions.kind)
        return Outcome(False, f"the predictions must be numbers for {metric}, got {got} values")
    p, t = _vector(predictions), _vector(truth)
    if p.dtype == float and not np.all(np.isfinite(p)):
        return Outcome(False, "some predictions are NaN or infinite")
    score = metric_value(metric, p.reshape(predictions.shape) if per_class else p, t)
    higher = _metric(metric).higher_is_better
    if (score >= threshold) if higher else (score <= threshold):
        return Outcome(True, f"{metric} = {score:.4g}")
    side = "at least" if higher else "at most"
    return Outcome(False, f"{metric} = {score:.4g}, needs {side} {threshold:g}")
