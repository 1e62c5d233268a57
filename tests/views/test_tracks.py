"""A phase with two tracks, graded for real: either track masters it, and every view says
which track a learner took (progress table and JSON, the progress page, feedback, the
class report)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from autograder.cli import main
from tests.conftest import CORRECT, MANIFEST, TINY, make_course
from tests.test_cli import fill

pytestmark = pytest.mark.slow

WITH_TRACKS = (
    MANIFEST.split("  - id: next")[0]
    + """\
  - id: spec
    title: "Specialise"
    requires: [tiny]
    tracks:
      - id: nlp
        title: "Natural language processing"
        assignments:
          - id: spec-nlp
            notebooks:
              - {file: 01-tiny.ipynb, title: "Tiny text", core: [mean-tests]}
      - id: cv
        title: "Computer vision"
        assignments:
          - id: spec-cv
            notebooks:
              - {file: 01-tiny.ipynb, title: "Tiny images", core: [mean-tests]}
  - id: after
    title: "After the specialisation"
    requires: [spec]
    status: planned
    assignments: []
"""
)
BROKEN_MEAN = {**CORRECT, "mean-solution": "def column_mean(x):\n    return 0.0"}


def run(course: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(["--course", str(course), *args])
    return status, out.getvalue()


def take(root: Path, learner: str, assignment: str, answers: dict[str, str], *start: str) -> None:
    status, out = run(root, "start", *(start or (assignment,)), "--learner", learner)
    assert status == 0, out
    fill(root / ".autograder" / "workspaces" / learner / assignment / "01-tiny.ipynb", answers)
    status, out = run(root, "submit", assignment, "--learner", learner, "--seeds", "2")
    assert status == 0, out


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ana masters spec with nlp, then also tries cv; ben has not chosen; cy is on cv, failing."""
    root = make_course(tmp_path_factory.mktemp("tracks-course"), manifest=WITH_TRACKS)
    for track in ("spec-nlp", "spec-cv"):
        (root / "solutions" / track).mkdir()
        (root / "solutions" / track / "01-tiny.ipynb").write_bytes(
            (root / "solutions" / TINY / "01-tiny.ipynb").read_bytes()
        )
    assert run(root, "release")[0] == 0
    for learner in ("ana", "ben", "cy"):
        take(root, learner, TINY, CORRECT)
    take(root, "ana", "spec-nlp", CORRECT, "spec", "--track", "nlp")
    take(root, "ana", "spec-cv", BROKEN_MEAN, "spec", "--track", "cv")
    take(root, "cy", "spec-cv", BROKEN_MEAN, "spec", "--track", "cv")
    return root


def test_either_track_masters_the_phase_and_the_progress_says_which(course):
    status, out = run(course, "progress")
    assert status == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:4]}
    assert "mastered, track nlp" in rows["ana"]
    assert "unlocked, track cv" in rows["cy"] and "locked" in rows["ben"]
    assert "ana: spec counts the nlp track (also taken: cv)" in out
    assert "ana: after is unlocked; its notebooks are coming" in out  # spec mastered: the next phase opens
    assert (
        "ben: spec has tracks; choose one: autograder start spec "
        "--track nlp (Natural language processing) or --track cv (Computer vision)" in out
    )
    assert "cy: spec counts the cv track" in out and "cy: to master spec and unlock after:" in out
    status, out = run(course, "progress", "--json")
    learners = json.loads(out)
    spec = {item["learner"]: next(p for p in item["phases"] if p["phase"] == "spec") for item in learners}
    assert (spec["ana"]["state"], spec["ana"]["track"], spec["ana"]["tracks_taken"]) == (
        "mastered",
        "nlp",
        ["nlp", "cv"],
    )
    assert [a["assignment"] for a in spec["ana"]["assignments"]] == ["spec-nlp"]
    assert (spec["ben"]["state"], spec["ben"]["track"], spec["ben"]["assignments"]) == ("unlocked", None, [])
    assert (spec["cy"]["state"], spec["cy"]["track"]) == ("unlocked", "cv")


def test_the_progress_page_names_the_track_and_shows_the_other_one_taken(course, tmp_path):
    page = tmp_path / "ana.html"
    assert run(course, "progress", "--learner", "ana", "--html", str(page))[0] == 0
    text = page.read_text()
    assert "Mastered with <b>Natural language processing</b>. You also took: Computer vision." in text
    assert "spec-nlp (Natural language processing track): mastered" in text
    assert "spec-cv (Computer vision track): not mastered yet" in text
    page = tmp_path / "ben.html"
    assert run(course, "progress", "--learner", "ben", "--html", str(page))[0] == 0
    text = page.read_text()
    assert "Choose a track: <code>autograder start spec --track ID</code>" in text
    assert "<b>Next:</b> Specialise is unlocked; choose a track: autograder start spec --track nlp" in text


def test_feedback_and_the_class_report_name_the_track(course, tmp_path):
    status, out = run(course, "feedback", "spec-cv", "--learner", "cy")
    assert status == 0, out
    pages = list((course / ".autograder" / "feedback" / "cy" / "spec-cv").glob("*.mastery.html"))
    assert pages and "assignment <b>spec-cv</b> (Specialise: Computer vision)" in pages[0].read_text()
    status, out = run(course, "report", "--html", str(tmp_path / "report.html"))
    assert status == 0
    spec_row = next(line for line in out.splitlines() if line.startswith("spec "))
    assert "nlp 1, cv 2" in spec_row
    assert "Natural language processing: 1, Computer vision: 2" in (tmp_path / "report.html").read_text()
