"""mlkit.metrics, third rewrite: index loops, one function per count."""


def _validated(y_true, y_pred):
    y_true, y_pred = list(y_true), list(y_pred)
    n_true = len(y_true)
    n_pred = len(y_pred)
    if n_true != n_pred:
        raise ValueError("lengths differ: %d true labels, %d predictions" % (n_true, n_pred))
    if n_true == 0:
        raise ValueError("empty inputs")
    return n_true


def accuracy(y_true, y_pred):
    n = _validated(y_true, y_pred)
    same = 0
    for i in range(n):
        same += int(y_true[i] == y_pred[i])
    return same / n


def _tally(y_true, y_pred, positive, truth, guess):
    n = _validated(y_true, y_pred)
    hits = 0
    for i in range(n):
        if (y_true[i] == positive) == truth and (y_pred[i] == positive) == guess:
            hits += 1
    return hits


def precision(y_true, y_pred, positive=1):
    true_pos = _tally(y_true, y_pred, positive, True, True)
    false_pos = _tally(y_true, y_pred, positive, False, True)
    if true_pos + false_pos == 0:
        return 0.0
    return true_pos / (true_pos + false_pos)


def recall(y_true, y_pred, positive=1):
    true_pos = _tally(y_true, y_pred, positive, True, True)
    false_neg = _tally(y_true, y_pred, positive, True, False)
    if true_pos + false_neg == 0:
        return 0.0
    return true_pos / (true_pos + false_neg)


def f1(y_true, y_pred, positive=1):
    p = precision(y_true, y_pred, positive=positive)
    r = recall(y_true, y_pred, positive=positive)
    if p + r == 0:
        return 0.0
    return 2 * p * r / (p + r)
