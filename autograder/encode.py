"""Turn a learner's value into plain JSON data, and only plain JSON data.

Runs inside the learner's kernel, so nothing here is trusted: the grader never looks at
a Python object the learner made, only at the JSON this produces, and compares it on its
own side (``compare.py``). The rules still matter for honest learners: the encoding
dispatches on *exact* types and reads numbers through the base classes' own methods, so
an ``int`` subclass or an object with a rigged ``__eq__`` becomes either its true value
or ``{"type": "unsupported"}``, never something that compares equal to everything.
"""

from __future__ import annotations

import math
from typing import Any

MAX_ITEMS = 200_000
"""Largest number of scalars one check may report; beyond it the value is refused."""

Encoded = dict[str, Any]


class _TooLarge(Exception):
    pass


def _number(x: float) -> float | str:
    """JSON has no NaN or infinity; spell them as strings."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


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
        return {"type": "str", "value": str.__str__(value)}
    np = _numpy()
    if np is not None and isinstance(value, np.generic):
        if isinstance(value, np.bool_):
            return {"type": "bool", "value": bool(value.item())}
        if isinstance(value, np.integer):
            return {"type": "int", "value": int(value.item())}
        if isinstance(value, np.floating):
            return {"type": "float", "value": _number(float(value.item()))}
        if isinstance(value, np.str_):
            return {"type": "str", "value": str(value.item())}
    return None


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency
        return None
    return numpy


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is a dependency
        return None
    return pandas


def _array(value: Any, budget: list[int]) -> Encoded:
    np = _numpy()
    arr = np.asarray(value)
    budget[0] -= arr.size
    if budget[0] < 0:
        raise _TooLarge
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
        data = [str(x) for x in arr.ravel().tolist()]
        kind = "str"
    else:
        data = [_encode(x, budget) for x in arr.ravel().tolist()]
        kind = "object"
    return {"type": "ndarray", "dtype": kind, "shape": list(arr.shape), "data": data}


def _encode(value: Any, budget: list[int]) -> Encoded:
    scalar = _scalar(value)
    if scalar is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooLarge
        return scalar
    kind = type(value)
    if kind in (list, tuple):
        items = list.__iter__(value) if kind is list else tuple.__iter__(value)
        return {"type": kind.__name__, "items": [_encode(x, budget) for x in items]}
    if kind is dict:
        pairs = [(_encode(k, budget), _encode(v, budget)) for k, v in dict.items(value)]
        return {"type": "dict", "items": [[k, v] for k, v in pairs]}
    if kind in (set, frozenset):
        items = sorted((_encode(x, budget) for x in value), key=repr)
        return {"type": "set", "items": items}
    np = _numpy()
    if np is not None and kind is np.ndarray:
        return _array(value, budget)
    pd = _pandas()
    if pd is not None and kind is pd.Series:
        return {
            "type": "series",
            "name": _encode(value.name, budget),
            "index": _array(value.index.to_numpy(), budget),
            "values": _array(value.to_numpy(), budget),
        }
    if pd is not None and kind is pd.DataFrame:
        return {
            "type": "dataframe",
            "columns": [_encode(c, budget) for c in value.columns.tolist()],
            "index": _array(value.index.to_numpy(), budget),
            "values": [_array(value[c].to_numpy(), budget) for c in value.columns],
        }
    return {"type": "unsupported", "python_type": f"{kind.__module__}.{kind.__qualname__}"}


def encode(value: Any) -> Encoded:
    """Encode ``value`` as JSON data; unknown types become ``{"type": "unsupported"}``."""
    try:
        return _encode(value, [MAX_ITEMS])
    except _TooLarge:
        return {"type": "too_large", "limit": MAX_ITEMS}
    except RecursionError:
        return {"type": "unsupported", "python_type": "recursive structure"}


def describe(encoded: Encoded) -> str:
    """A short type-and-shape description, never the value: safe to show a learner."""
    kind = encoded.get("type")
    if kind == "ndarray":
        return f"array of {encoded.get('dtype')} with shape {tuple(encoded.get('shape', []))}"
    if kind in ("list", "tuple", "set"):
        return f"{kind} of length {len(encoded.get('items', []))}"
    if kind == "dataframe":
        return f"DataFrame with {len(encoded.get('columns', []))} columns"
    if kind == "series":
        return f"Series of length {len(encoded.get('values', {}).get('data', []))}"
    if kind == "unsupported":
        return f"unsupported type {encoded.get('python_type')}"
    return str(kind)
