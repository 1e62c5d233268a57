"""Review notebooks: the cards due today, built from the learner's own work, graded as any notebook.

A review is built per source notebook that has cards due: the learner's latest
submission of it, with the due exercises' answer cells put back as released (and the
learner's own extra code cells around them removed), under a fresh seed shown in an
injected-parameters cell, so the exercise is worked again on new data while the rest
of the notebook runs as the learner last left it. It is written to
``workspaces/<learner>/review/<assignment>/`` beside the release's data files.

Grading a review is grading: nbgrader restores the locked and test cells, the run is in
the sandbox under the review's seed and one more the learner never sees, and each due
exercise is compared outside the kernel with the solution run under the same seeds.
A card is recalled when its cell earns full marks under both; the schedule moves
(``course/schedule.py``). Reviews never write evidence: mastery stays what submissions
proved, and a review can only help the learner, never cost them a phase.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..course.cards import cards_from_evidence
from ..course.config import Settings
from ..course.curriculum import Curriculum
from ..course.intake import copy_new_file, max_notebook_bytes, read_learner_file, read_learner_notebook_bytes
from ..course.schedule import (
    Deck,
    Review,
    ReviewSession,
    ScheduledCard,
    add_cards,
    end_of_day,
    load_deck,
    record_review,
    save_deck,
)
from ..course.workspace import check_learner_name, refuse_linked_workspace
from ..errors import AutograderError
from ..run.notebooks import read_notebook
from ..run.runners import Runner
from .artifacts import ArtifactJudge
from .evidence import RunResult, iter_records
from .grade import draw_seeds, make_runner, notebook_defaults, read_submitted, score_run
from .misconceptions import explainer_for
from .reference import get_reference, source_notebook
from .storage import write_bytes_atomic

DAILY_CARDS = 8
"""At most this many cards in one day's review; the rest wait for the next (oldest due first)."""


class ReviewError(AutograderError, ValueError):
    """A review that cannot be built or graded; the message says what to do."""


@dataclass
class ReviewOutcome:
    """One card's review: recalled or not, what the checks said, and when it is next due."""

    card: ScheduledCard
    review: Review


@dataclass
class Built:
    session: ReviewSession
    due: list[ScheduledCard]
    waiting: int
    """Cards due today beyond ``DAILY_CARDS``: they come in the next review."""
    paths: list[Path] = field(default_factory=list)


def review_dir(settings: Settings, learner: str) -> Path:
    return settings.workspaces_dir / check_learner_name(learner) / "review"


def refresh_deck(settings: Settings, curriculum: Curriculum, learner: str) -> Deck:
    """The learner's deck with every card their evidence now makes (new ones scheduled)."""
    deck = load_deck(settings.state_dir, learner)
    if add_cards(deck, cards_from_evidence(curriculum, iter_records(settings, learner))):
        save_deck(settings.state_dir, deck)
    return deck


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _is_test(cell: NotebookNode) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def answer_region(cells: list[NotebookNode], exercise: str) -> range:
    """The cells a test cell's exercise is answered in: the answer cells before it and the
    learner's cells among them, back to the previous test cell. Empty if none."""
    index = next((i for i, c in enumerate(cells) if _nbgrader(c).get("grade_id") == exercise), None)
    if index is None:
        return range(0)
    answers = [i for i in range(index) if _is_answer(cells[i])]
    if not answers:
        return range(0)
    start = end = answers[-1]
    while start > 0 and not _is_test(cells[start - 1]):
        start -= 1
    while end + 1 < index and not _is_test(cells[end + 1]):
        end += 1
    return range(start, end + 1)


def clear_exercises(nb: NotebookNode, release: NotebookNode, exercises: Iterable[str]) -> NotebookNode:
    """``nb`` with each exercise's answer cells as released and the learner's code cells there removed."""
    released = {_nbgrader(c).get("grade_id"): c for c in release.cells if _is_answer(c)}
    drop: set[int] = set()
    for exercise in exercises:
        for i in answer_region(nb.cells, exercise):
            cell = nb.cells[i]
            grade_id = _nbgrader(cell).get("grade_id")
            if _is_answer(cell) and grade_id in released:
                cell.source = released[grade_id].source
                cell.outputs = [] if cell.cell_type == "code" else cell.get("outputs")
            elif cell.cell_type == "code" and not grade_id:
                drop.add(i)
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _header(learner: str, on: datetime, cards: list[ScheduledCard], seed: int) -> NotebookNode:
    lines = [
        f"## Review of {on.date().isoformat()}",
        "",
        "Time to see these again (spaced review: each comes back later when you get it right, "
        "sooner when you do not):",
        "",
    ]
    for c in cards:
        why = "you got it right after a struggle" if c.card.kind == "relearned" else "a concept to keep fresh"
        lines.append(f"- **{c.card.exercise}** ({why}, {c.card.since.date().isoformat()})")
    lines += [
        "",
        f"Their answer cells are cleared and the data is new: seed {seed}, set in the cell after "
        "the parameters. Your other answers are as you last submitted them, so the rest runs as "
        "before. Solve the cleared exercises again without looking at your old answer, run the "
        f"checks, then: `autograder review --learner {learner} --grade`. The grader also runs "
        "the notebook under one more seed that you do not see.",
    ]
    cell: NotebookNode = nbformat.v4.new_markdown_cell("\n".join(lines))  # type: ignore[no-untyped-call]
    return cell


def _seed_cell(seed: int) -> NotebookNode:
    cell: NotebookNode = nbformat.v4.new_code_cell(  # type: ignore[no-untyped-call]
        f"# Parameters of this review (the grader sets its own when it grades)\nseed = {seed}\n"
    )
    cell.metadata["tags"] = ["injected-parameters"]
    return cell


def review_notebook(
    base: NotebookNode,
    release: NotebookNode,
    cards: list[ScheduledCard],
    learner: str,
    on: datetime,
    seed: int,
) -> NotebookNode:
    """The review of ``cards`` (all of one notebook) made from the learner's ``base``."""
    nb = clear_exercises(nbformat.from_dict(base), release, [c.card.exercise for c in cards])  # type: ignore[no-untyped-call]
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    params = next(
        (i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), -1
    )
    nb.cells.insert(params + 1, _seed_cell(seed))
    nb.cells.insert(0, _header(learner, on, cards, seed))
    return nb


def _base_notebook(settings: Settings, learner: str, assignment: str, notebook: str) -> NotebookNode | None:
    """The learner's latest submission of the notebook, read as the grader reads submissions."""
    path = settings.submitted_dir / learner / assignment / f"{notebook}.ipynb"
    return read_submitted(settings, assignment, notebook, path, f"{learner}/{assignment}/{notebook}").notebook


def _release(settings: Settings, curriculum: Curriculum, assignment: str, notebook: str) -> NotebookNode:
    return read_notebook(curriculum.release_dir(assignment) / f"{notebook}.ipynb")


def _copy_data_files(release: Path, target: Path) -> None:
    """The release's files other than notebooks (data, hints) beside the review, never overwriting."""
    for item in release.rglob("*"):
        if item.is_file() and item.suffix != ".ipynb" and ".ipynb_checkpoints" not in item.parts:
            copy_new_file(item, target, item.relative_to(release))


def _set_aside(folder: Path, on: datetime) -> None:
    """Move an earlier review's notebooks to ``archive/``: a learner's work is never overwritten."""
    old = [p for p in folder.rglob("*.ipynb") if "archive" not in p.relative_to(folder).parts]
    for path in old:
        target = folder / "archive" / on.strftime("%Y%m%dT%H%M%S") / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)


def build_review(
    settings: Settings, curriculum: Curriculum, learner: str, *, now: datetime, rng: random.Random
) -> Built | None:
    """Build today's review (None when nothing is due); refuse while an earlier one waits to be graded."""
    deck = refresh_deck(settings, curriculum, learner)
    if deck.session is not None:
        raise ReviewError(
            f"{learner} has a review built on {deck.session.built.date().isoformat()} waiting in "
            f"{review_dir(settings, learner)}; grade it first: autograder review --learner {learner} --grade"
        )
    due = deck.due(end_of_day(now.date()))
    if not due:
        return None
    chosen, waiting = due[:DAILY_CARDS], len(due) - DAILY_CARDS
    seed = draw_seeds(1, rng)[0]
    folder = review_dir(settings, learner)
    refuse_linked_workspace(settings, folder)
    _set_aside(folder, now)
    groups: dict[tuple[str, str], list[ScheduledCard]] = {}
    for c in chosen:
        groups.setdefault((c.card.assignment, c.card.notebook), []).append(c)
    paths, notebooks = [], {}
    for (assignment, notebook), cards in groups.items():
        release = _release(settings, curriculum, assignment, notebook)
        base = _base_notebook(settings, learner, assignment, notebook) or release
        target = folder / assignment
        refuse_linked_workspace(settings, target)
        target.mkdir(parents=True, exist_ok=True)
        _copy_data_files(curriculum.release_dir(assignment), target)
        path = target / f"{notebook}.ipynb"
        nb = review_notebook(base, release, cards, learner, now, seed)
        write_bytes_atomic(path, nbformat.writes(nb).encode(), durable=False, mode=0o644)  # type: ignore[no-untyped-call]
        paths.append(path)
        notebooks[f"{assignment}/{notebook}"] = str(path.relative_to(folder))
    deck.session = ReviewSession(now, seed, [c.card.key for c in chosen], notebooks)
    save_deck(settings.state_dir, deck)
    return Built(deck.session, chosen, max(0, waiting), paths)


def _read_review(settings: Settings, path: Path) -> NotebookNode:
    limit = max_notebook_bytes(settings.max_notebook_mb)
    data = read_learner_file(path, limit, root=settings.workspaces_dir)
    return read_learner_notebook_bytes(path, data, limit)


def _problems(runs: list[RunResult], exercise: str) -> list[str]:
    problems: list[str] = []
    for run in runs:
        cell = run.cells.get(exercise)
        if cell is None or cell.full_marks:
            continue
        if cell.error:
            problems.append(f"seed {run.seed}: {cell.error}")
        for check in cell.checks:
            if not check.passed:
                hint = f" Hint: {check.hint}" if check.hint else ""
                problems.append(f"seed {run.seed}: {check.name}: {check.reason}.{hint}")
    return list(dict.fromkeys(problems))


def _grade_review_notebook(
    settings: Settings,
    curriculum: Curriculum,
    learner: str,
    key: str,
    path: Path,
    seeds: tuple[int, int],
    runner: Runner,
) -> list[RunResult] | str:
    """The review notebook's runs under both seeds, scored; or why it could not be graded."""
    from .gradebook import sanitize  # nbgrader is slow to import

    assignment, notebook = key.split("/", 1)
    try:
        nb, _ = sanitize(settings, _read_review(settings, path), assignment, notebook, learner)
    except FileNotFoundError:
        return f"{path} is missing; build a new review to try again"
    except Exception as exc:  # refused (a link, too large), unreadable, or cells nbgrader cannot repair
        return f"{path} could not be graded ({str(exc)[:200]}); build a new review"
    defaults = notebook_defaults(settings, assignment, notebook)
    judge = ArtifactJudge.for_course(settings.root, assignment, runner.sandbox)
    runs = []
    for seed in seeds:
        parameters = {**defaults, "seed": seed}
        reference = get_reference(settings, assignment, notebook, parameters)
        run = runner.run(nb, parameters, curriculum.release_dir(assignment), settings.limits)
        runs.append(score_run(reference, run, judge, explainer_for(settings, reference)))
    return runs


def _card_review(
    scheduled: ScheduledCard, graded: list[RunResult] | str, now: datetime, seeds: list[int]
) -> Review:
    """A card is recalled when its exercise earned full marks under every seed of the review."""
    if isinstance(graded, str):
        return Review(now, False, seeds, [graded])
    exercise = scheduled.card.exercise
    passed = bool(graded) and all(exercise in run.cells and run.cells[exercise].full_marks for run in graded)
    return Review(now, passed, seeds, [] if passed else _problems(graded, exercise))


def grade_review(
    settings: Settings,
    curriculum: Curriculum,
    learner: str,
    *,
    now: datetime,
    rng: random.Random,
    unsafe_no_sandbox: bool = False,
) -> list[ReviewOutcome]:
    """Grade the learner's open review in the sandbox and move each card's schedule."""
    deck = load_deck(settings.state_dir, learner)
    session = deck.session
    if session is None:
        raise ReviewError(
            f"{learner} has no review to grade; build one with: autograder review --learner {learner}"
        )
    folder = review_dir(settings, learner)
    refuse_linked_workspace(settings, folder)
    seeds = (session.seed, next(s for s in draw_seeds(2, rng) if s != session.seed))
    sources = [source_notebook(settings, *key.split("/", 1)) for key in session.notebooks]
    runner = make_runner(settings, unsafe_no_sandbox=unsafe_no_sandbox, sources=sources, workers=1)
    try:
        graded = {
            key: _grade_review_notebook(settings, curriculum, learner, key, folder / relative, seeds, runner)
            for key, relative in session.notebooks.items()
        }
    finally:
        runner.close()
    outcomes = []
    for card_key in session.cards:
        scheduled = deck.cards[card_key]
        runs = graded.get(f"{scheduled.card.assignment}/{scheduled.card.notebook}", [])
        review = _card_review(scheduled, runs, now, list(seeds))
        outcomes.append(ReviewOutcome(record_review(deck, card_key, review), review))
    deck.session = None
    save_deck(settings.state_dir, deck)
    return outcomes
