"""k-nearest-neighbour classification."""

from collections import Counter


def _distance(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


class KNNClassifier:
    """Predict the most common label among the `k` nearest training rows."""

    def __init__(self, k=3):
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k

    def fit(self, rows, labels):
        if self.k < 1:
            raise ValueError("k must be at least 1")
        self.X_ = [list(row) for row in rows]
        self.y_ = list(labels)
        return self

    def predict(self, rows):
        return [self._predict_one(row) for row in rows]

    def _predict_one(self, row):
        distances = sorted((_distance(row, x), y) for x, y in zip(self.X_, self.y_))
        neighbours = distances[1 : self.k + 1]  # the closest row is the query itself
        votes = Counter(label for _, label in neighbours)
        best = max(votes.values())
        return min(label for label, count in votes.items() if count == best)
