"""Rubrics of the answers a person grades, read from the notebook's prompt cells.

nbgrader's formgrader shows a grader the whole submitted notebook, so a rubric written in
the locked prompt before a manually graded answer is in front of the grader (and of the
learner, who should know how a written answer is judged). ``autograder check`` holds every
such answer to that: a ``**Rubric ... (N points)**`` line whose N is the cell's points, and
criteria (``- 1 point: ...`` or ``- (1 point) ...``) whose points add up to N.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat import NotebookNode

_HEADING = re.compile(r"\*\*Rubric[^*\n]*?\((\d+(?:\.\d+)?) points?\)[^*\n]*\*\*", re.IGNORECASE)
_CRITERION = re.compile(r"^\s*[-*]\s+\(?(\d+(?:\.\d+)?) points?\b", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Rubric:
    """The rubric shown with one manually graded answer."""

    grade_id: str
    points: float
    stated_points: float
    criteria: tuple[float, ...]


def _nbgrader(cell: NotebookNode) -> dict[str, object]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def is_manual_answer(cell: NotebookNode) -> bool:
    """An answer cell graded by a person: nbgrader's "manually graded answer" (graded, learner-written)."""
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def _prompt_text(nb: NotebookNode, index: int) -> str:
    """The markdown between the previous exercise cell and the answer at ``index``."""
    parts: list[str] = []
    for cell in reversed(nb.cells[:index]):
        meta = _nbgrader(cell)
        if meta.get("grade") or meta.get("solution"):
            break
        if cell.cell_type == "markdown":
            parts.insert(0, cell.source)
    return "\n\n".join(parts)


def rubric_problems(nb: NotebookNode) -> list[tuple[str, str]]:
    """(grade_id, what is wrong) for each manually graded answer whose rubric is missing or off."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if not is_manual_answer(cell):
            continue
        meta = _nbgrader(cell)
        grade_id = str(meta.get("grade_id"))
        points = float(str(meta.get("points", 0)))
        prompt = _prompt_text(nb, index)
        heading = next(reversed(list(_HEADING.finditer(prompt))), None)  # the one nearest the answer
        if heading is None:
            unit = "point" if points == 1 else "points"
            problems.append(
                (
                    grade_id,
                    "a person grades this answer, but its prompt shows no rubric: add a line "
                    f"'**Rubric ({points:g} {unit})**' and criteria '- (1 point) ...' to the "
                    "prompt cell, so that the grader sees it in formgrader (see docs/AUTHORING.md)",
                )
            )
            continue
        rubric = Rubric(
            grade_id,
            points,
            float(heading.group(1)),
            tuple(float(p) for p in _CRITERION.findall(prompt[heading.end() :])),
        )
        if rubric.stated_points != points:
            problems.append(
                (grade_id, f"the rubric says {rubric.stated_points:g} points; the cell carries {points:g}")
            )
        elif sum(rubric.criteria) != points:
            problems.append(
                (
                    grade_id,
                    f"the rubric's criteria add up to {sum(rubric.criteria):g} points, "
                    f"not the {points:g} the cell carries",
                )
            )
    return problems
