"""Rubrics of manually graded answers: shown in the prompt, with points that add up."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.rubrics import is_manual_answer, rubric_problems
from autograder.run.notebooks import read_notebook

ROOT = Path(__file__).resolve().parents[2]


def notebook(prompt: str, points: float = 2, between: bool = False) -> nbformat.NotebookNode:
    answer = new_markdown_cell("### BEGIN SOLUTION\nan answer\n### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "essay", "points": points}
    earlier = new_code_cell("x = 1")
    earlier.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "x-tests", "points": 1}
    cells = [new_markdown_cell("**Rubric (9 points)** of the previous exercise: not this one's"), earlier]
    cells += [new_markdown_cell(prompt)]
    if between:
        cells.append(new_code_cell("print('your numbers')"))
    return new_notebook(cells=[*cells, answer])


GOOD = "Essay.\n\n**Rubric (2 points)**\n- (1 point) one thing.\n- (1 point) another.\n- Style: no marks."


def test_a_rubric_in_the_prompt_whose_criteria_add_up_passes():
    assert rubric_problems(notebook(GOOD)) == []
    assert rubric_problems(notebook(GOOD, between=True)) == []  # a code cell may print the learner's numbers
    older = "**Rubric for graders (2 points).**\n- 1 point: a.\n- 0.5 points, b.\n- 0.5 point: c."
    assert rubric_problems(notebook(older)) == []


@pytest.mark.parametrize(
    ("prompt", "points", "said"),
    [
        ("Write an essay.", 2, "its prompt shows no rubric"),
        ("**Rubric (3 points)**\n- (3 points) all.", 2, "the rubric says 3 points; the cell carries 2"),
        ("**Rubric (2 points)**\n- (1 point) a.", 2, "criteria add up to 1 points, not the 2"),
        ("**Rubric (1 point)**\n- (1 point) a.\n- (1 point) b.", 1, "add up to 2 points, not the 1"),
    ],
)
def test_a_missing_or_inconsistent_rubric_is_named(prompt, points, said):
    ((grade_id, problem),) = rubric_problems(notebook(prompt, points))
    assert grade_id == "essay" and said in problem


def test_the_rubric_of_another_exercise_does_not_count():
    ((_, problem),) = rubric_problems(notebook("Write an essay, no rubric here."))
    assert "shows no rubric" in problem


def test_every_manually_graded_answer_of_the_course_shows_its_rubric():
    found = 0
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = read_notebook(path)
        found += sum(is_manual_answer(c) for c in nb.cells)
        assert rubric_problems(nb) == [], path
    assert found >= 6
