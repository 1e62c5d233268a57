"""Review cards from evidence, and their FSRS schedule: pure functions, the time passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from autograder.course.cards import cards_from_evidence
from autograder.course.curriculum import load_curriculum
from autograder.course.schedule import (
    Deck,
    Review,
    ReviewSession,
    add_cards,
    end_of_day,
    load_deck,
    record_review,
    save_deck,
)
from autograder.grading.evidence import (
    CellResult,
    EvidenceRecord,
    GradingRecord,
    NotebookResult,
    RunResult,
    Submission,
)

REPO = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def course():
    return load_curriculum(REPO)


def record(
    assignment: str, notebook: str, scores: dict[str, list[float]], when: datetime, learner: str = "ada"
) -> EvidenceRecord:
    """A record whose cells (1 point each) scored ``scores[grade_id][i]`` under the i-th seed."""
    seeds = len(next(iter(scores.values())))
    runs = [
        RunResult(
            {"seed": i},
            "completed",
            "",
            1.0,
            {gid: CellResult(gid, 1.0, got[i]) for gid, got in scores.items()},
        )
        for i in range(seeds)
    ]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    graded = GradingRecord(
        learner,
        assignment,
        "phase",
        stamp,
        "test",
        stamp,
        Submission("abc"),
        {},
        [r.parameters for r in runs],
        {notebook: NotebookResult(notebook, "graded", runs=runs)},
        [],
    )
    return EvidenceRecord(Path(f"/nowhere/{stamp}"), graded)


NB = ("phase1-foundations", "02-numpy")


def test_a_check_failed_then_passed_becomes_a_relearned_card_dated_by_the_pass(course):
    records = [
        record(*NB, {"a-tests": [1, 0], "b-tests": [1, 1]}, DAY),  # a fails under the second seed
        record(*NB, {"a-tests": [1, 1], "b-tests": [1, 1]}, DAY + timedelta(days=2)),
    ]
    (card,) = cards_from_evidence(course, records)
    assert card.key == "phase1-foundations/02-numpy/a-tests"
    assert card.kind == "relearned" and card.since == DAY + timedelta(days=2)


def test_failed_and_never_passed_or_passed_first_time_make_no_card(course):
    records = [
        record(*NB, {"a-tests": [0, 0], "b-tests": [1, 1]}, DAY),
        record(*NB, {"a-tests": [1, 0], "b-tests": [1, 1]}, DAY + timedelta(days=1)),
    ]
    assert cards_from_evidence(course, records) == []


def test_order_of_records_is_by_grading_time_not_by_listing(course):
    later_pass = record(*NB, {"a-tests": [1, 1]}, DAY + timedelta(days=1))
    earlier_fail = record(*NB, {"a-tests": [0, 1]}, DAY)
    assert [c.exercise for c in cards_from_evidence(course, [later_pass, earlier_fail])] == ["a-tests"]
    fail_after_pass = [record(*NB, {"a-tests": [1, 1]}, DAY), record(*NB, {"a-tests": [0, 0]}, DAY)]
    assert cards_from_evidence(course, fail_after_pass[:1] + fail_after_pass[1:]) == []


def test_every_passed_ml_drill_is_a_concept_card(course):
    drills = ("phase5-first-role", "02-ml-drills")
    spec = next(n for n in course.assignment(drills[0]).notebooks if n.name == drills[1])
    assert spec.concept_cards
    cards = cards_from_evidence(
        course, [record(*drills, {"drill-ece-tests": [1, 1], "drill-auc-tests": [0, 1]}, DAY)]
    )
    assert [(c.exercise, c.kind) for c in cards] == [("drill-ece-tests", "concept")]


def test_a_new_card_comes_due_two_days_after_the_pass_and_spacing_grows_with_each_recall(course):
    deck = Deck("ada")
    (card,) = cards_from_evidence(
        course, [record(*NB, {"a-tests": [0]}, DAY), record(*NB, {"a-tests": [1]}, DAY + timedelta(hours=1))]
    )
    assert add_cards(deck, [card]) == [card] and add_cards(deck, [card]) == []
    scheduled = deck.cards[card.key]
    assert scheduled.due.date() == date(2026, 3, 4)
    assert deck.due(end_of_day(date(2026, 3, 3))) == []
    assert deck.due(end_of_day(date(2026, 3, 4))) == [scheduled]
    gaps = []
    when = scheduled.due
    for _ in range(3):
        record_review(deck, card.key, Review(when, True, [1, 2]))
        gaps.append((scheduled.due - when).days)
        when = scheduled.due
    assert gaps[0] >= 7 and gaps[0] < gaps[1] < gaps[2], gaps
    assert deck.retention() == (3, 3)


def test_a_failed_review_brings_the_card_back_soon_and_lowers_retention(course):
    deck = Deck("ada")
    (card,) = cards_from_evidence(
        course, [record(*NB, {"a-tests": [0]}, DAY), record(*NB, {"a-tests": [1]}, DAY)]
    )
    add_cards(deck, [card])
    scheduled = deck.cards[card.key]
    good = record_review(deck, card.key, Review(scheduled.due, True, [3, 4])).due
    interval_after_pass = good - DAY
    when = scheduled.due
    record_review(deck, card.key, Review(when, False, [5, 6], ["seed 5: a: wrong"]))
    assert scheduled.due - when <= timedelta(days=3) < interval_after_pass
    assert deck.retention() == (1, 2)
    assert 0 < scheduled.retrievability(when + timedelta(days=30)) < scheduled.retrievability(when)


def test_the_same_reviews_on_the_same_dates_give_the_same_schedule(course):
    (card,) = cards_from_evidence(
        course, [record(*NB, {"a-tests": [0]}, DAY), record(*NB, {"a-tests": [1]}, DAY)]
    )
    dues = []
    for _ in range(2):
        deck = Deck("ada")
        add_cards(deck, [card])
        for passed in (True, False, True):
            record_review(deck, card.key, Review(deck.cards[card.key].due, passed, [1]))
        dues.append(deck.cards[card.key].due)
    assert dues[0] == dues[1]


def test_the_deck_round_trips_through_the_state_folder(course, tmp_path):
    (card,) = cards_from_evidence(
        course, [record(*NB, {"a-tests": [0]}, DAY), record(*NB, {"a-tests": [1]}, DAY)]
    )
    assert load_deck(tmp_path, "ada") == Deck("ada")
    deck = Deck("ada")
    add_cards(deck, [card])
    record_review(deck, card.key, Review(DAY + timedelta(days=2), False, [7, 8], ["seed 7: wrong"]))
    deck.session = ReviewSession(DAY, 42, [card.key], {"a/b": "a/b.ipynb"})
    path = save_deck(tmp_path, deck)
    assert path == tmp_path / "review" / "ada.json"
    again = load_deck(tmp_path, "ada")
    assert again.session == deck.session
    assert again.cards[card.key].reviews == deck.cards[card.key].reviews
    assert again.cards[card.key].due == deck.cards[card.key].due
    assert again.cards[card.key].card == card
