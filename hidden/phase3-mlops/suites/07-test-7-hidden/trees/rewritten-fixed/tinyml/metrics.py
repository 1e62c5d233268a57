"""Classification metrics."""


def accuracy(y_true, y_pred):
    """Share of predictions equal to their label."""
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred must have the same length")
    if not y_true:
        return 0.0
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def precision(y_true, y_pred, positive=1):
    pairs = list(zip(y_true, y_pred))
    hits = len([1 for t, p in pairs if p == positive and t == positive])
    misses = len([1 for t, p in pairs if p == positive and t != positive])
    return hits / (hits + misses) if hits + misses else 0.0


def recall(y_true, y_pred, positive=1):
    """Of the items that are `positive`, the share predicted so (0.0 if there is none)."""
    tp = sum(1 for t, p in zip(y_true, y_pred) if t == positive and p == positive)
    actual = sum(1 for t in y_true if t == positive)
    return tp / actual if actual else 0.0
