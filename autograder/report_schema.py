"""The complete format of an encoded value, checked before anything compares one.

A check report comes out of the learner's kernel, so its JSON can be anything a hostile
kernel chooses to send: missing keys, numbers where lists belong, a short ``data`` list
under a long ``shape``, strings no UTF-8 writer can encode, nesting deep enough to
exhaust the grader's stack. The comparators (``compare.py``) index into a value freely,
and zip data with the reference, so they may only ever see a value that ``encode.py``
could have produced. :func:`value_problem` says, in words a learner can read, why a
value could not have been, and never raises; the format it accepts is exactly what
``encode.encode`` emits (``tests/grading/test_hostile_reports.py`` checks both directions).

The format, one JSON object per value:

============ ==================================================================
``type``     the other keys (exactly these)
============ ==================================================================
none         (none)
bool         ``value``: true or false
int          ``value``: an integer
float        ``value``: a finite JSON number, or ``"nan"``, ``"inf"``, ``"-inf"``
str          ``value``: a string without lone surrogates
list, tuple, ``items``: a list of values
set
dict         ``items``: a list of ``[key, value]`` pairs of values
ndarray      ``dtype`` (bool, int, float, str, object), ``shape`` (a list of
             non-negative integers), ``data``: ``prod(shape)`` entries in C order,
             each a JSON bool, an integer in the int64/uint64 range, a float as
             above, a string, or (for ``object``) a value
series       ``name`` (a value), ``index`` and ``values`` (1-D ndarrays of one length)
dataframe    ``columns`` (a list of values), ``index`` (a 1-D ndarray), ``values``
             (one 1-D ndarray per column, each as long as the index)
too_large    ``limit``: an integer
unsupported  ``python_type``: a short string
============ ==================================================================

Every value, container and array entry counts against ``encode.MAX_ITEMS``, and values
nest at most ``encode.MAX_DEPTH`` deep, as in the encoder.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

from .encode import MAX_DEPTH, MAX_ITEMS, MAX_TYPE_NAME, NUMBER_WORDS

DTYPES = frozenset({"bool", "int", "float", "str", "object"})
KEYS: dict[str, frozenset[str]] = {
    "none": frozenset({"type"}),
    "bool": frozenset({"type", "value"}),
    "int": frozenset({"type", "value"}),
    "float": frozenset({"type", "value"}),
    "str": frozenset({"type", "value"}),
    "list": frozenset({"type", "items"}),
    "tuple": frozenset({"type", "items"}),
    "set": frozenset({"type", "items"}),
    "dict": frozenset({"type", "items"}),
    "ndarray": frozenset({"type", "dtype", "shape", "data"}),
    "series": frozenset({"type", "name", "index", "values"}),
    "dataframe": frozenset({"type", "columns", "index", "values"}),
    "too_large": frozenset({"type", "limit"}),
    "unsupported": frozenset({"type", "python_type"}),
}
MAX_DIMS = 64
"""NumPy's own limit on the number of dimensions."""
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
"""What an int64 or uint64 array entry can hold."""
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Malformed(Exception):
    """Raised inside the checker, turned into a sentence by :func:`value_problem`."""


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a code point that no UTF-8 writer can encode."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def value_problem(value: Any) -> str | None:
    """Why ``value`` is not an encoded value (a short sentence), or None when it is one."""
    checker = _Checker()
    try:
        checker.node(value, 0)
    except _Malformed as exc:
        return str(exc)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the recursion short
        return "it is nested too deeply"
    return None


def _finite_number(x: Any) -> bool:
    kind = type(x)
    if kind is float:
        return math.isfinite(x)
    return kind is int and INT_MIN <= x <= INT_MAX


def _int_entry(x: Any) -> bool:
    return type(x) is int and INT_MIN <= x <= INT_MAX


def _float_entry(x: Any) -> bool:
    """A float as the encoder writes it: a finite number, or one of the three words."""
    return _finite_number(x) or (type(x) is str and x in NUMBER_WORDS)


class _Checker:
    """Walks one value; counts entries against the encoder's budget; names where it failed."""

    def __init__(self) -> None:
        self.budget = MAX_ITEMS
        self.path: list[str] = []

    def fail(self, what: str) -> NoReturn:
        where = "".join(self.path)
        raise _Malformed(f"{what} (at value{where})" if where else what)

    def spend(self, count: int) -> None:
        self.budget -= count
        if self.budget < 0:
            self.fail(f"it holds more than {MAX_ITEMS} entries, more than any check may report")

    def child(self, part: str, value: Any, depth: int) -> None:
        self.path.append(part)
        self.node(value, depth)
        self.path.pop()

    def node(self, value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.fail(f"it is nested more than {MAX_DEPTH} levels deep")
        if not isinstance(value, dict):
            self.fail("expected an encoded value (a JSON object with a 'type')")
        kind = value.get("type")
        if type(kind) is not str or kind not in KEYS:
            self.fail("unknown or missing 'type'")
        if value.keys() != KEYS[kind]:
            self.fail(f"a {kind} must have exactly the keys {', '.join(sorted(KEYS[kind]))}")
        self.spend(1)
        getattr(self, f"_{kind}")(value, depth)

    def _none(self, value: dict[str, Any], depth: int) -> None:
        pass

    def _bool(self, value: dict[str, Any], depth: int) -> None:
        if type(value["value"]) is not bool:
            self.fail("a bool's value must be true or false")

    def _int(self, value: dict[str, Any], depth: int) -> None:
        if type(value["value"]) is not int:
            self.fail("an int's value must be an integer")

    def _float(self, value: dict[str, Any], depth: int) -> None:
        if not _float_entry(value["value"]):
            self.fail("a float's value must be a finite number, 'nan', 'inf' or '-inf'")

    def _str(self, value: dict[str, Any], depth: int) -> None:
        self.text(value["value"], "a str's value")

    def text(self, x: Any, what: str) -> None:
        if type(x) is not str:
            self.fail(f"{what} must be a string")
        if has_lone_surrogate(x):
            self.fail(f"{what} holds a lone surrogate, which is not valid Unicode")

    def items(self, value: dict[str, Any]) -> list[Any]:
        items = value["items"]
        if not isinstance(items, list):
            self.fail(f"a {value['type']}'s items must be a list")
        if len(items) > self.budget:
            self.spend(len(items))
        return items

    def _list(self, value: dict[str, Any], depth: int) -> None:
        for i, item in enumerate(self.items(value)):
            self.child(f".items[{i}]", item, depth + 1)

    _tuple = _list
    _set = _list

    def _dict(self, value: dict[str, Any], depth: int) -> None:
        for i, pair in enumerate(self.items(value)):
            if not isinstance(pair, list) or len(pair) != 2:
                self.path.append(f".items[{i}]")
                self.fail("a dict's items must be [key, value] pairs")
            self.child(f".items[{i}][0]", pair[0], depth + 1)
            self.child(f".items[{i}][1]", pair[1], depth + 1)

    def _ndarray(self, value: dict[str, Any], depth: int) -> None:
        dtype, shape, data = value["dtype"], value["shape"], value["data"]
        if type(dtype) is not str or dtype not in DTYPES:
            self.fail(f"an ndarray's dtype must be one of {', '.join(sorted(DTYPES))}")
        if not isinstance(shape, list) or len(shape) > MAX_DIMS:
            self.fail(f"an ndarray's shape must be a list of at most {MAX_DIMS} sizes")
        if not all(type(n) is int and 0 <= n <= INT_MAX for n in shape):
            self.fail("an ndarray's shape must hold non-negative integers")
        if not isinstance(data, list):
            self.fail("an ndarray's data must be a list")
        if len(data) != _size(shape):
            needs = _size_text(shape)
            self.fail(f"an ndarray of shape {tuple(shape)} needs {needs} entries, its data has {len(data)}")
        if dtype == "object":
            for i, item in enumerate(data):
                self.child(f".data[{i}]", item, depth + 1)
            return
        self.spend(len(data))
        self.entries(dtype, data)

    def entries(self, dtype: str, data: list[Any]) -> None:
        if dtype == "bool":
            bad = next((i for i, x in enumerate(data) if type(x) is not bool), None)
            what = "true or false"
        elif dtype == "int":
            bad = next((i for i, x in enumerate(data) if not _int_entry(x)), None)
            what = "an integer in the int64 or uint64 range"
        elif dtype == "float":  # x - x is 0.0 exactly for a finite float: no call per entry
            bad = next(
                (i for i, x in enumerate(data) if (type(x) is not float or x - x) and not _float_entry(x)),
                None,
            )
            what = "a finite number, 'nan', 'inf' or '-inf'"
        else:
            bad = next((i for i, x in enumerate(data) if type(x) is not str or has_lone_surrogate(x)), None)
            what = "a string of valid Unicode"
        if bad is not None:
            self.path.append(f".data[{bad}]")
            self.fail(f"every entry of a {dtype} ndarray must be {what}")

    def vector(self, part: str, value: Any, depth: int) -> int:
        """Check a 1-D ndarray (an index or a column) and return its length."""
        self.child(part, value, depth)
        if value["type"] != "ndarray" or len(value["shape"]) != 1:
            self.path.append(part)
            self.fail("must be a 1-D ndarray")
        return int(value["shape"][0])

    def _series(self, value: dict[str, Any], depth: int) -> None:
        self.child(".name", value["name"], depth + 1)
        n_index = self.vector(".index", value["index"], depth + 1)
        if self.vector(".values", value["values"], depth + 1) != n_index:
            self.fail("a Series needs as many values as index entries")

    def _dataframe(self, value: dict[str, Any], depth: int) -> None:
        columns, values = value["columns"], value["values"]
        if not isinstance(columns, list) or not isinstance(values, list) or len(columns) != len(values):
            self.fail("a DataFrame needs a list of columns and a list of as many value arrays")
        if len(columns) > self.budget:
            self.spend(len(columns))
        for i, column in enumerate(columns):
            self.child(f".columns[{i}]", column, depth + 1)
        n_rows = self.vector(".index", value["index"], depth + 1)
        for i, column_values in enumerate(values):
            if self.vector(f".values[{i}]", column_values, depth + 1) != n_rows:
                self.path.append(f".values[{i}]")
                self.fail("every column of a DataFrame needs one entry per index entry")

    def _too_large(self, value: dict[str, Any], depth: int) -> None:
        if type(value["limit"]) is not int:
            self.fail("a too_large value's limit must be an integer")

    def _unsupported(self, value: dict[str, Any], depth: int) -> None:
        self.text(value["python_type"], "an unsupported value's python_type")
        if len(value["python_type"]) > MAX_TYPE_NAME:
            self.fail(f"an unsupported value's python_type must be at most {MAX_TYPE_NAME} characters")


def _size(shape: list[int]) -> int:
    """The number of entries of ``shape``, capped just past the largest report (no huge products)."""
    if 0 in shape:
        return 0
    size = 1
    for n in shape:
        size *= n
        if size > MAX_ITEMS:
            return MAX_ITEMS + 1
    return size


def _size_text(shape: list[int]) -> str:
    size = _size(shape)
    return f"more than {MAX_ITEMS}" if size > MAX_ITEMS else str(size)
