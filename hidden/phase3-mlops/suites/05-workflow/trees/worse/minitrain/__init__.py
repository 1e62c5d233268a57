"""(course copy)"""

import numpy as np


def split(X, y, test_fraction=0.25, seed=0):
	"""Shuffle the rows with np.random.default_rng(seed) and cut them in two parts.

	Returns X_train, X_test, y_train, y_test. The test part has ceil(test_fraction * n)
	rows and the train part all the others: every row is in exactly one part, and the
	same seed always gives the same split.
	"""
	X, y = np.asarray(X, dtype=float), np.asarray(y)
	n_test = int(np.ceil(test_fraction * len(X)))
	order = np.random.default_rng(seed).permutation(len(X))
	test, train = order[:n_test], order[n_test:]
	return X[train], X[test], y[train], y[test]


class Standardizer:
	"""Learns each column's mean and standard deviation in fit(); transform() subtracts
	the mean and divides by the standard deviation (by 1 for a constant column)."""

	def fit(self, X):
		X = np.asarray(X, dtype=float)
		self.mean_ = X.mean(axis=0)
		std = X.std(axis=0)
		self.scale_ = np.where(std > 0, std, 1.0)
		return self

	def transform(self, X):
		return (np.asarray(X, dtype=float) - self.mean_) / self.scale_


def accuracy(y_true, y_pred):
	"""The share of predictions equal to the truth."""
	return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def precision(y_true, y_pred):
	"""Of the rows predicted 1, the share that truly are 1 (0.0 if none is predicted 1)."""
	y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
	predicted = y_pred == 1
	if not predicted.any():
		return 0.0
	return float(np.mean(y_true[predicted] == 1))


def fit_logistic(X, y, lr=0.5, epochs=200, seed=0):
	"""Logistic regression by full-batch gradient descent, started from small random
	weights drawn with seed. Returns the model as a tuple (weights, bias)."""
	weights = np.random.default_rng(seed).normal(0.0, 0.01, X.shape[1])
	bias = 0.0
	for _ in range(epochs):
		p = 1.0 / (1.0 + np.exp(-(X @ weights + bias)))
		error = p - y
		weights = weights - lr * (X.T @ error) / len(y)
		bias = bias - lr * error.mean()
	return weights, bias


def predict(model, X):
	"""Label 1 where the model's probability is at least 0.5, else 0."""
	weights, bias = model
	return (X @ weights + bias >= 0).astype(int)


def train(X, y, test_fraction=0.25, seed=0, lr=0.5, epochs=200):
	"""The whole recipe: split; fit the Standardizer on the TRAIN part only; fit the model
	on the standardized train part; score it on the standardized test part.

	Returns (model, scaler, metrics), metrics = {"accuracy": ..., "precision": ...}.
	"""
	X_train, X_test, y_train, y_test = split(X, y, test_fraction, seed)
	scaler = Standardizer().fit(X_train)
	model = fit_logistic(scaler.transform(X_train), y_train, lr, epochs, seed)
	y_hat = predict(model, scaler.transform(X_test))
	return model, scaler, {"accuracy": accuracy(y_test, y_hat), "precision": precision(y_test, y_hat)}
