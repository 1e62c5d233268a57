"""The review queue as the pages show it: cards, what is due, the retention so far.

The learner's progress page gets a section, the class report a row per learner. Both
read the stored schedule with every card the evidence makes added in memory (a card a
grading just made shows before the learner next runs ``autograder review``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape as esc

from ..course.cards import cards_from_evidence
from ..course.config import Settings
from ..course.curriculum import Curriculum
from ..course.schedule import ScheduledCard, add_cards, end_of_day, load_deck
from ..grading.evidence import EvidenceRecord


@dataclass(frozen=True)
class ReviewView:
    cards: int
    due: tuple[ScheduledCard, ...]
    next_due: datetime | None
    recalled: int
    reviewed: int
    waiting_since: datetime | None
    """When the review the learner has not handed in yet was built (None: none open)."""

    @property
    def retention(self) -> float | None:
        return self.recalled / self.reviewed if self.reviewed else None


def review_view(
    settings: Settings, curriculum: Curriculum, learner: str, records: list[EvidenceRecord], *, now: datetime
) -> ReviewView:
    """The learner's queue at ``now`` (nothing is written)."""
    deck = load_deck(settings.state_dir, learner)
    add_cards(deck, cards_from_evidence(curriculum, records))
    recalled, reviewed = deck.retention()
    day_end = end_of_day(now.date())
    return ReviewView(
        len(deck.cards),
        tuple(deck.due(day_end)),
        deck.next_due(day_end),
        recalled,
        reviewed,
        deck.session.built if deck.session else None,
    )


def review_html(learner: str, view: ReviewView) -> str:
    """The progress page's section: how many cards, how many due, the retention so far."""
    if not view.cards:
        return (
            "<h2>Your review queue</h2><p>No cards yet. An exercise you get right after getting it wrong "
            "comes back here for spaced review, and so does every ML drill of phase 5 once you pass it.</p>"
        )
    shown = (
        f"retention so far <b>{view.retention:.0%}</b> ({view.recalled} of {view.reviewed} reviews recalled)"
        if view.retention is not None
        else "no reviews graded yet"
    )
    parts = [
        "<h2>Your review queue</h2>",
        f"<p>{view.cards} card(s); <b>{len(view.due)} due today</b>; {shown}.",
    ]
    if view.next_due is not None:
        parts.append(f" The next after today comes due {esc(view.next_due.date().isoformat())}.")
    parts.append("</p>")
    if view.waiting_since is not None:
        parts.append(
            f"<p>Your review of {esc(view.waiting_since.date().isoformat())} waits in the "
            "<code>review</code> folder beside this page: grade it with "
            f"<code>autograder review --learner {esc(learner)} --grade</code>.</p>"
        )
    elif view.due:
        parts.append(
            "<p>Build today's review notebook with "
            f"<code>autograder review --learner {esc(learner)}</code>.</p>"
        )
    if view.due:
        items = "".join(
            f"<li><code>{esc(c.card.exercise)}</code> in {esc(c.card.assignment)}/{esc(c.card.notebook)} "
            f"({esc(c.card.kind)}, due {esc(c.due.date().isoformat())})</li>"
            for c in view.due
        )
        parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


def queue_rows(queues: dict[str, ReviewView]) -> list[list[str]]:
    """The class report's rows: per learner with cards, the queue's size, what is due, retention."""
    rows = []
    for learner, view in sorted(queues.items(), key=lambda item: (-len(item[1].due), item[0])):
        if not view.cards:
            continue
        rows.append(
            [
                esc(learner),
                str(view.cards),
                str(len(view.due)),
                f"{view.retention:.0%} ({view.recalled}/{view.reviewed})"
                if view.retention is not None
                else "-",
            ]
        )
    return rows
