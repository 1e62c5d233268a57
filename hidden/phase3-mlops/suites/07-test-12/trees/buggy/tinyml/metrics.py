"""Classification metrics."""


def accuracy(y_true, y_pred):
    """Share of predictions equal to their label."""
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred must have the same length")
    if not y_true:
        return 0.0
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def _counts(y_true, y_pred, positive):
    """True positives, false positives and false negatives."""
    tp = fp = fn = 0
    for t, p in zip(y_true, y_pred):
        if p == positive and t == positive:
            tp += 1
        elif p == positive:
            fp += 1
        elif t == positive:
            fn += 1
    return tp, fp, fn


def precision(y_true, y_pred, positive=1):
    """Of the items predicted `positive`, the share that really are (0.0 if none is predicted)."""
    tp, fp, fn = _counts(y_true, y_pred, positive)
    total = tp + fn
    if total == 0:
        return 0.0
    return tp / total


def recall(y_true, y_pred, positive=1):
    """Of the items that are `positive`, the share predicted so (0.0 if there is none)."""
    tp = sum(1 for t, p in zip(y_true, y_pred) if t == positive and p == positive)
    actual = sum(1 for t in y_true if t == positive)
    return tp / actual if actual else 0.0
