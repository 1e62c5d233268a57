"""A learner's dated plan: every phase and notebook with target weeks, re-planned from evidence.

The guide gives each phase a duration ("2-3 months") at the part-time pace its 8-12 months
assume (``GUIDE_HOURS_PER_WEEK``); the manifest gives each notebook an effort estimate in
hours. A phase takes the larger of its guide hours and its notebooks' hours (the rest of the
guide's time is the reading, courses and projects around the notebooks), at the learner's
hours a week; its notebooks share the phase's weeks in proportion to their hours, in order.

Re-planning keeps what the evidence shows: a mastered phase sits where it really was, up to
the day it was mastered; what remains starts today, at the pace the learner has shown once
there is enough of it, else at the hours they gave; the phase in progress is *behind* when
today is past the end the first plan gave it. Pure functions: the date is passed in.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from ..errors import BadPlan
from ..grading.storage import write_json_atomic
from .curriculum import Curriculum, NotebookSpec, Phase

GUIDE_HOURS_PER_WEEK = 10.0
"""The weekly study the guide's phase durations assume (part time)."""
WEEKS_PER_MONTH = 52 / 12
HOURS_RANGE = (1.0, 60.0)
"""Hours a week a plan accepts: less than one plans nothing, more than sixty is not a plan."""
MIN_WEEKS_FOR_PACE = 4
"""Weeks of history before the learner's own pace replaces the hours they gave."""


@dataclass(frozen=True)
class PlanSettings:
    """What the learner chose: hours a week, the day the plan starts, a track, a goal."""

    hours_per_week: float
    start: date
    track: str | None = None
    goal: str = ""


@dataclass(frozen=True)
class PlannedNotebook:
    assignment: str
    file: str
    title: str
    hours: float
    start: date
    end: date


@dataclass(frozen=True)
class PlannedPhase:
    phase: str
    title: str
    track: str | None
    hours: float
    """Guide hours or notebook hours, whichever is larger."""
    start: date
    end: date
    state: str
    """``mastered``, ``current`` (the first not mastered), or ``later``."""
    mastered_on: date | None = None
    behind_weeks: float = 0.0
    """For the current phase: weeks past the end the first plan gave it (0 when on time)."""
    notebooks: tuple[PlannedNotebook, ...] = ()


@dataclass(frozen=True)
class Plan:
    learner: str
    settings: PlanSettings
    today: date
    pace: float
    """Hours a week the remaining phases are planned at."""
    pace_source: str
    phases: tuple[PlannedPhase, ...] = field(default_factory=tuple)

    @property
    def finish(self) -> date:
        return self.phases[-1].end if self.phases else self.today

    @property
    def current(self) -> PlannedPhase | None:
        return next((p for p in self.phases if p.state == "current"), None)


def check_settings(curriculum: Curriculum, settings: PlanSettings, *, today: date, new: bool) -> None:
    """One clear line for each thing a plan cannot be made from (``new``: not a saved plan)."""
    low, high = HOURS_RANGE
    if not math.isfinite(settings.hours_per_week) or not low <= settings.hours_per_week <= high:
        raise BadPlan(
            f"--hours-per-week {settings.hours_per_week:g}: expected {low:g} to {high:g} hours a week "
            "(for instance --hours-per-week 6 beside a job, 20 part time)"
        )
    if new and settings.start < today:
        raise BadPlan(
            f"--start {settings.start.isoformat()} is in the past (today is {today.isoformat()}); "
            "give today or a later date, or leave --start out to start today"
        )
    if settings.track is not None:
        tracks = [t.id for p in curriculum.phases for t in p.tracks]
        if settings.track not in tracks:
            raise BadPlan(
                f"--track {settings.track}: no phase has that track; choose one of {', '.join(tracks)}"
            )


def guide_hours(phase: Phase) -> float:
    """The hours the guide's duration stands for: the middle of "2-3 months" at its pace."""
    months = [float(m) for m in re.findall(r"\d+(?:\.\d+)?", phase.duration)]
    if not months or "month" not in phase.duration:
        return 0.0
    return sum(months) / len(months) * WEEKS_PER_MONTH * GUIDE_HOURS_PER_WEEK


def notebook_hours(spec: NotebookSpec) -> float:
    """The manifest's estimate, else one from the points (a third of an hour each, plus one)."""
    if spec.hours is not None:
        return spec.hours
    return max(3.0, round((spec.points or 6.0) / 3 + 1))


def planned_notebooks(phase: Phase, track: str | None) -> list[tuple[str, NotebookSpec]]:
    """(assignment id, notebook) of the phase in order; for a phase with tracks, the track's."""
    if phase.tracks:
        chosen = phase.track(track) or phase.tracks[0]
        assignments = chosen.assignments
    else:
        assignments = phase.assignments
    return [(a.id, nb) for a in assignments for nb in a.notebooks]


def _weeks(hours: float, pace: float) -> timedelta:
    return timedelta(days=round(7 * hours / pace))


def _lay_out(phase: Phase, track: str | None, start: date, pace: float) -> PlannedPhase:
    """One phase from ``start`` at ``pace``; its notebooks share its weeks by their hours."""
    items = planned_notebooks(phase, track)
    in_notebooks = sum(notebook_hours(nb) for _, nb in items)
    hours = max(guide_hours(phase), in_notebooks)
    end = start + _weeks(hours, pace)
    notebooks, done = [], 0.0
    for assignment, spec in items:
        share = notebook_hours(spec)
        first = start + _weeks(done * hours / in_notebooks, pace)
        done += share
        last = start + _weeks(done * hours / in_notebooks, pace)
        notebooks.append(PlannedNotebook(assignment, spec.file, spec.title, share, first, last))
    chosen = (phase.track(track) or phase.tracks[0]).id if phase.tracks else None
    return PlannedPhase(phase.id, phase.title, chosen, hours, start, end, "later", notebooks=tuple(notebooks))


def first_plan(curriculum: Curriculum, settings: PlanSettings) -> list[PlannedPhase]:
    """The plan as made on its start day, with nothing mastered: what "behind" is measured by."""
    phases, start = [], settings.start
    for phase in curriculum.phases:
        laid = _lay_out(phase, settings.track, start, settings.hours_per_week)
        phases.append(laid)
        start = laid.end
    return phases


def make_plan(
    curriculum: Curriculum,
    learner: str,
    settings: PlanSettings,
    *,
    today: date,
    mastered_on: dict[str, date] | None = None,
    tracks: dict[str, str] | None = None,
) -> Plan:
    """The plan from ``today``: mastered phases (``mastered_on``: phase id -> the day) where
    they were, the rest at the learner's pace; ``tracks``: a track the learner is on, by phase
    (it wins over the plan's own choice, since the evidence is in that track)."""
    mastered_on = mastered_on or {}
    tracks = tracks or {}
    original = {p.phase: p for p in first_plan(curriculum, settings)}
    pace, source = _pace(curriculum, settings, today, mastered_on)
    phases: list[PlannedPhase] = []
    start = settings.start
    current_seen = False
    for phase in curriculum.phases:
        track = tracks.get(phase.id, settings.track)
        done = mastered_on.get(phase.id)
        if done is not None:
            laid = _lay_out(phase, track, min(start, done), settings.hours_per_week)
            phases.append(_ended(laid, done))
            start = max(start, done)
            continue
        laid = _lay_out(phase, track, max(start, today) if not current_seen else start, pace)
        if not current_seen:
            late = (today - original[phase.id].end).days / 7
            laid = replace(laid, state="current", behind_weeks=round(max(0.0, late), 1))
            current_seen = True
        phases.append(laid)
        start = laid.end
    return Plan(learner, settings, today, pace, source, tuple(phases))


def _ended(laid: PlannedPhase, done: date) -> PlannedPhase:
    """A mastered phase, its notebooks squeezed into the time it really took."""
    span = max(1, (done - laid.start).days)
    planned = max(1, (laid.end - laid.start).days)
    notebooks = tuple(
        PlannedNotebook(
            nb.assignment,
            nb.file,
            nb.title,
            nb.hours,
            laid.start + timedelta(days=round((nb.start - laid.start).days * span / planned)),
            laid.start + timedelta(days=round((nb.end - laid.start).days * span / planned)),
        )
        for nb in laid.notebooks
    )
    return PlannedPhase(
        laid.phase, laid.title, laid.track, laid.hours, laid.start, done, "mastered", done, 0.0, notebooks
    )


def _pace(
    curriculum: Curriculum, settings: PlanSettings, today: date, mastered_on: dict[str, date]
) -> tuple[float, str]:
    """The hours a week to plan the rest at: the learner's own, once there is enough history."""
    weeks = (today - settings.start).days / 7
    if not mastered_on or weeks < MIN_WEEKS_FOR_PACE:
        return settings.hours_per_week, "the hours a week you gave"
    planned = {p.phase: p.hours for p in first_plan(curriculum, settings)}
    shown = sum(planned[p] for p in mastered_on if p in planned) / weeks
    low, high = HOURS_RANGE
    return min(high, max(low, round(shown, 1))), f"your pace so far ({weeks:.0f} weeks of evidence)"


# ---------------------------------------------------------------- the saved choices


def plan_file(state_dir: Path, learner: str) -> Path:
    """Where a learner's choices live: in the state folder, beside the evidence."""
    return state_dir / "plans" / f"{learner}.json"


def saved_settings(state_dir: Path, learner: str) -> PlanSettings | None:
    path = plan_file(state_dir, learner)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return PlanSettings(
        float(data["hours_per_week"]),
        date.fromisoformat(data["start"]),
        data.get("track"),
        str(data.get("goal", "")),
    )


def save_settings(state_dir: Path, learner: str, settings: PlanSettings) -> Path:
    path = plan_file(state_dir, learner)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**asdict(settings), "start": settings.start.isoformat()}
    write_json_atomic(path, data)
    return path


def plan_lines(plan: Plan) -> list[str]:
    """The plan as the CLI prints it: a line per phase, then its notebooks with target dates."""
    s = plan.settings
    lines = [
        f"plan of {plan.learner}: {s.hours_per_week:g} h a week from {s.start.isoformat()}"
        + (f", goal: {s.goal}" if s.goal else ""),
        f"the rest is planned at {plan.pace:g} h a week ({plan.pace_source}); "
        f"target end {plan.finish.isoformat()}",
    ]
    for phase in plan.phases:
        track = f", {phase.track} track" if phase.track else ""
        if phase.state == "mastered" and phase.mastered_on is not None:
            when = f"mastered {phase.mastered_on.isoformat()}"
        else:
            when = f"{phase.start.isoformat()} to {phase.end.isoformat()}"
            if phase.behind_weeks:
                when += f", {phase.behind_weeks:g} weeks behind the first plan"
        lines.append(f"  {phase.phase}{track}: {when} ({phase.hours:.0f} h)")
        if phase.state != "mastered":
            for nb in phase.notebooks:
                span = f"{nb.start.isoformat()} to {nb.end.isoformat()}"
                lines.append(f"    {span}  {nb.assignment}/{nb.file} ({nb.hours:g} h)")
    return lines
