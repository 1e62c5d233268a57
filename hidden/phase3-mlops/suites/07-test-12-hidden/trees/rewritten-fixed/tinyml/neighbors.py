"""k-NN (rewritten)."""
import math


class KNNClassifier:
    def __init__(self, k=3):
        if k < 1:
            raise ValueError("k must be >= 1")
        self.k = k

    def fit(self, rows, labels):
        self.X_, self.y_ = [list(r) for r in rows], list(labels)
        return self

    def predict(self, rows):
        result = []
        for row in rows:
            order = sorted(range(len(self.X_)), key=lambda i: (math.dist(row, self.X_[i]), self.y_[i]))
            chosen = order[: self.k]
            counts = {}
            for i in chosen:
                counts[self.y_[i]] = counts.get(self.y_[i], 0) + 1
            top = max(counts.values())
            result.append(min(label for label in counts if counts[label] == top))
        return result
