"""Grades for a learning-management system: a CSV in Canvas's Gradebook import layout.

Scores come from nbgrader's gradebook, the system of record, so they include what a
grader entered by hand in formgrader: a submission's score is nbgrader's own sum of its
grades (a manual score where there is one, else the autograded one, plus extra credit),
less any late penalty, exactly the ``score`` column of ``nbgrader export``. A learner
with no submission gets an empty cell, which Canvas leaves alone, never a 0 it would
record as a grade.

Canvas's layout (Grades > Import): a header ``Student, ID, SIS User ID, SIS Login ID,
Section`` then one column per assignment, named ``Title (id)``; a second row
``Points Possible`` with each assignment's maximum; then one row per student. We fill
``Student`` and ``SIS Login ID`` with the learner name and leave Canvas's own ids blank.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from nbgrader.api import MissingEntry

from ..course.config import Settings
from ..course.curriculum import Curriculum, UnknownName
from ..grading.evidence import known_learners
from ..grading.gradebook import open_gradebook

CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
LAYOUTS = ("canvas",)


@dataclass(frozen=True)
class GradeTable:
    """Assignments (id, title, max points), and learner -> assignment id -> score or None."""

    assignments: list[tuple[str, str, float]]
    scores: dict[str, dict[str, float | None]]


def assignment_title(curriculum: Curriculum, assignment_id: str) -> str:
    """The phase title (and track) the manifest gives an assignment; its id if unlisted."""
    try:
        assignment = curriculum.assignment(assignment_id)
    except UnknownName:
        return assignment_id
    phase = curriculum.phase(assignment.phase_id)
    track = phase.track(assignment.track)
    return f"{phase.title}: {track.title}" if track else phase.title


def grade_table(settings: Settings, curriculum: Curriculum) -> GradeTable:
    """Every gradebook assignment (in manifest order) and every learner's total in each."""
    order = {a.id: i for i, a in enumerate(curriculum.assignments())}
    with open_gradebook(settings) as gb:
        assignments = sorted(gb.assignments, key=lambda a: (order.get(a.name, len(order)), a.name))
        learners = sorted({s.id for s in gb.students} | set(known_learners(settings)))
        columns = [(a.name, assignment_title(curriculum, a.name), float(a.max_score)) for a in assignments]
        scores: dict[str, dict[str, float | None]] = {}
        for learner in learners:
            row: dict[str, float | None] = {}
            for name, _, _ in columns:
                try:
                    submission = gb.find_submission(name, learner)
                except MissingEntry:
                    row[name] = None
                    continue
                penalty = submission.late_submission_penalty or 0.0
                row[name] = max(0.0, float(submission.score) - float(penalty))
            scores[learner] = row
    return GradeTable(columns, scores)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


def canvas_csv(table: GradeTable) -> str:
    """The table in Canvas's Gradebook import layout."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as Canvas's own export
    writer.writerow([*CANVAS_FIXED, *(f"{title} ({name})" for name, title, _ in table.assignments)])
    writer.writerow(["Points Possible", "", "", "", "", *(_number(m) for _, _, m in table.assignments)])
    for learner, row in table.scores.items():
        cells = [_number(row[name]) for name, _, _ in table.assignments]
        writer.writerow([learner, "", "", learner, "", *cells])
    return out.getvalue()


def export_grades(settings: Settings, curriculum: Curriculum, layout: str = "canvas") -> str:
    """The gradebook's totals as CSV text in ``layout``'s import format."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown LMS layout {layout!r}; this version writes: {', '.join(LAYOUTS)}")
    return canvas_csv(grade_table(settings, curriculum))
