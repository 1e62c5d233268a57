"""The shipped misconceptions: at least three per notebook in phases 1 and 2, each aimed at real cells.

That each one is recognised by value on every seed is ``autograder check``'s job
(``course/validate_misconceptions.py``), which CI runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course.curriculum import load_curriculum
from autograder.course.misconceptions import load_misconceptions, misconceptions_path, target_problems
from autograder.run.notebooks import read_notebook

REPO = Path(__file__).resolve().parents[2]
CURRICULUM = load_curriculum(REPO)
NOTEBOOKS = [
    (assignment.id, spec.name)
    for phase in CURRICULUM.phases[:2]
    for assignment in phase.assignments
    for spec in assignment.notebooks
]


@pytest.mark.parametrize(("assignment", "notebook"), NOTEBOOKS)
def test_each_notebook_of_phases_1_and_2_names_three_mistakes_or_more(assignment, notebook):
    source_dir = CURRICULUM.source_dir(assignment)
    items = load_misconceptions(misconceptions_path(source_dir, notebook))
    assert len(items) >= 3, f"{assignment}/{notebook}: {len(items)} misconception(s); write at least three"
    assert target_problems(items, read_notebook(source_dir / f"{notebook}.ipynb")) == []
    for item in items:
        assert len(item.message) > 40 and item.see and item.origin, item.name
