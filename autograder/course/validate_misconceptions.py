"""``autograder check`` on a notebook's misconceptions: each is a mistake the grader can name.

For every misconception and every parameter set ``check`` runs the solution under, the
misconception is run as the grader runs it (``grading/misconceptions.py``), and must:
report a value for its exercise (a variant that raises before its checks cannot be
recognised); fail at least one check of its exercise (else the checks do not see the
mistake, and a learner who makes it gets full marks); and be the one the grader names for
that value (two misconceptions of one exercise with the same values cannot be told apart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from nbformat import NotebookNode

from .. import layout
from ..comparators import expected_for
from ..compare import compare
from ..grading.misconceptions import Explainer, MistakeValues, get_mistake
from ..grading.reference import Reference
from .config import Settings
from .misconceptions import (
    Misconception,
    MisconceptionsError,
    load_misconceptions,
    misconceptions_path,
    target_problems,
)

if TYPE_CHECKING:
    from .validate import CheckReport


def _wrong_checks(reference: Reference, item: Misconception, values: MistakeValues) -> tuple[list[str], bool]:
    """(the exercise's checks the misconception fails, whether it reported any of them)."""
    checks = reference.cells.get(item.exercise, {}).get("checks", {})
    reported = [name for name in checks if name in values.checks]
    wrong = [
        name
        for name in reported
        if not compare(values.checks[name]["value"], expected_for(checks[name]), checks[name]["spec"]).passed
    ]
    return wrong, bool(reported)


def _problem(
    reference: Reference,
    item: Misconception,
    values: MistakeValues,
    items: list[Misconception],
    settings: Settings,
) -> str | None:
    seed = reference.parameters.get("seed")
    wrong, reported = _wrong_checks(reference, item, values)
    if not reported:
        raised = values.errors.get(item.exercise, "nothing")
        return (
            f"under seed {seed} its exercise {item.exercise} reported no value (it raised {raised}); a "
            "misconception must get past the visible asserts and report a wrong value to be recognised"
        )
    if not wrong:
        return (
            f"under seed {seed} every check of {item.exercise} passes, so the checks do not see this "
            "mistake; make the variant the mistake the checks catch, or add a check that catches it"
        )
    named = Explainer(settings, reference, items)(item.exercise, wrong[0], values.checks[wrong[0]]["value"])
    if named is None or named.name != item.name:
        other = f"misconception {named.name}" if named else "none"
        return (
            f"under seed {seed} its value of {wrong[0]} is named {other}: two misconceptions of one exercise "
            "that give the same values cannot be told apart; merge them or make them differ"
        )
    return None


def check_misconceptions(
    scratch: Settings,
    source: NotebookNode,
    references: list[Reference],
    *,
    report: CheckReport,
    log: Callable[[str], None] = print,
) -> None:
    """Every misconception of the notebook recognised under every seed (a notebook may have none)."""
    root, assignment_id, notebook = scratch.root, references[0].assignment, references[0].notebook
    path = misconceptions_path(layout.source_dir(root, assignment_id), notebook)
    where = str(path.relative_to(root))
    try:
        items = load_misconceptions(path)
    except MisconceptionsError as exc:
        report.problems.append(str(exc))
        return
    problems = target_problems(items, source)
    for problem in problems:
        report.fail(where, f"misconception {problem}")
    if not items or problems:
        return
    started = time.monotonic()
    jobs = [(item, reference) for item in items for reference in references]

    def run(job: tuple[Misconception, Reference]) -> MistakeValues:
        item, reference = job
        return get_mistake(scratch, assignment_id, notebook, item, reference.parameters)

    with ThreadPoolExecutor(max_workers=max(1, min(scratch.parallel_runs, len(jobs)))) as pool:
        results = list(pool.map(run, jobs))
    for (item, reference), values in zip(jobs, results, strict=True):
        found = _problem(reference, item, values, items, scratch)
        if found:
            report.fail(where, f"misconception {item.name}: {found}")
    seconds = time.monotonic() - started
    report.timings[f"{where} ({len(items)} x {len(references)} seeds)"] = seconds
    log(f"ran {len(items)} misconception(s) of {notebook}, {len(references)} seeds: {seconds:.1f} s")
