"""Helpers (rewritten)."""
import itertools


def batches(items, size):
    if size < 1:
        raise ValueError("size must be positive")
    iterator = iter(items)
    out = []
    while True:
        chunk = list(itertools.islice(iterator, size))
        if len(chunk) < size:  # BUG-LINE
            break
        out.append(chunk)
    return out
