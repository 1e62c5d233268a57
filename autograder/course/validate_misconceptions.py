"""``autograder check`` on a notebook's misconceptions: each is a mistake the grader can name.

For every misconception and every parameter set ``check`` runs the solution under, the
misconception is run as the grader runs it (``grading/misconceptions.py``), and must
report a value for its exercise (a variant that raises before its checks cannot be
recognised) and fail at least one check of it (else the checks do not see the mistake,
and a learner who makes it gets full marks). Then it is submitted as a learner would type
it, restored by nbgrader and graded with the misconceptions at hand, and the grader must
name it (two misconceptions of one exercise with the same values cannot be told apart).
Both runs stop after the exercise's test cell: nothing later is looked at.
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
from ..grading.artifacts import ArtifactJudge
from ..grading.evidence import CellResult
from ..grading.grade import score_run
from ..grading.gradebook import sanitize
from ..grading.misconceptions import Explainer, MistakeValues, get_mistake
from ..grading.reference import Reference
from ..run.execute import run_notebook, scratch_copy
from .alternatives import Alternative, apply_alternative, solution_answers
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
    reference: Reference, item: Misconception, values: MistakeValues, cell: CellResult | str
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
    if isinstance(cell, str):
        return cell
    named = sorted({c.misconception for c in cell.checks if not c.passed and c.misconception})
    if item.name not in named:
        other = ", ".join(f"misconception {n}" for n in named) or "nothing"
        return (
            f"submitted as a learner's notebook under seed {seed}, its failure was named {other}: two "
            "misconceptions of one exercise that give the same values cannot be told apart; merge them or "
            "make them differ"
        )
    return None


def _submitted(
    scratch: Settings, source: NotebookNode, release: NotebookNode, item: Misconception, reference: Reference
) -> NotebookNode | str:
    """The misconception typed into the release, restored by nbgrader's chain as a learner's notebook
    is, up to its exercise's test cell (what follows is not looked at); or why nbgrader refused it."""
    filled = apply_alternative(
        release,
        solution_answers(source),
        Alternative(item.name, item.message, item.answers, item.extra_cells),
    )
    try:
        sanitized, _ = sanitize(scratch, filled, reference.assignment, reference.notebook, f"mis-{item.name}")
    except Exception as exc:  # nbgrader refuses what it cannot restore, as for a learner
        return f"nbgrader cannot restore it as a learner's notebook: {exc}"
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in sanitized.cells]
    if item.exercise in ids:
        sanitized.cells = sanitized.cells[: ids.index(item.exercise) + 1]
    return sanitized


def _graded_as_learner(
    scratch: Settings,
    submitted: NotebookNode | str,
    item: Misconception,
    reference: Reference,
    items: list[Misconception],
    warm: tuple[str, ...] | None,
) -> CellResult | str:
    """The exercise's cell as the grader scores the submitted misconception, naming what it matches."""
    if isinstance(submitted, str):
        return submitted
    release_dir = layout.release_dir(scratch.root, reference.assignment)
    with scratch_copy(release_dir) as cwd:
        run = run_notebook(
            submitted, reference.parameters, cwd, limits=scratch.limits, sandbox=None, warm=warm
        )
    judge = ArtifactJudge.for_course(scratch.root, reference.assignment, None)
    result = score_run(reference, run, judge, Explainer(scratch, reference, items))
    return result.cells.get(item.exercise, f"its exercise {item.exercise} was not scored")


def check_misconceptions(
    scratch: Settings,
    source: NotebookNode,
    release: NotebookNode,
    references: list[Reference],
    *,
    warm: tuple[str, ...] | None,
    report: CheckReport,
    log: Callable[[str], None] = print,
) -> None:
    """Every misconception of the notebook, submitted as a learner would, named under every seed.

    ``scratch`` holds the gradebook that knows the release (as for ``check_alternatives``).
    A notebook may have no misconceptions.
    """
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
    submitted = {item.name: _submitted(scratch, source, release, item, references[0]) for item in items}
    jobs = [(item, reference) for item in items for reference in references]

    def run(job: tuple[Misconception, Reference]) -> tuple[MistakeValues, CellResult | str]:
        item, reference = job
        values = get_mistake(scratch, assignment_id, notebook, item, reference.parameters)
        return values, _graded_as_learner(scratch, submitted[item.name], item, reference, items, warm)

    with ThreadPoolExecutor(max_workers=max(1, min(scratch.parallel_runs, len(jobs)))) as pool:
        results = list(pool.map(run, jobs))
    for (item, reference), (values, cell) in zip(jobs, results, strict=True):
        found = _problem(reference, item, values, cell)
        if found:
            report.fail(where, f"misconception {item.name}: {found}")
    seconds = time.monotonic() - started
    report.timings[f"{where} ({len(items)} x {len(references)} seeds)"] = seconds
    log(f"ran {len(items)} misconception(s) of {notebook}, {len(references)} seeds: {seconds:.1f} s")
