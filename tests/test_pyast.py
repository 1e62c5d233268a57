"""The grader parses notebooks on several threads; a parse must never fail for that."""

from __future__ import annotations

import threading
import time

from autograder.pyast import parse_python

SOURCE = "\n".join(
    f"import m{i}\nx = [{'[' * 20}1{']' * 20}]\n"
    f"def f{i}(a):\n    return {{k: [w for w in v] for k, v in a.items()}}"
    for i in range(200)
)


class _SlowFinaliser:
    """Garbage whose collection lets another thread run in the middle of a parse."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        time.sleep(0.0001)


def test_parses_on_many_threads_with_finalisers_never_raise() -> None:
    # Without the lock, CPython 3.11.7 raised "AST constructor recursion depth mismatch"
    # here on every run (and in CI's demo, on a learner's submission).
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(40):
            for _ in range(50):
                _SlowFinaliser()
            try:
                parse_python(SOURCE)
            except SystemError as error:
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
