import math

import numpy as np
import pytest

import minitrain


def make_data(n=40, seed=0):
	rng = np.random.default_rng(seed)
	X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.1] + [0.0, 10.0, -3.0]
	y = (X[:, 0] + rng.normal(scale=0.5, size=n) > 0).astype(int)
	return X, y


@pytest.mark.parametrize("n, fraction", [(10, 0.25), (40, 0.25), (7, 0.5), (11, 0.1)])
def test_split_sizes_and_partition(n, fraction):
	X = np.arange(n * 2, dtype=float).reshape(n, 2)
	y = np.arange(n)
	X_train, X_test, y_train, y_test = minitrain.split(X, y, test_fraction=fraction, seed=3)
	assert len(X_test) == len(y_test) == math.ceil(fraction * n)
	assert len(X_train) == len(y_train) == n - math.ceil(fraction * n)
	assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(n))
	assert np.array_equal(X_train[:, 0], 2 * y_train) and np.array_equal(X_test[:, 0], 2 * y_test)


def test_split_is_deterministic_for_a_seed():
	X, y = make_data()
	first = minitrain.split(X, y, seed=5)
	second = minitrain.split(X, y, seed=5)
	for a, b in zip(first, second):
		assert np.array_equal(a, b)


def test_standardizer_uses_the_data_it_was_fitted_on():
	X, _ = make_data()
	scaler = minitrain.Standardizer().fit(X)
	Z = scaler.transform(X)
	assert np.allclose(Z.mean(axis=0), 0.0)
	assert np.allclose(Z.std(axis=0), 1.0)
	assert np.allclose(scaler.transform(X[:3] + 1.0), (X[:3] + 1.0 - X.mean(axis=0)) / X.std(axis=0))


def test_standardizer_leaves_a_constant_column_finite():
	X = np.column_stack([np.arange(6.0), np.full(6, 4.0)])
	Z = minitrain.Standardizer().fit(X).transform(X)
	assert np.isfinite(Z).all()
	assert np.allclose(Z[:, 1], 0.0)


def test_accuracy_and_precision():
	y_true = [1, 0, 0, 1, 0]
	y_pred = [1, 1, 1, 0, 0]
	assert minitrain.accuracy(y_true, y_pred) == pytest.approx(0.4)
	assert minitrain.precision(y_true, y_pred) == pytest.approx(1 / 3)  # recall would be 1/2
	assert minitrain.precision([1, 0], [0, 0]) == 0.0


def test_train_fits_the_scaler_on_the_train_part_only():
	X, y = make_data(seed=1)
	X[:5] += 50.0  # rows with large values, so the mean of all rows differs from any part's
	_, scaler, metrics = minitrain.train(X, y, test_fraction=0.25, seed=2)
	X_train, X_test, y_train, y_test = minitrain.split(X, y, 0.25, seed=2)
	assert np.allclose(scaler.mean_, X_train.mean(axis=0))
	assert np.allclose(scaler.scale_, X_train.std(axis=0))
	assert set(metrics) == {"accuracy", "precision"}


def test_train_is_deterministic_and_learns():
	X, y = make_data(n=200, seed=4)
	model_a, _, metrics_a = minitrain.train(X, y, seed=9)
	model_b, _, metrics_b = minitrain.train(X, y, seed=9)
	assert np.array_equal(model_a[0], model_b[0]) and metrics_a == metrics_b
	assert metrics_a["accuracy"] > 0.7
