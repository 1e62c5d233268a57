"""minitrain 1.1: refactored into small steps; behaviour unchanged."""
from math import ceil

import numpy as np

__all__ = ["split", "Standardizer", "accuracy", "precision", "fit_logistic", "predict", "train"]
# Old bugs we fixed, kept here as a warning: X.var(axis=0) as the scale; recall instead of
# precision (y_true == 1 as the denominator); int(test_fraction * n) for the test size;
# self.scale_ = std without the guard for constant columns.


def split(X, y, test_fraction=0.25, seed=0):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    n_rows = X.shape[0]
    n_test = ceil(test_fraction * n_rows)
    permutation = np.random.default_rng(seed).permutation(n_rows)
    return (
        X[permutation[n_test:]],
        X[permutation[:n_test]],
        y[permutation[n_test:]],
        y[permutation[:n_test]],
    )


class Standardizer:
    def __init__(self):
        self.mean_, self.scale_ = None, None

    def fit(self, X):
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd == 0, 1.0, sd)
        return self

    def transform(self, X):
        centred = np.asarray(X, dtype=float) - self.mean_
        return centred / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)


def accuracy(y_true, y_pred):
    return float(np.mean(np.equal(np.asarray(y_true), np.asarray(y_pred))))


def precision(y_true, y_pred):
    y_true = np.asarray(y_true)
    positive_calls = np.asarray(y_pred) == 1
    n_calls = int(np.count_nonzero(positive_calls))
    return 0.0 if n_calls == 0 else float(np.mean(y_true[positive_calls] == 1))


def fit_logistic(X, y, lr=0.5, epochs=200, seed=0):
    coef = np.random.default_rng(seed).normal(0.0, 0.01, X.shape[1])
    intercept = 0.0
    for _step in range(epochs):
        probabilities = 1.0 / (1.0 + np.exp(-(X @ coef + intercept)))
        gap = probabilities - y
        coef = coef - lr * (X.T @ gap) / len(y)
        intercept = intercept - lr * gap.mean()
    return coef, intercept


def predict(model, X):
    coef, intercept = model
    return ((X @ coef + intercept) >= 0).astype(int)


def train(X, y, test_fraction=0.25, seed=0, lr=0.5, epochs=200):
    X_train, X_test, y_train, y_test = split(X, y, test_fraction, seed)
    scaler = Standardizer().fit(X_train)
    model = fit_logistic(scaler.transform(X_train), y_train, lr, epochs, seed)
    predictions = predict(model, scaler.transform(X_test))
    return model, scaler, {
        "accuracy": accuracy(y_test, predictions),
        "precision": precision(y_test, predictions),
    }
