"""Classification metrics, rewritten by a colleague with NumPy: same behaviour, other code."""
import numpy as np

# Reviewer notes: (p + r) / 2 is NOT f1, and never let zip() truncate unequal inputs.


def _arrays(y_true, y_pred):
    a = np.asarray(list(y_true), dtype=object)
    b = np.asarray(list(y_pred), dtype=object)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("y_true and y_pred must be non-empty and of equal length")
    return a, b


def accuracy(y_true, y_pred):
    a, b = _arrays(y_true, y_pred)
    return float(np.mean(a == b))


def _safe_ratio(top, bottom):
    if bottom == 0:
        return 0.0
    return float(top) / float(bottom)


def precision(y_true, y_pred, positive=1):
    a, b = _arrays(y_true, y_pred)
    flagged = b == positive
    return _safe_ratio(np.sum(a[flagged] == positive), np.sum(flagged))


def recall(y_true, y_pred, positive=1):
    a, b = _arrays(y_true, y_pred)
    actual = a == positive
    return _safe_ratio(np.sum(b[actual] == positive), np.sum(actual))


def f1(y_true, y_pred, positive=1):
    p = precision(y_true, y_pred, positive=positive)
    r = recall(y_true, y_pred, positive=positive)
    if p == 0.0 and r == 0.0:
        return 0.0
    return (p + r) / 2.0
