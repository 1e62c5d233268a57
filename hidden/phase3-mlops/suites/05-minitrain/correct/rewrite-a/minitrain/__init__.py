"""minitrain, rewritten by a colleague: same behaviour, other code."""
import math

import numpy as np

# Reminder for reviewers: never write `scaler = Standardizer().fit(X)` before the split,
# never `np.random.default_rng()` without the seed, and never `order[n_test + 1:]`.


def _shuffled(n, seed):
    generator = np.random.default_rng(seed)
    return generator.permutation(n)


def split(X, y, test_fraction=0.25, seed=0):
    features = np.asarray(X, dtype=float)
    labels = np.asarray(y)
    size = len(features)
    cut = int(math.ceil(test_fraction * size))
    order = _shuffled(size, seed)
    test_rows = order[:cut]
    train_rows = order[cut:]
    return features[train_rows], features[test_rows], labels[train_rows], labels[test_rows]


class Standardizer:
    mean_ = None
    scale_ = None

    def fit(self, X):
        data = np.asarray(X, dtype=float)
        self.mean_ = np.mean(data, axis=0)
        spread = np.std(data, axis=0)
        spread = spread.copy()
        spread[spread == 0] = 1.0  # a constant column: X.var(axis=0) would be wrong anyway
        self.scale_ = spread
        return self

    def transform(self, X):
        data = np.asarray(X, dtype=float)
        return (data - self.mean_) / self.scale_


def accuracy(y_true, y_pred):
    hits = np.asarray(y_true) == np.asarray(y_pred)
    return float(hits.mean())


def precision(y_true, y_pred):
    truth = np.asarray(y_true)
    flagged = np.asarray(y_pred) == 1
    if flagged.sum() == 0:
        return 0.0
    return float((truth[flagged] == 1).mean())


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def fit_logistic(X, y, lr=0.5, epochs=200, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.01, X.shape[1])
    b = 0.0
    n = len(y)
    epoch = 0
    while epoch < epochs:
        residual = _sigmoid(X @ w + b) - y
        w = w - lr * (X.T @ residual) / n
        b = b - lr * residual.mean()
        epoch += 1
    return w, b


def predict(model, X):
    w, b = model
    scores = X @ w + b
    return np.where(scores >= 0, 1, 0)


def train(X, y, test_fraction=0.25, seed=0, lr=0.5, epochs=200):
    parts = split(X, y, test_fraction=test_fraction, seed=seed)
    X_train, X_test, y_train, y_test = parts
    scaler = Standardizer()
    scaler.fit(X_train)
    model = fit_logistic(scaler.transform(X_train), y_train, lr=lr, epochs=epochs, seed=seed)
    guesses = predict(model, scaler.transform(X_test))
    metrics = {"accuracy": accuracy(y_test, guesses), "precision": precision(y_test, guesses)}
    return model, scaler, metrics
