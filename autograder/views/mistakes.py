"""Which known mistakes a class makes most, per exercise: what an instructor should re-teach.

Counted from each learner's latest graded submission of each assignment: a learner counts
once for a misconception of an exercise when any failed check of that exercise, under any
parameter set, was named that misconception (``grading/misconceptions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape as esc

from ..grading.evidence import EvidenceRecord, latest_record


@dataclass(frozen=True)
class MistakeCount:
    assignment: str
    notebook: str
    exercise: str
    misconception: str
    advice: str
    learners: tuple[str, ...]


def class_mistakes(
    records_by_learner: dict[str, list[EvidenceRecord]], assignment: str | None = None
) -> list[MistakeCount]:
    """The misconceptions the class's latest submissions were told, most learners first."""
    found: dict[tuple[str, str, str, str], tuple[str, set[str]]] = {}
    for learner, records in records_by_learner.items():
        for assignment_id in sorted({r.assignment for r in records}):
            if assignment and assignment_id != assignment:
                continue
            latest = latest_record(records, assignment_id)
            for name, nb in latest.record.notebooks.items() if latest else ():
                for run in nb.runs:
                    for cell in run.cells.values():
                        for check in cell.checks:
                            if check.misconception:
                                key = (assignment_id, name, cell.grade_id, check.misconception)
                                found.setdefault(key, (check.advice, set()))[1].add(learner)
    counts = [MistakeCount(*key, advice, tuple(sorted(who))) for key, (advice, who) in found.items()]
    return sorted(
        counts, key=lambda m: (-len(m.learners), m.assignment, m.notebook, m.exercise, m.misconception)
    )


def mistakes_rows(mistakes: list[MistakeCount], limit: int = 20) -> list[list[str]]:
    return [
        [f"{m.assignment}/{m.notebook}", m.exercise, m.misconception, str(len(m.learners))]
        for m in mistakes[:limit]
    ]


def mistakes_section(mistakes: list[MistakeCount], learners: int) -> list[str]:
    """The class report's section: each named mistake, how many learners made it, what they were told."""
    if not mistakes:
        return []
    rows = "".join(
        f"<tr><td>{esc(m.assignment)}/{esc(m.notebook)}</td><td><code>{esc(m.exercise)}</code></td>"
        f'<td><b>{esc(m.misconception)}</b><br><span class="muted">{esc(m.advice)}</span></td>'
        f"<td>{len(m.learners)} of {learners}: {esc(', '.join(m.learners))}</td></tr>"
        for m in mistakes
    )
    return [
        "<h2>Known mistakes the class makes</h2>",
        "<p>Failed checks whose values were a known mistake's (the notebooks' misconceptions), in each "
        "learner's latest submission, most learners first: what to re-teach.</p>",
        "<table><tr><th>Notebook</th><th>Exercise</th><th>Misconception, and what learners were told</th>"
        f"<th>Learners</th></tr>{rows}</table>",
    ]
