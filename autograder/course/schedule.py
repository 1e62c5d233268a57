"""When each review card comes due: a spaced-repetition schedule kept by the grader.

The schedule is FSRS (the ``fsrs`` package): each card has a stability and a
difficulty, a review that passes spaces the next one further out, a failed one brings
it back soon. Reviews here are notebooks graded a day at a time, not flashcards
flipped in a minute, so the scheduler has no same-day learning steps, and no fuzz, so
that a schedule is a pure function of the reviews and their dates. A new card counts
the pass that made it as its first successful recall.

The deck lives in the state folder (``review/<learner>.json``), which the sandbox hides
from learner kernels: a learner cannot move their own cards. Every function takes the
time it works at; none reads the clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler

from ..grading.storage import write_json_atomic
from .cards import ReviewCard

SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
"""FSRS with its default weights and a desired retention of 90 %."""


@dataclass
class Review:
    """One graded review of one card."""

    on: datetime
    passed: bool
    seeds: list[int]
    problems: list[str] = field(default_factory=list)
    """What the failed checks said (reason and hint), for the learner; empty when passed."""


@dataclass
class ScheduledCard:
    card: ReviewCard
    state: Card
    reviews: list[Review] = field(default_factory=list)

    @property
    def due(self) -> datetime:
        return self.state.due

    def retrievability(self, now: datetime) -> float:
        """FSRS's estimate of the chance the learner would pass it now."""
        return float(SCHEDULER.get_card_retrievability(self.state, now))


@dataclass
class ReviewSession:
    """A review notebook set built and not yet graded: which cards, under which seed."""

    built: datetime
    seed: int
    cards: list[str]
    notebooks: dict[str, str]
    """``assignment/notebook`` -> the review notebook's path, relative to the learner's workspace."""


@dataclass
class Deck:
    learner: str
    cards: dict[str, ScheduledCard] = field(default_factory=dict)
    session: ReviewSession | None = None

    def due(self, now: datetime) -> list[ScheduledCard]:
        """The cards due at ``now``, the longest overdue first."""
        return sorted((c for c in self.cards.values() if c.due <= now), key=lambda c: (c.due, c.card.key))

    def retention(self) -> tuple[int, int]:
        """(reviews passed, reviews graded) so far: the retention the learner has shown."""
        reviews = [r for c in self.cards.values() for r in c.reviews]
        return sum(r.passed for r in reviews), len(reviews)

    def next_due(self, now: datetime) -> datetime | None:
        later = [c.due for c in self.cards.values() if c.due > now]
        return min(later) if later else None


def end_of_day(day: date) -> datetime:
    """A day's reviews are the cards due by its end (UTC), so a card due at 15:00 is today's."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)


def _card_id(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)


def add_cards(deck: Deck, cards: list[ReviewCard]) -> list[ReviewCard]:
    """Schedule the cards the deck does not hold yet; returns those added."""
    added = []
    for card in cards:
        if card.key in deck.cards:
            continue
        since = card.since if card.since.tzinfo else card.since.replace(tzinfo=UTC)
        state, _ = SCHEDULER.review_card(Card(card_id=_card_id(card.key), due=since), Rating.Good, since)
        deck.cards[card.key] = ScheduledCard(card, state)
        added.append(card)
    return added


def record_review(deck: Deck, key: str, review: Review) -> ScheduledCard:
    """A graded review moves the card: passed is FSRS's Good, failed its Again."""
    scheduled = deck.cards[key]
    rating = Rating.Good if review.passed else Rating.Again
    scheduled.state, _ = SCHEDULER.review_card(scheduled.state, rating, review.on)
    scheduled.reviews.append(review)
    return scheduled


def deck_file(state_dir: Path, learner: str) -> Path:
    return state_dir / "review" / f"{learner}.json"


def _card_json(c: ScheduledCard) -> dict[str, Any]:
    return {
        "assignment": c.card.assignment,
        "notebook": c.card.notebook,
        "exercise": c.card.exercise,
        "kind": c.card.kind,
        "since": c.card.since.isoformat(),
        "fsrs": c.state.to_dict(),
        "reviews": [
            {"on": r.on.isoformat(), "passed": r.passed, "seeds": r.seeds, "problems": r.problems}
            for r in c.reviews
        ],
    }


def _card_from_json(data: dict[str, Any]) -> ScheduledCard:
    card = ReviewCard(
        data["assignment"],
        data["notebook"],
        data["exercise"],
        data["kind"],
        datetime.fromisoformat(data["since"]),
    )
    reviews = [
        Review(
            datetime.fromisoformat(r["on"]), bool(r["passed"]), list(r["seeds"]), list(r.get("problems", []))
        )
        for r in data.get("reviews", [])
    ]
    return ScheduledCard(card, Card.from_dict(data["fsrs"]), reviews)


def load_deck(state_dir: Path, learner: str) -> Deck:
    """The learner's deck as stored; an empty one if they have none yet."""
    path = deck_file(state_dir, learner)
    if not path.is_file():
        return Deck(learner)
    data = json.loads(path.read_text())
    session = data.get("session")
    return Deck(
        learner,
        {key: _card_from_json(c) for key, c in data.get("cards", {}).items()},
        None
        if session is None
        else ReviewSession(
            datetime.fromisoformat(session["built"]),
            int(session["seed"]),
            list(session["cards"]),
            dict(session["notebooks"]),
        ),
    )


def save_deck(state_dir: Path, deck: Deck) -> Path:
    path = deck_file(state_dir, deck.learner)
    path.parent.mkdir(parents=True, exist_ok=True)
    session = deck.session
    write_json_atomic(
        path,
        {
            "learner": deck.learner,
            "cards": {key: _card_json(c) for key, c in deck.cards.items()},
            "session": None
            if session is None
            else {
                "built": session.built.isoformat(),
                "seed": session.seed,
                "cards": session.cards,
                "notebooks": session.notebooks,
            },
        },
    )
    return path
