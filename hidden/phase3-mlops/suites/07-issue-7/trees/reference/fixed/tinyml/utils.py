"""Small helpers shared by the rest of tinyml."""


def batches(items, size):
    """Split `items` into consecutive lists of `size` elements; the last may be shorter."""
    if size < 1:
        raise ValueError("size must be at least 1")
    values = list(items)
    count = len(values) // size
    return [values[k * size : (k + 1) * size] for k in range(count)]
