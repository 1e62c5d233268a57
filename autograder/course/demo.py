"""The demo course: three simulated learners work through phase 1, are graded, and
whoever has mastered it goes on to the next ready phase, and so on (the others are told
why they may not).

It runs in a throw-away state folder with its own SQLite gradebook, so it never touches
a real class. The learners' notebooks are made from the release the way a learner would
fill it in:

- ``alice`` writes a correct solution in every exercise, and the written answers too (her
  model cards are on her portfolio; a person would grade them in formgrader);
- ``bob`` leaves some exercises unfinished and gets one wrong;
- ``carol`` hard-codes her answers to the default seed's data: she pins ``seed = 0`` in
  her first answer cell, so every answer she reports is the default seed's whatever data
  the grader hands her. That passes the default seed and fails every other one.

At the end alice does her first spaced review, three days on: the ML drills she passed
in phase 5 are her review cards, worked again under a fresh seed and graded.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..grading.evidence import iter_records
from ..grading.grade import grade_assignment
from ..grading.gradebook import ensure_assignment
from ..run.progress import Progress
from ..views.feedback import write_feedback
from ..views.mastery import PhaseProgress, phase_progress
from .config import Settings
from .curriculum import Curriculum
from .plan import PlanSettings, save_settings
from .workspace import WorkspaceError, refresh_progress_page, start, submit, workspace_dir

DEMO_ASSIGNMENT = "phase1-foundations"
LEARNERS = ("alice", "bob", "carol")
PLANS = {"alice": 20.0, "bob": 6.0}
"""The learners who made a plan, with their hours a week; their pages and the report show it."""


def _solution_code(source: str) -> str:
    """The solution as a learner would type it: the markers gone, hidden tests not there."""
    lines = [
        line
        for line in source.splitlines()
        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
    ]
    return "\n".join(lines)


def _written_answer(source: str) -> str:
    """A model written answer as a learner would write it: no markers, no notes for graders."""
    answer = source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION", 1)[0]
    return answer.split("**Notes for graders", 1)[0].strip()


def _solution_cells(source_nb: NotebookNode, written: bool = False) -> dict[str, str]:
    """Answer cell grade_id -> what the learner types: the solution's code, and with ``written``
    its model written answers (graded by a person, so they change no score here)."""
    cells = {}
    for cell in source_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cells[meta["grade_id"]] = _solution_code(cell.source)
        elif meta.get("solution") and written:
            cells[meta["grade_id"]] = _written_answer(cell.source)
    return cells


def fill_in(release: NotebookNode, source: NotebookNode, learner: str) -> NotebookNode:
    """A learner's copy of ``release`` with their answers typed into the answer cells."""
    answers = _solution_cells(source, written=learner == "alice")
    nb: NotebookNode = nbformat.from_dict(release)  # type: ignore[no-untyped-call]
    answer_ids = [
        gid for gid in (c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells) if gid in answers
    ]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in answers:
            continue
        index = answer_ids.index(grade_id)
        code = answers[grade_id]
        if learner == "bob":
            if index % 3 == 1:
                continue  # left unfinished: the release stub stays
            if index == 2:
                code = re.sub(r"\breturn\b", "return 1 + 0 *", code, count=1)  # an off-by-one slip
        if learner == "carol" and index == 0:
            code = "seed = 0  # my answers are the ones I computed for the default data\n" + code
        cell.source = code
    return nb


def _work_and_submit(settings: Settings, curriculum: Curriculum, assignment_id: str, learner: str) -> None:
    """The learner starts the assignment, types their answers in, and submits."""
    assignment = curriculum.assignment(assignment_id)
    folder = start(settings, curriculum, assignment.id, learner)
    for spec in assignment.notebooks:
        path = folder / spec.file
        source_path = curriculum.source_dir(assignment.id) / spec.file
        source = nbformat.read(str(source_path), as_version=4)  # type: ignore[no-untyped-call]
        release = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
        nbformat.write(fill_in(release, source, learner), str(path))  # type: ignore[no-untyped-call]
    submit(settings, curriculum, assignment.id, learner)


def run_demo(
    settings: Settings,
    curriculum: Curriculum,
    *,
    log: Callable[[str], None] = print,
    rng_seed: int = 2026,
    quiet: bool = False,
) -> dict[str, list[PhaseProgress]]:
    """Play the demo course and return each learner's progress.

    Phase 1 for all three learners; then, phase by phase in the manifest's order, each
    learner tries to start every ready phase's assignments, and whoever they admit works
    through them too. A phase with tracks is taken on its first track.
    """
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
    settings.state_dir.mkdir(parents=True)
    rng = random.Random(rng_seed)
    log(f"demo course in {settings.state_dir} (gradebook {settings.db_url})")
    ensure_assignment(settings, DEMO_ASSIGNMENT)
    for learner, hours in PLANS.items():  # what `autograder plan --hours-per-week H` saves
        save_settings(settings.state_dir, learner, PlanSettings(hours, date.today(), None, "a first ML role"))
    for learner in LEARNERS:
        _work_and_submit(settings, curriculum, DEMO_ASSIGNMENT, learner)
        log(f"{learner} worked in {workspace_dir(settings, learner, DEMO_ASSIGNMENT)} and submitted")
    _grade_with_progress(settings, curriculum, DEMO_ASSIGNMENT, LEARNERS, rng, log, quiet)
    for assignment_id in later_assignments(curriculum):
        admitted = _admitted(settings, curriculum, assignment_id, log)
        if admitted:
            _grade_with_progress(settings, curriculum, assignment_id, admitted, rng, log, quiet)
    _first_review(settings, curriculum, "alice", rng, log)
    _portfolio(settings, curriculum, "alice", log)
    progress = {}
    for learner in LEARNERS:
        graded = {r.assignment for r in iter_records(settings, learner)}
        for assignment in curriculum.assignments():
            if assignment.id in graded:
                write_feedback(settings, curriculum, assignment.id, learner)
        refresh_progress_page(settings, curriculum, learner)  # as the CLI does after each grading
        progress[learner] = phase_progress(curriculum, list(iter_records(settings, learner)))
    return progress


REVIEW_AFTER = timedelta(days=3)
"""When the demo's learner does her first review: her first cards come due two days after a pass."""


def _first_review(
    settings: Settings, curriculum: Curriculum, learner: str, rng: random.Random, log: Callable[[str], None]
) -> None:
    """The learner builds the review due three days on, works it with correct answers, and hands it in."""
    from ..grading.review import build_review, grade_review

    when = datetime.now(UTC).replace(microsecond=0) + REVIEW_AFTER
    built = build_review(settings, curriculum, learner, now=when, rng=rng)
    if built is None:
        log(f"{learner} has no review cards due on {when.date().isoformat()}")
        return
    for path in built.paths:
        assignment, notebook = path.parent.name, path.stem
        source_path = curriculum.source_dir(assignment) / f"{notebook}.ipynb"
        source = nbformat.read(str(source_path), as_version=4)  # type: ignore[no-untyped-call]
        review = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
        nbformat.write(fill_in(review, source, learner), str(path))  # type: ignore[no-untyped-call]
    outcomes = grade_review(settings, curriculum, learner, now=when, rng=rng)
    recalled = sum(o.review.passed for o in outcomes)
    log(
        f"{learner} reviewed {len(outcomes)} card(s) on {when.date().isoformat()} "
        f"(seed {built.session.seed} and a hidden one): {recalled} recalled"
    )


PORTFOLIO_NOTEBOOKS = ["phase2-ml-dl/04-competition", "phase3-mlops/08-capstone-pipeline"]
"""The executed notebooks the demo's learner chooses to show on her portfolio."""


def _portfolio(settings: Settings, curriculum: Curriculum, learner: str, log: Callable[[str], None]) -> None:
    """The learner's portfolio page beside her progress page, with two notebooks of her choice."""
    from ..views.portfolio import write_portfolio

    path = settings.workspaces_dir / learner / "portfolio.html"
    write_portfolio(settings, curriculum, learner, path, PORTFOLIO_NOTEBOOKS)
    log(f"{learner}'s portfolio: {path}")


def later_assignments(curriculum: Curriculum) -> list[str]:
    """The assignments after phase 1's that the demo plays: ready phases, first track, in order."""
    found = []
    for phase in curriculum.phases[1:]:
        if phase.planned:
            continue
        assignments = phase.tracks[0].assignments if phase.tracks else phase.assignments
        found += [a.id for a in assignments if a.notebooks]
    return found


def _admitted(
    settings: Settings, curriculum: Curriculum, assignment_id: str, log: Callable[[str], None]
) -> list[str]:
    """The learners whose progress lets them start ``assignment_id``; each works and submits."""
    admitted = []
    for learner in LEARNERS:
        try:
            start(settings, curriculum, assignment_id, learner)
        except WorkspaceError as exc:
            log(f"{learner} tries {assignment_id}: {exc}")
            continue
        admitted.append(learner)
        log(f"{learner} starts {assignment_id}")
        _work_and_submit(settings, curriculum, assignment_id, learner)
    return admitted


def _grade_with_progress(
    settings: Settings,
    curriculum: Curriculum,
    assignment: str,
    learners: Sequence[str],
    rng: random.Random,
    log: Callable[[str], None],
    quiet: bool,
) -> None:
    with Progress(len(learners), f"grading {assignment}", unit="submission", quiet=quiet) as progress:

        def on_result(result: object) -> None:
            if not quiet:
                progress.note(_result_line(result))
            progress.advance(getattr(result, "learner", ""))

        grade_assignment(settings, curriculum, assignment, learners=learners, rng=rng, on_result=on_result)
    if quiet:
        return
    log(f"graded {len(learners)} submission(s) of {assignment} in {progress.seconds:.1f} s")


def _result_line(result: object) -> str:
    from ..grading.grade import SubmissionResult

    if not isinstance(result, SubmissionResult):
        return f"error: {result}"
    got, total = result.score(0)
    parts = [f"graded {result.learner}: {got:g}/{total:g} with the default seed"]
    for i in range(1, max(len(nb.runs) for nb in result.notebooks)):
        g, t = result.score(i)
        seed = result.notebooks[0].runs[i].parameters.get("seed")
        parts.append(f"{g:g}/{t:g} with seed {seed}")
    kept, total = result.recorded_score()
    return ", ".join(parts) + f"; the gradebook keeps {kept:g}/{total:g} (points that pass under every seed)"


def demo_state_dir(root: Path) -> Path:
    return root / ".autograder-demo"
