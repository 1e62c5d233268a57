"""A learner's review on the tiny course: cards from real gradings, review notebooks graded in the sandbox."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import nbformat
import pytest

from autograder.course.schedule import load_deck
from autograder.grading.evidence import iter_records
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.review import ReviewError, build_review, grade_review, review_dir
from autograder.views.dashboards import write_class_report, write_progress_page
from tests.conftest import CORRECT, TINY, learner_notebook, submit_notebook

pytestmark = pytest.mark.slow

WRONG_MEAN = {**CORRECT, "mean-solution": "def column_mean(x):\n    return float(np.median(x))"}


def grade(settings, curriculum, learner: str) -> SubmissionResult:
    (result,) = grade_assignment(
        settings, curriculum, TINY, learners=[learner], seeds=2, rng=random.Random(3)
    )
    assert isinstance(result, SubmissionResult), result
    return result


def answer(nb: nbformat.NotebookNode, grade_id: str, code: str) -> None:
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = code


def test_a_relearned_exercise_comes_back_as_a_fresh_seed_review_and_moves_on_its_schedule(
    settings, curriculum, tmp_path
):
    learner = "rhea"
    submit_notebook(settings, learner, learner_notebook(settings, WRONG_MEAN))
    assert grade(settings, curriculum, learner).score(0)[0] < 4
    extra = learner_notebook(settings, CORRECT)  # a helper cell of her own beside the answer
    extra.cells.insert(3, nbformat.v4.new_code_cell("def my_mean(x):\n    return float(np.mean(x))"))
    submit_notebook(settings, learner, extra)
    assert grade(settings, curriculum, learner).score(0) == (4, 4)
    passed_at = datetime.fromisoformat(max(r.graded_at for r in iter_records(settings, learner)))

    with pytest.raises(ReviewError, match="no review to grade"):
        grade_review(settings, curriculum, learner, now=passed_at, rng=random.Random(1))
    assert (
        build_review(settings, curriculum, learner, now=passed_at, rng=random.Random(1)) is None
    )  # not due yet

    day3 = passed_at + timedelta(days=3)
    built = build_review(settings, curriculum, learner, now=day3, rng=random.Random(1))
    assert built is not None and [c.card.exercise for c in built.due] == ["mean-tests"]
    (path,) = built.paths
    assert path == review_dir(settings, learner) / TINY / "01-tiny.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    sources = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    assert "raise NotImplementedError" in sources["mean-solution"]  # cleared: worked again
    assert sources["scale-solution"] == CORRECT["scale-solution"]  # the rest is hers, as submitted
    assert not any("my_mean" in c.source for c in nb.cells)  # her own cell there went with the answer
    assert f"seed = {built.session.seed}" in "".join(c.source for c in nb.cells)
    assert "Review of" in nb.cells[0].source and "mean-tests" in nb.cells[0].source
    with pytest.raises(ReviewError, match="waiting"):
        build_review(settings, curriculum, learner, now=day3, rng=random.Random(2))

    page = write_progress_page(settings, curriculum, learner, tmp_path / "progress.html").read_text()
    assert "Your review queue" in page and "waits in" in page

    answer(nb, "mean-solution", "def column_mean(x):\n    return sum(x) / len(x)")  # another way, honest
    nbformat.write(nb, str(path))
    (outcome,) = grade_review(settings, curriculum, learner, now=day3, rng=random.Random(5))
    assert outcome.review.passed, outcome.review.problems
    assert len(set(outcome.review.seeds)) == 2 and built.session.seed in outcome.review.seeds
    first_interval = outcome.card.due - day3
    assert first_interval >= timedelta(days=7)
    deck = load_deck(settings.state_dir, learner)
    assert deck.session is None and deck.retention() == (1, 1)

    # at the next due date she hard-codes her visible value: the hidden check and seed catch it
    due = outcome.card.due + timedelta(hours=1)
    built = build_review(settings, curriculum, learner, now=due, rng=random.Random(9))
    assert built is not None
    archived = list((review_dir(settings, learner) / "archive").rglob("01-tiny.ipynb"))
    assert len(archived) == 1  # the graded review was set aside, not overwritten
    nb = nbformat.read(str(built.paths[0]), as_version=4)
    answer(
        nb, "mean-solution", "def column_mean(x):\n    return float(np.mean(data)) if len(x) == 50 else 0.0"
    )
    nbformat.write(nb, str(built.paths[0]))
    (outcome,) = grade_review(settings, curriculum, learner, now=due, rng=random.Random(5))
    assert not outcome.review.passed
    assert any("tiny.mean-hidden" in p for p in outcome.review.problems), outcome.review.problems
    assert outcome.card.due - due <= timedelta(days=3) < first_interval
    assert load_deck(settings.state_dir, learner).retention() == (1, 2)
    stored = json.loads((settings.state_dir / "review" / f"{learner}.json").read_text())
    assert stored["session"] is None and len(stored["cards"][f"{TINY}/01-tiny/mean-tests"]["reviews"]) == 2

    report = write_class_report(settings, curriculum, tmp_path / "report.html")
    assert report.queues[learner].cards == 1
    assert "Review queues" in (tmp_path / "report.html").read_text()


def test_a_review_notebook_removed_or_broken_fails_its_cards_with_the_reason(settings, curriculum):
    learner = "saul"
    submit_notebook(settings, learner, learner_notebook(settings, WRONG_MEAN))
    grade(settings, curriculum, learner)
    submit_notebook(settings, learner, learner_notebook(settings, CORRECT))
    grade(settings, curriculum, learner)
    later = datetime.now(UTC) + timedelta(days=5)
    built = build_review(settings, curriculum, learner, now=later, rng=random.Random(1))
    assert built is not None
    built.paths[0].write_text("{ not a notebook")
    (outcome,) = grade_review(settings, curriculum, learner, now=later, rng=random.Random(1))
    assert not outcome.review.passed and "could not be graded" in outcome.review.problems[0]
