"""Feature scaling."""

import math


class StandardScaler:
    """Centre each column on its mean and divide it by its standard deviation."""

    def fit(self, rows):
        columns = list(zip(*rows))
        self.mean_ = [sum(column) / len(column) for column in columns]
        self.scale_ = []
        for column, mean in zip(columns, self.mean_):
            variance = math.fsum((x - mean) ** 2 for x in column) / len(column)
            spread = variance if variance > 0 else 1.0
            self.scale_.append(spread)
        return self

    def transform(self, rows):
        return [[(x - m) / s for x, m, s in zip(row, self.mean_, self.scale_)] for row in rows]

    def fit_transform(self, rows):
        return self.fit(rows).transform(rows)
