"""The learner's plan: pure functions of the manifest, the choices, the evidence and a date."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from autograder.course.curriculum import load_curriculum
from autograder.course.ics import sessions, write_ics
from autograder.course.plan import (
    PlanSettings,
    check_settings,
    guide_hours,
    make_plan,
    plan_lines,
    save_settings,
    saved_settings,
)
from autograder.errors import BadPlan

REPO = Path(__file__).resolve().parents[2]
CURRICULUM = load_curriculum(REPO)
TODAY = date(2026, 12, 7)


def plan_for(hours: float, **kw):
    settings = PlanSettings(hours, kw.pop("start", TODAY), kw.pop("track", None), "a first ML job")
    return make_plan(CURRICULUM, "ada", settings, today=kw.pop("today", TODAY), **kw)


def test_every_notebook_once_in_order_and_more_hours_finish_sooner():
    six, twenty = plan_for(6), plan_for(20)
    files = [(nb.assignment, nb.file) for p in six.phases for nb in p.notebooks]
    expected = [
        (a.id, nb.file)
        for phase in CURRICULUM.phases
        for a in (phase.tracks[0].assignments if phase.tracks else phase.assignments)
        for nb in a.notebooks
    ]
    assert files == expected and len(files) == len(set(files))
    for plan in (six, twenty):  # back to back, from today
        assert plan.phases[0].start == TODAY and plan.phases[0].state == "current"
        assert all(a.end == b.start for a, b in zip(plan.phases, plan.phases[1:]))
        for phase in plan.phases:
            assert phase.notebooks[0].start == phase.start and phase.notebooks[-1].end == phase.end
    weeks = [(p.finish - TODAY).days / 7 for p in (six, twenty)]
    assert weeks[0] / weeks[1] == pytest.approx(20 / 6, rel=0.01)
    assert 90 < weeks[0] < 110 and 25 < weeks[1] < 35  # about 22 months against 7 at the guide's 13.5 months
    # a phase takes the guide's hours when they exceed its notebooks': the reading around them
    phase1 = CURRICULUM.phases[0]
    assert guide_hours(phase1) == pytest.approx(2.5 * 52 / 12 * 10)
    assert six.phases[0].hours == pytest.approx(guide_hours(phase1))


def test_the_track_chosen_is_the_one_planned():
    cv = plan_for(10, track="cv")
    (phase4,) = [p for p in cv.phases if p.phase == "phase4-specialization"]
    assert phase4.track == "cv" and {nb.assignment for nb in phase4.notebooks} == {"phase4-cv"}
    # evidence in a track wins over the plan's choice
    nlp = plan_for(10, track="cv", tracks={"phase4-specialization": "nlp"})
    (phase4,) = [p for p in nlp.phases if p.phase == "phase4-specialization"]
    assert phase4.track == "nlp"


def test_mastered_phases_sit_where_they_were_and_the_rest_starts_today_at_the_pace_shown():
    start = date(2026, 6, 1)
    first = plan_for(10, start=start, today=start)
    on_plan = first.phases[0].end
    # phase 1 mastered two weeks late; today is 20 weeks after the start
    late = date.fromordinal(on_plan.toordinal() + 14)
    today = date.fromordinal(start.toordinal() + 140)
    plan = plan_for(10, start=start, today=today, mastered_on={"phase1-foundations": late})
    phase1, phase2 = plan.phases[:2]
    assert (phase1.state, phase1.mastered_on, phase1.start, phase1.end) == ("mastered", late, start, late)
    assert phase2.state == "current" and phase2.start == today
    # the pace: phase 1's hours over 20 weeks, slower than the 10 a week given
    assert plan.pace == pytest.approx(round(phase1.hours / 20, 1)) and "pace so far" in plan.pace_source
    original_end = first.phases[1].end
    assert phase2.behind_weeks == pytest.approx(max(0.0, (today - original_end).days / 7), abs=0.1)
    text = "\n".join(plan_lines(plan))
    assert f"phase1-foundations: mastered {late.isoformat()}" in text and "pace so far" in text
    # too little history: the hours given stand
    early = plan_for(10, start=start, today=date(2026, 6, 15), mastered_on={"phase1-foundations": late})
    assert early.pace == 10 and early.pace_source == "the hours a week you gave"


def test_a_phase_in_progress_past_its_first_end_is_behind():
    start = date(2026, 1, 5)
    plan = plan_for(20, start=start, today=date(2026, 6, 1))
    phase1 = plan.phases[0]
    first_end = plan_for(20, start=start, today=start).phases[0].end
    assert phase1.state == "current" and phase1.behind_weeks == pytest.approx(
        (date(2026, 6, 1) - first_end).days / 7, abs=0.1
    )
    assert "weeks behind the first plan" in "\n".join(plan_lines(plan))


@pytest.mark.parametrize(
    ("hours", "start", "track", "said"),
    [
        (0, TODAY, None, "--hours-per-week 0: expected 1 to 60 hours a week"),
        (200, TODAY, None, "--hours-per-week 200"),
        (float("nan"), TODAY, None, "--hours-per-week nan"),
        (6, date(2026, 1, 1), None, "--start 2026-01-01 is in the past (today is 2026-12-07)"),
        (6, TODAY, "robotics", "--track robotics: no phase has that track; choose one of nlp, cv"),
    ],
)
def test_bad_choices_get_one_clear_line(hours, start, track, said):
    with pytest.raises(BadPlan) as caught:
        check_settings(CURRICULUM, PlanSettings(hours, start, track), today=TODAY, new=True)
    assert said in str(caught.value)


def test_a_saved_plan_may_have_started_in_the_past():
    check_settings(CURRICULUM, PlanSettings(6, date(2026, 1, 1)), today=TODAY, new=False)


def test_choices_are_saved_and_read_back(tmp_path):
    chosen = PlanSettings(7.5, TODAY, "cv", "data scientist at a hospital")
    save_settings(tmp_path, "ada", chosen)
    assert saved_settings(tmp_path, "ada") == chosen and saved_settings(tmp_path, "bo") is None


def test_study_sessions_in_the_calendar(tmp_path):
    plan = plan_for(6)  # 6 h a week: three sessions of two hours
    found = sessions(plan)
    assert found and all(end - begin == (found[0][1] - found[0][0]) for begin, end, _, _ in found)
    assert (found[0][1] - found[0][0]).total_seconds() == 2 * 3600
    first_week = [s for s in found if s[0].date() < date(2026, 12, 14)]
    assert len(first_week) == 3 and all(s[0].date() >= TODAY for s in found)
    assert found[0][2] == "Study: " + CURRICULUM.phases[0].assignments[0].notebooks[0].title
    path = tmp_path / "plan.ics"
    assert write_ics(plan, path, stamp=datetime(2026, 12, 7, 9, 0)) == len(found)
    events = [c for c in Calendar.from_ical(path.read_bytes()).walk() if c.name == "VEVENT"]
    assert len(events) == len(found)
    assert {str(e["uid"]) for e in events} == {f"ada-{s[0]:%Y%m%dT%H%M}@ml-career-autograder" for s in found}
    assert "Goal: a first ML job" in str(events[0]["description"])
    write_ics(plan, tmp_path / "again.ics", stamp=datetime(2026, 12, 7, 9, 0))
    assert path.read_bytes() == (tmp_path / "again.ics").read_bytes()  # the same plan, the same file
