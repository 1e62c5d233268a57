"""Turn a learner's value into plain JSON data, and only plain JSON data.

Runs inside the learner's kernel, so nothing here is trusted: the grader never looks at
a Python object the learner made, only at the JSON this produces, and compares it on its
own side (``compare.py``) after checking that the JSON has exactly the format written
here (``report_schema.py``). The rules still matter for honest learners: the encoding
dispatches on *exact* types and reads numbers through the base classes' own methods, so
an ``int`` subclass or an object with a rigged ``__eq__`` becomes either its true value
or ``{"type": "unsupported"}``, never something that compares equal to everything.

pandas' nullable columns (``Int64``, ``Float64``, ``boolean``) are encoded as the plain
NumPy kind they stand for, with a missing value as NaN, so that a learner who picked a
nullable dtype is graded on the numbers, as with ``int64`` or ``float64``. Every string
is made writable as UTF-8 (a lone surrogate becomes its ``\\udXXX`` escape), so an honest
value never produces a report that the grader's JSON writer cannot store.

A moment (``datetime``, ``date``, ``pandas.Timestamp``, ``numpy.datetime64``, or a column of
them, whatever its unit) is the ISO text of that moment to the microsecond, in UTC when it
has a time zone; a duration is its seconds as a float; a missing one (NaT) is ``none``. So
a learner's ``datetime64[s]`` column reads the same as the solution's ``datetime64[ns]``.
"""

from __future__ import annotations

import datetime
import math
import sys
from typing import Any

MAX_ITEMS = 200_000
"""Largest number of entries (scalars, containers, array entries) one check may report."""
MAX_DEPTH = 64
"""Deepest nesting of containers one check may report."""
MAX_TYPE_NAME = 200
"""Longest type name an ``unsupported`` value carries."""
NUMBER_WORDS = ("nan", "inf", "-inf")

Encoded = dict[str, Any]


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


def _text(value: str) -> str:
    """``value`` as a string any UTF-8 writer accepts: lone surrogates become escapes."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _number(x: float) -> float | str:
    """JSON has no NaN or infinity; spell them as strings."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _moment_text(value: datetime.date) -> str:
    """A date or datetime as ISO text: midnight for a date, UTC for an aware datetime."""
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if datetime.datetime.utcoffset(value) is not None:
        value = datetime.datetime.astimezone(value, datetime.UTC)
    naive = datetime.datetime(
        *datetime.datetime.timetuple(value)[:6], datetime.datetime.time(value).microsecond
    )
    return datetime.datetime.isoformat(naive)


def _time_scalar(value: Any) -> Encoded | None:
    """A moment or a duration (Python's, pandas' or NumPy's), or None if ``value`` is neither."""
    pd, np = _pandas(), _numpy()
    if pd is not None and value is pd.NaT:
        return {"type": "none"}
    if isinstance(value, datetime.date):  # datetime and pandas.Timestamp included
        return {"type": "str", "value": _moment_text(value)}
    if isinstance(value, datetime.timedelta):  # pandas.Timedelta included
        return {"type": "float", "value": _number(datetime.timedelta.total_seconds(value))}
    if np is not None and isinstance(value, np.datetime64):
        return _scalar(np.datetime64(value, "us").item())
    if np is not None and isinstance(value, np.timedelta64):
        return {"type": "float", "value": _number(float(value / np.timedelta64(1, "s")))}
    return None


def _scalar(value: Any) -> Encoded | None:
    """Encode a Python or NumPy scalar, or return None if ``value`` is not one."""
    kind = type(value)
    if value is None:
        return {"type": "none"}
    if kind is bool:
        return {"type": "bool", "value": bool.__bool__(value)}
    if issubclass(kind, bool):
        return None
    if issubclass(kind, int):
        return {"type": "int", "value": int.__int__(value)}
    if issubclass(kind, float):
        return {"type": "float", "value": _number(float.__float__(value))}
    if issubclass(kind, str):
        return {"type": "str", "value": _text(str.__str__(value))}
    np = _numpy()
    if np is not None and isinstance(value, np.generic):
        if isinstance(value, (np.datetime64, np.timedelta64)):  # timedelta64 is an np.integer
            return _time_scalar(value)
        if isinstance(value, np.bool_):
            return {"type": "bool", "value": bool(value.item())}
        if isinstance(value, np.integer):
            return {"type": "int", "value": int(value.item())}
        if isinstance(value, np.floating):
            return {"type": "float", "value": _number(float(value.item()))}
        if isinstance(value, np.str_):
            return {"type": "str", "value": _text(str(value.item()))}
    pd = _pandas()
    if pd is not None and value is pd.NA:  # a nullable column's missing value, like None
        return {"type": "none"}
    return _time_scalar(value)


def _numpy() -> Any:
    """NumPy if the kernel has imported it; a value cannot be a NumPy object otherwise."""
    return sys.modules.get("numpy")


def _pandas() -> Any:
    """pandas if the kernel has imported it; a value cannot be a pandas object otherwise."""
    return sys.modules.get("pandas")


def _spend(budget: list[int], count: int) -> None:
    budget[0] -= count
    if budget[0] < 0:
        raise _TooLarge


def _array(value: Any, budget: list[int], depth: int) -> Encoded:
    if depth > MAX_DEPTH:
        raise _TooDeep
    np = _numpy()
    arr = np.asarray(value)
    _spend(budget, 1 + arr.size)
    if arr.dtype.kind == "b":
        data: list[Any] = [bool(x) for x in arr.ravel().tolist()]
        kind = "bool"
    elif arr.dtype.kind in "iu":
        data = [int(x) for x in arr.ravel().tolist()]
        kind = "int"
    elif arr.dtype.kind == "f":
        data = [_number(float(x)) for x in arr.ravel().tolist()]
        kind = "float"
    elif arr.dtype.kind in "US":
        data = [_text(str(x)) for x in arr.ravel().tolist()]
        kind = "str"
    elif arr.dtype.kind == "m":  # durations of any unit: seconds
        data = [_number(float(x)) for x in (arr / np.timedelta64(1, "s")).ravel().tolist()]
        kind = "float"
    elif arr.dtype.kind == "M":  # moments of any unit: to the microsecond, then as moments
        data = [_encode(x, budget, depth + 1) for x in arr.astype("datetime64[us]").ravel().tolist()]
        kind = "object"
    else:
        data = [_encode(x, budget, depth + 1) for x in arr.ravel().tolist()]
        kind = "object"
    return {"type": "ndarray", "dtype": kind, "shape": list(arr.shape), "data": data}


def _pandas_values(values: Any) -> Any:
    """The NumPy values of a Series or an Index; nullable numbers as plain ones, NA as NaN."""
    np = _numpy()
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        return values.to_numpy()
    kind, plain = getattr(dtype, "kind", "O"), getattr(dtype, "numpy_dtype", None)
    try:
        if kind in "iufb" and isinstance(plain, np.dtype):  # Int64, Float64, boolean, int64[pyarrow]
            if bool(values.isna().any()):
                return values.to_numpy(dtype=float, na_value=np.nan)
            return values.to_numpy(dtype=plain)
    except (TypeError, ValueError):
        pass
    return values.to_numpy()


def _encode(value: Any, budget: list[int], depth: int = 0) -> Encoded:
    if depth > MAX_DEPTH:
        raise _TooDeep
    scalar = _scalar(value)
    if scalar is not None:
        _spend(budget, 1)
        return scalar
    kind = type(value)
    if kind in (list, tuple):
        _spend(budget, 1)
        items = list.__iter__(value) if kind is list else tuple.__iter__(value)
        return {"type": kind.__name__, "items": [_encode(x, budget, depth + 1) for x in items]}
    if kind is dict:
        _spend(budget, 1)
        pairs = [(_encode(k, budget, depth + 1), _encode(v, budget, depth + 1)) for k, v in dict.items(value)]
        return {"type": "dict", "items": [[k, v] for k, v in pairs]}
    if kind in (set, frozenset):
        _spend(budget, 1)
        members = sorted((_encode(x, budget, depth + 1) for x in value), key=repr)
        return {"type": "set", "items": members}
    np = _numpy()
    if np is not None and kind is np.ndarray:
        return _array(value, budget, depth)
    pd = _pandas()
    if pd is not None and kind is pd.Series:
        _spend(budget, 1)
        return {
            "type": "series",
            "name": _encode(value.name, budget, depth + 1),
            "index": _array(_pandas_values(value.index), budget, depth + 1),
            "values": _array(_pandas_values(value), budget, depth + 1),
        }
    if pd is not None and kind is pd.DataFrame:
        _spend(budget, 1)
        return {
            "type": "dataframe",
            "columns": [_encode(c, budget, depth + 1) for c in value.columns.tolist()],
            "index": _array(_pandas_values(value.index), budget, depth + 1),
            "values": [
                _array(_pandas_values(value.iloc[:, i]), budget, depth + 1) for i in range(value.shape[1])
            ],
        }
    _spend(budget, 1)
    name = f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"
    return {"type": "unsupported", "python_type": _text(str(name))[:MAX_TYPE_NAME]}


def encode(value: Any) -> Encoded:
    """Encode ``value`` as JSON data; unknown types become ``{"type": "unsupported"}``."""
    try:
        return _encode(value, [MAX_ITEMS])
    except _TooLarge:
        return {"type": "too_large", "limit": MAX_ITEMS}
    except (_TooDeep, RecursionError):
        return {"type": "unsupported", "python_type": f"a structure nested more than {MAX_DEPTH} levels deep"}


_NAMES = {
    "none": "None",
    "ndarray": "array",
    "series": "Series",
    "dataframe": "DataFrame",
    "too_large": "value too large to report",
}


def type_name(kind: str) -> str:
    """How a learner would call an encoded type: ``array``, ``Series``, ``float``."""
    return _NAMES.get(kind, kind)


def describe(encoded: Encoded) -> str:
    """A short type-and-shape description, never the value: safe to show a learner."""
    kind = encoded.get("type") if isinstance(encoded, dict) else None
    if not isinstance(kind, str):
        return "a malformed value"
    if kind == "ndarray":
        shape = encoded.get("shape")
        shape_text = str(tuple(shape)) if isinstance(shape, list) and len(shape) <= 8 else "?"
        return f"array of {encoded.get('dtype')} with shape {shape_text}"
    if kind in ("list", "tuple", "set", "dict"):
        items = encoded.get("items")
        return f"{kind} of length {len(items) if isinstance(items, list) else '?'}"
    if kind == "dataframe":
        columns = encoded.get("columns")
        return f"DataFrame with {len(columns) if isinstance(columns, list) else '?'} columns"
    if kind == "series":
        values = encoded.get("values")
        data = values.get("data") if isinstance(values, dict) else None
        return f"Series of length {len(data) if isinstance(data, list) else '?'}"
    if kind == "unsupported":
        return f"unsupported type {str(encoded.get('python_type'))[:MAX_TYPE_NAME]}"
    return type_name(kind)[:40]
