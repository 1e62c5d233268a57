"""Progress as a pure function of the manifest and the evidence records.

A phase is *mastered* when, for each of its assignments (for a phase with tracks: for
every assignment of one track), some evidence record meets the phase's mastery rule:
every notebook scores at least ``min_notebook_score`` on every parameter set, the core
exercises score full marks on every parameter set, and the record covers at least
``min_parameter_sets`` parameter sets. Mastery once shown stays shown. A phase is
*unlocked* when every phase it requires is mastered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from ..course.curriculum import Assignment, Curriculum, MasteryRule, Phase
from ..grading.evidence import EvidenceRecord, NotebookResult, latest_record

PhaseState = Literal["mastered", "unlocked", "unlocked (planned)", "locked"]
"""A phase for one learner: mastered; open (its notebooks ready, or still planned); locked."""


@dataclass
class Gap:
    """One thing that stands between a learner and mastery of an assignment."""

    notebook: str
    exercise: str
    problem: str
    seeds: list[str] = field(default_factory=list)
    """The parameter sets (by seed) this gap shows up under."""
    core: bool = False


@dataclass
class AssignmentProgress:
    assignment: str
    mastered: bool
    records: int
    latest_score: float | None
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class PhaseProgress:
    phase: str
    title: str
    state: PhaseState
    missing_prerequisites: list[str]
    assignments: list[AssignmentProgress]
    track: str | None = None
    """For a phase with tracks: the track that counts (mastered, else the one with the most
    graded submissions); None until the learner has a graded submission in one."""
    tracks_taken: list[str] = field(default_factory=list)
    """For a phase with tracks: every track with a graded submission, in manifest order."""

    @property
    def mastered(self) -> bool:
        return self.state == "mastered"

    @property
    def locked(self) -> bool:
        return self.state == "locked"

    @property
    def unlocked(self) -> bool:
        """Open to the learner but not mastered (its notebooks ready, or still planned)."""
        return self.state in ("unlocked", "unlocked (planned)")

    @property
    def planned(self) -> bool:
        """Unlocked, but its notebooks are still to come."""
        return self.state == "unlocked (planned)"


def record_gaps(record: EvidenceRecord, assignment: Assignment, rule: MasteryRule) -> list[Gap]:
    """What this record lacks for mastery; empty when it proves mastery."""
    gaps: list[Gap] = []
    sets = len(record.record.parameter_sets)
    if sets < rule.min_parameter_sets:
        gaps.append(
            Gap("*", "*", f"graded under {sets} parameter set(s); mastery needs {rule.min_parameter_sets}")
        )
    notebooks = record.record.notebooks
    for spec in assignment.notebooks:
        nb = notebooks.get(spec.name)
        if nb is None or not nb.runs:
            gaps.append(Gap(spec.name, "*", "not graded in this submission"))
            continue
        if nb.status != "graded":
            gaps.append(Gap(spec.name, "*", nb.message or nb.status or "not graded"))
            continue
        gaps += _notebook_gaps(nb, spec.name, spec.core, rule)
    return gaps


def _notebook_gaps(nb: NotebookResult, name: str, core_ids: tuple[str, ...], rule: MasteryRule) -> list[Gap]:
    """A graded notebook's gaps: a seed below the threshold, default-seed-only passing, failed
    exercises (each with the seeds it failed under)."""
    gaps: list[Gap] = []
    failing: dict[str, list[str]] = {}
    short: list[str] = []
    fractions = nb.fractions()
    for run, fraction in zip(nb.runs, fractions, strict=True):
        if run.max_score and fraction < rule.min_notebook_score:
            short.append(f"{fraction:.0%} with seed {run.seed}")
        for grade_id, cell in run.cells.items():
            if not cell.full_marks:
                failing.setdefault(grade_id, []).append(str(run.seed))
    if short:
        gaps.append(
            Gap(
                name,
                "*",
                f"scored {', '.join(short)}; needs {rule.min_notebook_score:.0%} on every seed",
                seeds=[str(r.seed) for r in nb.runs],
            )
        )
    if len(fractions) > 1 and fractions[0] == 1.0 and min(fractions[1:]) < 1.0:
        gaps.append(
            Gap(
                name,
                "*",
                "passes with the default seed only: compute every answer from the data the "
                "notebook is given, never copy a result",
            )
        )
    for grade_id, seeds in failing.items():
        core = grade_id in core_ids and rule.core_full_marks
        label = "core exercise, needs full marks" if core else "exercise"
        gaps.append(Gap(name, grade_id, f"{label}: failed with seed {', '.join(seeds)}", seeds, core))
    return gaps


def _blocking(gaps: list[Gap], assignment: Assignment, rule: MasteryRule) -> bool:
    """Exercise-level gaps block mastery only for core exercises; the rest already counted."""
    for gap in gaps:
        if gap.exercise == "*":
            return True
        if rule.core_full_marks and gap.exercise in assignment.notebook(gap.notebook).core:
            return True
    return False


def assignment_progress(
    assignment: Assignment, rule: MasteryRule, records: list[EvidenceRecord]
) -> AssignmentProgress:
    """One assignment for one learner: mastered by any record; gaps and score from the latest."""
    mine = [r for r in records if r.assignment == assignment.id]
    latest = latest_record(mine, assignment.id)
    if latest is None:
        gap = Gap("*", "*", "no graded submission yet")
        return AssignmentProgress(assignment.id, False, 0, None, [gap])
    mastered = any(not _blocking(record_gaps(r, assignment, rule), assignment, rule) for r in mine)
    gaps = [] if mastered else record_gaps(latest, assignment, rule)
    score = latest.record.default_fraction()
    return AssignmentProgress(assignment.id, mastered, len(mine), score, gaps)


def phase_progress(curriculum: Curriculum, records: list[EvidenceRecord]) -> list[PhaseProgress]:
    """Every phase's state for one learner, from that learner's records alone."""
    result: list[PhaseProgress] = []
    mastered: set[str] = set()
    for phase in curriculum.phases:
        missing = [req for req in phase.requires if req not in mastered]
        progress = _one_phase(phase, records)
        taken = [
            t.id for t in phase.tracks if any(r.assignment in {a.id for a in t.assignments} for r in records)
        ]
        state: PhaseState
        if phase.planned:
            state = "locked" if missing else "unlocked (planned)"
        elif all(a.mastered for a in progress[0]) and progress[0]:
            state = "mastered" if not missing else "locked"
        else:
            state = "locked" if missing else "unlocked"
        if state == "mastered":
            mastered.add(phase.id)
        result.append(PhaseProgress(phase.id, phase.title, state, missing, progress[0], progress[1], taken))
    return result


def _one_phase(phase: Phase, records: list[EvidenceRecord]) -> tuple[list[AssignmentProgress], str | None]:
    """A phase's assignments that count, and for a phase with tracks, which track that is:
    a mastered one, else the one with the most graded submissions, else none yet (no
    assignments: the learner has still to choose)."""
    if not phase.tracks:
        return [assignment_progress(a, phase.mastery, records) for a in phase.assignments], None
    best: tuple[list[AssignmentProgress], str | None] = ([], None)
    for track in phase.tracks:
        items = [assignment_progress(a, phase.mastery, records) for a in track.assignments]
        if items and all(a.mastered for a in items):
            return items, track.id
        if sum(a.records for a in items) > sum(a.records for a in best[0]):
            best = (items, track.id)
    return best


def mastery_days(curriculum: Curriculum, records: list[EvidenceRecord]) -> dict[str, date]:
    """The day each mastered phase was first mastered: the grading that tipped it over.

    Replays the records in grading order (a handful per learner and assignment), so a phase
    mastered, then lost to a weaker resubmission, keeps the day it was first reached."""
    ordered = sorted(records, key=lambda r: r.graded_at)
    days: dict[str, date] = {}
    for count in range(1, len(ordered) + 1):
        for phase in phase_progress(curriculum, ordered[:count]):
            if phase.mastered and phase.phase not in days:
                days[phase.phase] = datetime.fromisoformat(ordered[count - 1].graded_at).date()
    return days


def guide_completed(phases: list[PhaseProgress]) -> bool:
    """Every phase mastered, the last included: the end of the path the guide lays out."""
    return bool(phases) and all(p.mastered for p in phases)


def progress_json(learner: str, phases: list[PhaseProgress]) -> dict[str, Any]:
    return {"learner": learner, "completed": guide_completed(phases), "phases": [asdict(p) for p in phases]}
