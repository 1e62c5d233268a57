"""Progress of long runs (grade, check, demo): a bar with count, rate and time left, then a table.

The bar is tqdm's, on stderr, so a script reading stdout gets only the results. Lines
printed while the bar runs go above it. ``quiet`` turns the bar and those lines off.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm


class Progress:
    """A counted task: ``advance()`` once per item, ``note()`` for a line above the bar."""

    def __init__(self, total: int, what: str, *, unit: str = "item", quiet: bool = False) -> None:
        self.total, self.quiet, self.started = total, quiet, time.monotonic()
        self.done = 0
        self._bar: Any = None
        if not quiet and total > 0:
            self._bar = tqdm(
                total=total,
                desc=what,
                unit=f" {unit}",
                file=sys.stderr,
                dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                "[{elapsed} elapsed, {remaining} left, {rate_fmt}]{postfix}",
            )

    def note(self, line: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line)

    def advance(self, label: str = "") -> None:
        self.done += 1
        if self._bar is not None:
            if label:
                self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns as wide as their widest cell; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            (c.rjust(w) if num else c.ljust(w)) for c, w, num in zip(row, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
