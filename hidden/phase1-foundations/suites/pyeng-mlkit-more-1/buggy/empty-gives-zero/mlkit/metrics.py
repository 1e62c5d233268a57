"""mlkit.metrics, second rewrite: counts in a dictionary."""
from collections import Counter


def _pairs(y_true, y_pred):
    truth, guess = tuple(y_true), tuple(y_pred)
    if len(truth) != len(guess):
        raise ValueError(f"need two non-empty sequences of one length, got {len(truth)} and {len(guess)}")
    return list(zip(truth, guess))


def accuracy(y_true, y_pred):
    pairs = _pairs(y_true, y_pred)
    hits = 0
    for t, p in pairs:
        if t == p:
            hits += 1
    return hits / len(pairs) if pairs else 0.0


def _confusion(y_true, y_pred, positive):
    tally = Counter()
    for t, p in _pairs(y_true, y_pred):
        tally[(t == positive, p == positive)] += 1
    return tally[(True, True)], tally[(False, True)], tally[(True, False)]


def precision(y_true, y_pred, positive=1):
    tp, fp, fn = _confusion(y_true, y_pred, positive)
    predicted = tp + fp
    return 0.0 if predicted == 0 else tp / predicted


def recall(y_true, y_pred, positive=1):
    tp, fp, fn = _confusion(y_true, y_pred, positive)
    actual = tp + fn
    return 0.0 if actual == 0 else tp / actual


def f1(y_true, y_pred, positive=1):
    tp, fp, fn = _confusion(y_true, y_pred, positive)
    denominator = 2 * tp + fp + fn
    return 0.0 if denominator == 0 else 2 * tp / denominator
