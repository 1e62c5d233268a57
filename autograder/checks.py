"""The helper that graded test cells call: ``check(name, value, hint=...)``.

A check *reports* a value out of the kernel as a display output with its own MIME type,
so the value travels in the executed notebook, attached to the test cell that made it.
Our grader reads those outputs and compares them on its own side with the values the
solution notebook reported under the same parameters (``grade.py``, ``compare.py``).
Nothing here decides a grade under our grader, since a learner can patch anything in
their own kernel.

Compatibility path: when no trusted grader collects the values (stock ``nbgrader
autograde``, nbval, a learner's own JupyterLab in the course directory), the helper
looks for reference values for the default parameters in the course directory and
compares them here, raising ``CheckFailed`` with the hint on a mismatch. That path has
stock nbgrader's level of trust, and exists so that honest work scores the same either
way.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from .comparators import check_options, comparator_named, expected_for, spec_for
from .encode import encode
from .layout import is_course_root
from .protocol import COLLECT_ENV, MIME_TYPE, STATE_ENV

COMPAT_FILE = Path("references") / "compat.json"


class CheckFailed(AssertionError):
    """A check that did not match the reference (compatibility path only)."""


def check(
    name: str,
    value: Any,
    *,
    hint: str,
    atol: float = 1e-6,
    rtol: float = 1e-6,
    metric: str | None = None,
    threshold: float | None = None,
    labels: Any = None,
    exact_type: bool = False,
    kind: str | None = None,
    **options: Any,
) -> None:
    """Report ``value`` for the check ``name``.

    By default the grader requires the value to equal the reference within ``atol`` and
    ``rtol``, reading equivalent containers as the same (a list, a tuple, an array or a
    Series of numbers; an int for a float; see ``compare.py``). Pass ``exact_type=True``
    only where the exercise's prompt states the type (and a visible assert says so
    first): then a list is not an array, nor an int a float. With ``metric`` (one of
    ``comparators.metric_names()``, listed in docs/AUTHORING.md) and ``threshold``, the
    value is a vector of predictions scored against ``labels``; the labels the solution
    notebook reports are the ones used, never the learner's. ``kind`` and ``options``
    reach the other comparators ``comparators.py`` declares.
    """
    unknown = sorted(set(options) - check_options())
    if unknown:
        raise TypeError(f"check() got unexpected keyword arguments {unknown}; see docs/AUTHORING.md")
    given = {"atol": atol, "rtol": rtol, "metric": metric, "threshold": threshold, "labels": labels}
    comparator, spec = spec_for(name, {**given, "exact_type": exact_type, **options}, kind)
    if comparator.prepare is not None:
        value = comparator.prepare(value)  # a figure: its plots and labels as plain data
    payload: dict[str, Any] = {"name": name, "value": encode(value), "spec": spec, "hint": hint}
    if comparator.side != "value":
        payload[comparator.side] = encode({**given, **options}.get(comparator.side))
    outcome = None if os.environ.get(COLLECT_ENV) == "1" else _compare_with_local_reference(payload)
    if outcome is None:
        summary = f"• {name}: value recorded for grading"
    elif outcome.passed:
        summary = f"✔ {name}: matches the reference"
    else:
        summary = f"✘ {name}: {outcome.reason}"
    _display(payload, summary)
    if outcome is not None and not outcome.passed:
        raise CheckFailed(f"{name}: {outcome.reason}. Hint: {hint}")


def _display(payload: dict[str, Any], summary: str) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python, outside any kernel
        print(summary)
        return
    display({MIME_TYPE: payload, "text/plain": summary}, raw=True)  # type: ignore[no-untyped-call]


def course_root(start: Path | None = None) -> Path | None:
    """The course directory above ``start``: it holds ``jupyter_config.py`` and the manifest."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_course_root(folder):
            return folder
    return None


def _compat_references() -> dict[str, Any] | None:
    state = os.environ.get(STATE_ENV)
    if state:
        path = Path(state) / COMPAT_FILE
    else:
        root = course_root()
        if root is None:
            return None
        path = root / ".autograder" / COMPAT_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    checks = data.get("checks")
    return checks if isinstance(checks, dict) else None


def _kernel_parameters() -> dict[str, Any]:
    main = sys.modules.get("__main__")
    return dict(vars(main)) if main is not None else {}


def _compare_with_local_reference(payload: dict[str, Any]) -> Any:
    """The outcome against the course's default-parameter reference, or None if there is none.

    The spec (tolerances, ``exact_type``, metric) is the reference's, as under our grader,
    so that honest work scores the same either way.
    """
    references = _compat_references()
    reference = references.get(payload["name"]) if references else None
    if not isinstance(reference, dict) or not isinstance(reference.get("spec"), dict):
        return None
    judged = comparator_named(reference["spec"].get("kind"))
    if judged is not None and judged.judge is not None:
        return None  # an artifact is judged by running it, which only the grader does
    namespace = _kernel_parameters()
    parameters = reference.get("parameters", {})
    for key, expected in parameters.items() if isinstance(parameters, dict) else ():
        if namespace.get(key) != expected:
            return None  # not the default parameters: no reference here
    from .compare import Outcome, compare

    outcome = compare(payload["value"], expected_for(reference), reference["spec"])
    mistakes = reference.get("misconceptions")
    for mistake in mistakes if not outcome.passed and isinstance(mistakes, list) else []:
        if (
            isinstance(mistake, dict)
            and compare(payload["value"], mistake.get("value"), reference["spec"]).passed
        ):
            return Outcome(False, str(mistake.get("advice", "")).rstrip("."))  # a known mistake, named
    return outcome
