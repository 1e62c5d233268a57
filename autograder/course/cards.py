"""Which exercises a learner should see again: review cards, read from the evidence.

A card is one autograded test cell of one notebook. It is made when the evidence shows
the learner struggled and then succeeded: a record where the cell lost points under
some parameter set, then a later record where it earned full marks under every one.
A notebook the manifest marks ``concept_cards`` (phase 5's ML drills) makes a card of
every exercise once it is passed, struggled over or not: those are concepts worth
keeping fresh for interviews. Cards are a pure function of the records, so they are
never stored; only their schedule is (``schedule.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..grading.evidence import EvidenceRecord, NotebookResult
from .curriculum import Curriculum

CardKind = Literal["relearned", "concept"]


@dataclass(frozen=True)
class ReviewCard:
    """One exercise to review: where it comes from, why, and since when."""

    assignment: str
    notebook: str
    exercise: str
    """The test cell's grade_id."""
    kind: CardKind
    since: datetime
    """When the evidence first showed it passed (after the failure, for a relearned card)."""

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.notebook}/{self.exercise}"


def passed_everywhere(nb: NotebookResult, exercise: str) -> bool | None:
    """Full marks under every parameter set (None: the cell was not run in this record)."""
    cells = [run.cells[exercise] for run in nb.runs if exercise in run.cells]
    if not cells or nb.status != "graded":
        return None
    return all(cell.full_marks for cell in cells)


def _concept_notebooks(curriculum: Curriculum) -> set[tuple[str, str]]:
    return {
        (assignment.id, spec.name)
        for assignment in curriculum.assignments()
        for spec in assignment.notebooks
        if spec.concept_cards
    }


def cards_from_evidence(curriculum: Curriculum, records: Iterable[EvidenceRecord]) -> list[ReviewCard]:
    """The learner's cards, oldest first, from all their evidence records."""
    concepts = _concept_notebooks(curriculum)
    struggled: set[str] = set()
    cards: dict[str, ReviewCard] = {}
    for record in sorted(records, key=lambda r: (r.graded_at, r.path.name)):
        when = datetime.fromisoformat(record.graded_at)
        for name, nb in record.record.notebooks.items():
            exercises = {gid for run in nb.runs for gid in run.cells}
            for exercise in sorted(exercises):
                key = f"{record.assignment}/{name}/{exercise}"
                passed = passed_everywhere(nb, exercise)
                if passed is None or key in cards:
                    continue
                if not passed:
                    struggled.add(key)
                elif key in struggled:
                    cards[key] = ReviewCard(record.assignment, name, exercise, "relearned", when)
                elif (record.assignment, name) in concepts:
                    cards[key] = ReviewCard(record.assignment, name, exercise, "concept", when)
    return sorted(cards.values(), key=lambda c: (c.since, c.key))
