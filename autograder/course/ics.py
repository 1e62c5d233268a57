"""A plan's study sessions as an iCalendar file, for the learner's own calendar.

Each week of the plan from today to its end gets ``ceil(hours / SESSION_HOURS)`` sessions of
equal length on spread-out days (weekday evenings, weekend mornings), each named after the
notebook the plan has the learner on that day. Floating local times: a calendar shows them
at 18:00 wherever the learner is. UIDs and stamps come from the plan, so the same plan
writes the same file.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from pathlib import Path

from icalendar import Calendar, Event

from .plan import Plan, PlannedPhase

SESSION_HOURS = 2.5
"""The longest session the calendar proposes; more hours a week make more sessions."""
DAYS = (0, 2, 5, 1, 3, 6, 4)
"""Weekdays to study on, in the order sessions are added (Monday, Wednesday, Saturday, ...)."""
EVENING, MORNING = time(18, 0), time(10, 0)


def sessions(plan: Plan) -> list[tuple[datetime, datetime, str, str]]:
    """(start, end, summary, description) of every session from today to the plan's end."""
    count = max(1, math.ceil(plan.pace / SESSION_HOURS))
    length = timedelta(hours=plan.pace / count)
    monday = plan.today - timedelta(days=plan.today.weekday())
    found = []
    while monday < plan.finish:
        for weekday in sorted(DAYS[:count]):
            day = monday + timedelta(days=weekday)
            if day < plan.today or day >= plan.finish:
                continue
            phase = _phase_on(plan, day)
            if phase is None or phase.state == "mastered":
                continue
            begin = datetime.combine(day, MORNING if weekday >= 5 else EVENING)
            summary, description = _what(plan, phase, day)
            found.append((begin, begin + length, summary, description))
        monday += timedelta(days=7)
    return found


def _phase_on(plan: Plan, day: date) -> PlannedPhase | None:
    return next((p for p in plan.phases if p.start <= day < p.end), None)


def _what(plan: Plan, phase: PlannedPhase, day: date) -> tuple[str, str]:
    notebook = next((nb for nb in phase.notebooks if nb.start <= day < nb.end), None)
    summary = f"Study: {notebook.title}" if notebook else f"Study: {phase.title}"
    lines = [f"{phase.title} (target {phase.start.isoformat()} to {phase.end.isoformat()})"]
    if notebook is not None:
        lines.append(
            f"Notebook: {notebook.assignment}/{notebook.file} "
            f"(autograder start {notebook.assignment} --learner {plan.learner})"
        )
    if plan.settings.goal:
        lines.append(f"Goal: {plan.settings.goal}")
    return summary, "\n".join(lines)


def write_ics(plan: Plan, path: Path, *, stamp: datetime) -> int:
    """Write the sessions to ``path`` (iCalendar); return how many there are."""
    calendar = Calendar()
    calendar.add("prodid", "-//ml-career-autograder//study plan//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Study plan of {plan.learner}")
    found = sessions(plan)
    for begin, end, summary, description in found:
        event = Event()
        event.add("uid", f"{plan.learner}-{begin:%Y%m%dT%H%M}@ml-career-autograder")
        event.add("dtstamp", stamp)
        event.add("dtstart", begin)
        event.add("dtend", end)
        event.add("summary", summary)
        event.add("description", description)
        calendar.add_component(event)
    path.write_bytes(calendar.to_ical())
    return len(found)
