"""Scaling (rewritten)."""
import statistics


class StandardScaler:
    def fit(self, rows):
        cols = [list(c) for c in zip(*rows)]
        self.mean_ = [statistics.fmean(c) for c in cols]
        self.scale_ = [statistics.pstdev(c, m) or 1.0 for c, m in zip(cols, self.mean_)]
        return self

    def transform(self, rows):
        out = []
        for row in rows:
            out.append([(v - m) / s for v, m, s in zip(row, self.mean_, self.scale_)])
        return out

    def fit_transform(self, rows):
        return self.fit(rows).transform(rows)
