"""The learner's progress page, the class report and the Canvas export, on a tiny course graded for real."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.plan import PlanSettings, save_settings
from autograder.grading.evidence import iter_records
from autograder.views.charts import bar_chart, heatmap, histogram, line_chart
from autograder.views.dashboards import class_records, class_view, learner_view, render_progress_page
from autograder.views.mastery import guide_completed
from tests.conftest import CORRECT, TINY, make_course
from tests.test_cli import TWO_PHASES, fill

pytestmark = pytest.mark.slow

NASTY = "<img src=x onerror=alert(1)> & <b>bold</b>"
BROKEN_SCALE = f"def scale(x, k):\n    raise ValueError({NASTY!r})"


def run(course: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["--course", str(course), *args])
    return status, out.getvalue()


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ada masters phase 1 (two seeds), bo's scale() raises (one seed), cy only started."""
    root = make_course(tmp_path_factory.mktemp("dash-course"), manifest=TWO_PHASES)
    later = root / "solutions" / "later"
    later.mkdir()
    (later / "01-tiny.ipynb").write_bytes((root / "solutions" / TINY / "01-tiny.ipynb").read_bytes())
    assert run(root, "release")[0] == 0
    workspaces = root / ".autograder" / "workspaces"
    outputs = {}
    for learner, answers, seeds in (
        ("ada", CORRECT, "2"),
        ("bo", {**CORRECT, "scale-solution": BROKEN_SCALE}, "1"),
    ):
        assert run(root, "start", TINY, "--learner", learner)[0] == 0
        fill(workspaces / learner / TINY / "01-tiny.ipynb", answers)
        status, out = run(root, "submit", TINY, "--learner", learner, "--seeds", seeds)
        assert status == 0, out
        outputs[learner] = out
    status, outputs["cy"] = run(root, "start", TINY, "--learner", "cy")
    assert status == 0
    return {"root": root, "out": outputs, "workspaces": workspaces}


def charts_of(page: str) -> list[ET.Element]:
    """Every <img> of the page must be an embedded SVG with alt text; return the parsed SVGs."""
    images = re.findall(r"<img\b[^>]*>", page)
    svgs = []
    for img in images:
        src = re.search(r'src="([^"]*)"', img).group(1)
        alt = re.search(r'alt="([^"]*)"', img).group(1)
        assert src.startswith("data:image/svg+xml;base64,"), src[:60]
        assert alt.strip()
        text = base64.b64decode(src.split(",", 1)[1]).decode()
        root = ET.fromstring(text)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        # nothing to fetch: the only URL is the SVG namespace name
        assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        svgs.append(root)
    return svgs


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!doctype html>")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "<link" not in page.lower()


def test_a_learner_who_mastered_phase_one_is_pointed_at_the_next_phase(course):
    root = course["root"]
    assert "graded ada/tiny: seed 0: 4/4" in course["out"]["ada"]
    page_path = course["workspaces"] / "ada" / "progress.html"
    assert f"progress page: {page_path}" in course["out"]["ada"]
    settings, curriculum = load_settings(root), load_curriculum(root)
    view = learner_view(curriculum, "ada", list(iter_records(settings, "ada")))
    assert [(p.progress.phase, p.progress.state) for p in view.phases] == [
        ("tiny", "mastered"),
        ("later", "unlocked"),
    ]
    (tiny,) = view.phases[0].assignments
    assert len(tiny.seeds) == 2 and tiny.seeds[0] == "0"
    assert all(x.full_marks for x in view.phases[0].exercises)
    step = view.next_step
    assert (step.phase, step.exercise.assignment, step.exercise.exercise) == ("later", "later", "mean-tests")
    assert step.text == "not graded yet"

    page = page_path.read_text()
    assert_self_contained(page)
    assert "Next exercise:</b> <code>mean-tests</code> in <b>Tiny again</b>" in page
    svgs = charts_of(page)
    titles = [svg.findtext("{http://www.w3.org/2000/svg}title") for svg in svgs]
    assert titles == ["Tiny phase: notebook scores", "tiny: exercises x parameter sets"]
    # the heatmap has a column per seed and a row per exercise, all at full marks
    cells = [
        t.text for t in svgs[1].iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.endswith("%")
    ]
    assert cells == ["100%"] * 6


def test_a_failing_learner_sees_the_locked_phase_the_next_exercise_and_escaped_errors(course, tmp_path):
    root = course["root"]
    settings, curriculum = load_settings(root), load_curriculum(root)
    view = learner_view(curriculum, "bo", list(iter_records(settings, "bo")))
    tiny, later = view.phases
    assert tiny.progress.state == "unlocked"
    assert later.progress.state == "locked" and later.requires == ["Tiny phase"]
    scores = {x.exercise: list(x.scores.values()) for x in tiny.exercises}
    assert scores == {"mean-tests": [1.0], "scale-tests": [0.0], "predict-tests": [1.0]}
    assert view.next_step.exercise.exercise == "scale-tests"
    assert "ValueError" in view.next_step.exercise.problem

    status, out = run(root, "progress", "--learner", "bo", "--html", str(tmp_path / "bo.html"))
    assert status == 0 and "wrote" in out
    page = (tmp_path / "bo.html").read_text()
    assert page == (course["workspaces"] / "bo" / "progress.html").read_text()  # same data, same bytes
    assert page == render_progress_page(view)
    assert_self_contained(page)
    assert "Next exercise:</b> <code>scale-tests</code>" in page
    assert "Locked: it needs <b>Tiny phase</b> mastered first." in page
    assert "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert len(charts_of(page)) == 2
    # without --html, progress keeps printing its table
    status, out = run(root, "progress", "--learner", "bo")
    assert status == 0 and "bo: to master tiny and unlock later:" in out


def test_a_learner_who_only_started_gets_a_page_too(course):
    assert f"progress page: {course['workspaces'] / 'cy' / 'progress.html'}" in course["out"]["cy"]
    page = (course["workspaces"] / "cy" / "progress.html").read_text()
    assert_self_contained(page)
    assert "Next exercise:</b> <code>mean-tests</code> in <b>Tiny notebook</b>" in page
    assert charts_of(page) == []  # nothing graded, nothing to chart


def test_the_class_report_shows_where_learners_are_blocked(course, tmp_path):
    root = course["root"]
    settings, curriculum = load_settings(root), load_curriculum(root)
    view = class_view(curriculum, class_records(settings))
    assert view.learners == ["ada", "bo", "cy"]
    counts = {p.phase: (p.locked, p.unlocked, p.mastered) for p in view.phases}
    assert counts == {"tiny": (0, 2, 1), "later": (2, 1, 0)}
    # bo lacks scale-tests, cy lacks everything: scale-tests blocks two learners
    assert view.phases[0].blockers[0] == ("01-tiny / scale-tests", 2)
    hardest = view.hardest()
    assert (hardest[0].exercise, hardest[0].mean, hardest[0].full_marks) == ("scale-tests", 0.5, 1)
    assert sorted(hardest[0].values) == [0.0, 1.0]
    assert list(view.mastered_by_date) == ["Tiny phase", "The phase after"]
    assert [counts[-1] for counts in view.mastered_by_date.values()] == [1, 0]

    status, out = run(root, "report", "--html", str(tmp_path / "class.html"))
    assert status == 0 and "01-tiny / scale-tests (2)" in out
    page = (tmp_path / "class.html").read_text()
    assert_self_contained(page)
    svgs = charts_of(page)
    titles = [svg.findtext("{http://www.w3.org/2000/svg}title") for svg in svgs]
    assert titles[:3] == [
        "Learners per phase state",
        "Learners who have mastered each phase",
        "Lowest mean fraction of the points",
    ]
    assert titles[3:] == ["01-tiny / mean-tests", "01-tiny / scale-tests", "01-tiny / predict-tests"]
    assert "<td>1</td><td>scale-tests</td><td>01-tiny</td><td>tiny</td><td>50%</td>" in page

    status, _ = run(root, "report", "--assignment", "later", "--html", str(tmp_path / "later.html"))
    assert status == 0
    later = (tmp_path / "later.html").read_text()
    assert "Tiny phase" not in later.split("<h2>Hardest")[0].split("Where learners are blocked")[1]
    assert run(root, "report", "--assignment", "nope")[0] == 2


def test_canvas_export_has_the_gradebooks_totals_with_manual_scores(course, tmp_path):
    root = course["root"]
    settings = load_settings(root)
    with Gradebook(settings.db_url, settings.course_id) as gb:  # a grader's manual score in formgrader
        gb.find_grade("scale-tests", "01-tiny", TINY, "bo").manual_score = 0.5
        gb.db.commit()
    out = tmp_path / "canvas.csv"
    status, printed = run(root, "export", "--lms", "canvas", "--out", str(out))
    assert status == 0 and "3 learner(s)" in printed
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Tiny phase (tiny)",
        "The phase after (later)",
    ]
    assert rows[1] == ["Points Possible", "", "", "", "", "4", "4"]
    body = {row[0]: row for row in rows[2:]}
    assert list(body) == ["ada", "bo", "cy"]
    with Gradebook(settings.db_url, settings.course_id) as gb:
        for learner in ("ada", "bo"):
            assert float(body[learner][5]) == gb.find_submission(TINY, learner).score
    assert body["ada"] == ["ada", "", "", "ada", "", "4", ""]
    assert body["bo"] == ["bo", "", "", "bo", "", "3.5", ""]  # 2 + 1 autograded, 0.5 by hand
    assert body["cy"] == ["cy", "", "", "cy", "", "", ""]  # no submission: empty, not 0
    status, printed = run(root, "export", "--lms", "canvas")
    assert status == 0 and printed == out.read_bytes().decode()


def test_charts_are_deterministic_svg_with_escaped_labels():
    charts = [
        bar_chart(["a<b", "c"], {"s": [0.5, None]}, title="T & t", threshold=0.8),
        histogram([0.0, 0.5, 1.0, 1.0], [i / 10 for i in range(11)], title="h", x_label="score"),
        heatmap(["r"], ["seed 0", "seed 1"], [[1.0, None]], title="m"),
        line_chart(["2026-01-01"], {"p": [2]}, title="l", y_label="learners"),
    ]
    again = bar_chart(["a<b", "c"], {"s": [0.5, None]}, title="T & t", threshold=0.8)
    assert again.svg == charts[0].svg
    for chart in charts:
        ET.fromstring(chart.svg)
    assert "a&lt;b" in charts[0].svg and "no data" in charts[0].svg
    assert "0% to 10%: 1" in charts[1].alt and "90% to 100%: 2" in charts[1].alt
    assert charts_of("".join(c.img() for c in charts))


def test_a_learner_who_masters_the_last_phase_has_completed_the_guide(tmp_path):
    root = make_course(tmp_path / "course", manifest=TWO_PHASES)
    later = root / "solutions" / "later"
    later.mkdir()
    (later / "01-tiny.ipynb").write_bytes((root / "solutions" / TINY / "01-tiny.ipynb").read_bytes())
    assert run(root, "release")[0] == 0
    workspaces = root / ".autograder" / "workspaces"
    for assignment in (TINY, "later"):
        assert run(root, "start", assignment, "--learner", "dee")[0] == 0
        fill(workspaces / "dee" / assignment / "01-tiny.ipynb", CORRECT)
        status, out = run(root, "submit", assignment, "--learner", "dee", "--seeds", "2")
        assert status == 0, out
    settings, curriculum = load_settings(root), load_curriculum(root)
    view = learner_view(curriculum, "dee", list(iter_records(settings, "dee")))
    assert [p.progress.state for p in view.phases] == ["mastered", "mastered"]
    assert view.next_step is None
    page = (workspaces / "dee" / "progress.html").read_text()
    assert_self_contained(page)
    assert "You have completed the guide.</b>" in page
    assert "<li>Tiny phase</li><li>The phase after</li>" in page
    status, out = run(root, "progress", "--learner", "dee")
    assert status == 0 and "dee: has mastered every phase and completed the guide" in out
    status, out = run(root, "progress", "--learner", "dee", "--json")
    assert status == 0 and '"completed": true' in out
    # the plan re-made from this evidence: both phases mastered today, nothing left
    status, out = run(root, "plan", "--learner", "dee", "--hours-per-week", "6")
    today = date.today().isoformat()
    assert status == 0 and f"tiny: mastered {today}" in out and f"later: mastered {today}" in out
    page = (workspaces / "dee" / "progress.html").read_text()  # the plan is on the page now
    assert "<h2>Your plan</h2><p>6 hours a week from" in page and "Target end: <b>" in page
    titles = [svg.findtext("{http://www.w3.org/2000/svg}title") for svg in charts_of(page)]
    assert "Weeks per phase: the first plan against now" in titles
    # a learner who planned 200 days ago and has not started is behind; the class report says so
    assert run(root, "start", TINY, "--learner", "eve")[0] == 0
    save_settings(settings.state_dir, "eve", PlanSettings(6, date.today() - timedelta(days=200)))
    status, out = run(root, "report", "--html", str(tmp_path / "report.html"))
    report = (tmp_path / "report.html").read_text()
    assert status == 0 and "<h2>Plans</h2>\n<p>2 of 2 learner(s) made a plan" in report
    eve, dee_row = report.index("<td>eve</td>"), report.index("<td>dee</td>")
    assert eve < dee_row and "every phase mastered" in report[dee_row:]  # most behind first
    behind = re.search(r"<td>eve</td><td>6</td><td>Tiny phase</td><td>[0-9-]+</td><td>([0-9.]+)</td>", report)
    assert behind and 27 < float(behind.group(1)) < 29
    # one phase short of the end is not completion
    phases = [v.progress for v in view.phases]
    assert guide_completed(phases)
    assert not guide_completed([phases[0], replace(phases[1], state="unlocked")])
