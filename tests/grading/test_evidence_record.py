"""The typed evidence record: records on disk load, and grading and every view are unchanged.

``tests/files/record13/`` holds what the code before the typed record produced for one
small class of the tiny course: each ``record.json`` (with the times that differ from one
grading to the next set to fixed values) and the text of every view of them (feedback
pages, progress pages and tables, the class report). The slow test grades the same
class now and must produce the same files; the fast tests read those records with the
typed classes and render the same views from them, without a kernel.

To regenerate the expected files after an intended change, run the slow test with
``AUTOGRADER_WRITE_EXPECTED=1`` (on the code whose output is the new reference), for
instance in a git worktree of that commit with ``PYTHONPATH`` set to the worktree. It then
grades without the sandbox, which cannot import a package from outside the checkout the
environment installed; these honest and wrong answers score the same either way.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.course.config import Settings, load_settings
from autograder.course.curriculum import Assignment, Curriculum, MasteryRule, NotebookSpec, load_curriculum
from autograder.grading.evidence import (
    CellResult,
    CheckResult,
    EvidenceRecord,
    GradingRecord,
    NotebookResult,
    RunResult,
    Submission,
    iter_records,
    latest_by_learner,
    latest_record,
)
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment, generate_release
from autograder.views.feedback import write_feedback
from autograder.views.mastery import assignment_progress, phase_progress, record_gaps
from tests.conftest import CORRECT, TINY, learner_notebook, make_course, submit_notebook

EXPECTED = Path(__file__).parents[1] / "files" / "record13"
WRITE = os.environ.get("AUTOGRADER_WRITE_EXPECTED") == "1"

HARD_CODED = {
    **CORRECT,
    "mean-solution": "def column_mean(x):\n"  # the mean of the default seed's data, copied
    "    return 10.25799294179267 if len(x) == 50 else float(np.mean(x))",
}
WRONG_SCALE = {**CORRECT, "scale-solution": "def scale(x, k):\n    return np.asarray(x) + k"}
CLASS = [  # (learner, answers or raw notebook text, seeds): in grading order
    ("ada", CORRECT, 1),  # one parameter set: not yet mastery
    ("bo", WRONG_SCALE, 2),
    ("cy", HARD_CODED, 2),
    ("di", "{ not a notebook", 2),
    ("ada", CORRECT, 2),  # ada's latest record: mastery
]
LEARNERS = sorted({name for name, _, _ in CLASS})


# ---------------------------------------------------------------- helpers (also run on the old code)


def normalize(text: str, index: int, root: Path) -> str:
    """``record.json`` with what differs between two gradings of the same work set: the time it
    was graded (the ``index``-th grading of the class), how long each run took, and the
    course's folder in messages."""
    data = json.loads(text.replace(json.dumps(str(root))[1:-1], "/course"))
    data["graded_at"] = f"2026-11-26T10:{index:02d}:00.000000Z"
    for nb in data["notebooks"].values():
        for run in nb["runs"]:
            run["seconds"] = 0.0
    return json.dumps(data, indent=1, sort_keys=True)


def cli(root: Path, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--course", str(root), *args]) == 0
    return out.getvalue()


def render_views(settings: Settings, curriculum: Curriculum, folder: Path) -> dict[str, str]:
    """Every view of the class's evidence, by file name: what must not change."""
    root = settings.root
    views = {
        "progress.txt": cli(root, "progress"),
        "progress.json": cli(root, "progress", "--json"),
        "report.txt": cli(root, "report"),
    }
    cli(root, "report", "--html", str(folder / "report.html"))
    views["report.html"] = (folder / "report.html").read_text()
    for learner in LEARNERS:
        cli(root, "progress", "--learner", learner, "--html", str(folder / f"{learner}.html"))
        views[f"progress-{learner}.html"] = (folder / f"{learner}.html").read_text()
        for path in write_feedback(settings, curriculum, TINY, learner):
            views[f"feedback-{learner}-{path.name}"] = path.read_text()
    return views


def compare_or_write(expected: Path, actual: str) -> None:
    if WRITE:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(actual)
    else:
        assert actual == expected.read_text(), f"{expected.name} differs from the one graded before"


def course_for(root: Path) -> tuple[Settings, Curriculum]:
    make_course(root)
    settings = load_settings(root)
    return settings, load_curriculum(root)


# ---------------------------------------------------------------- slow: grade the class for real


@pytest.mark.slow
def test_grading_the_class_writes_the_same_records_and_views(tmp_path):
    settings, curriculum = course_for(tmp_path / "course")
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    for index, (learner, answers, seeds) in enumerate(CLASS):
        submit_notebook(
            settings, learner, answers if isinstance(answers, str) else learner_notebook(settings, answers)
        )
        (result,) = grade_assignment(
            settings,
            curriculum,
            TINY,
            learners=[learner],
            seeds=seeds,
            rng=random.Random(13 + index),
            unsafe_no_sandbox=WRITE,  # see the module's docstring
        )
        assert result.evidence is not None
        path = result.evidence.path / "record.json"
        text = normalize(path.read_text(), index, settings.root)
        path.write_text(text)  # the views below read the same normalised record
        relative = result.evidence.path.relative_to(settings.evidence_dir)
        compare_or_write(EXPECTED / "evidence" / relative.parent / f"{index}" / "record.json", text)
    for name, text in render_views(settings, curriculum, tmp_path).items():
        compare_or_write(EXPECTED / "views" / name, text)


# ---------------------------------------------------------------- fast: stored records and views


def stored_records() -> list[Path]:
    return sorted((EXPECTED / "evidence").rglob("record.json"))


def test_records_on_disk_load_typed_and_write_back_byte_for_byte():
    assert len(stored_records()) == len(CLASS)
    for path in stored_records():
        text = path.read_text()
        record = GradingRecord.from_json(json.loads(text))
        assert record.dumps() == text, path
        for nb in record.notebooks.values():
            assert all(isinstance(run, RunResult) and run.cells for run in nb.runs)
    di = GradingRecord.from_json(json.loads((EXPECTED / "evidence/di/tiny/3/record.json").read_text()))
    assert di.notebooks["01-tiny"].status == "malformed"
    assert {run.status for run in di.notebooks["01-tiny"].runs} == {"malformed"}


def test_a_record_without_the_later_keys_still_loads():
    """A format-1 record written before written answers were recorded has no manual or comments."""
    data = json.loads((EXPECTED / "evidence/bo/tiny/1/record.json").read_text())
    for nb in data["notebooks"].values():
        del nb["manual"], nb["comments"]
    nb = GradingRecord.from_json(data).notebooks["01-tiny"]
    assert nb.manual == {} and nb.comments == {} and nb.runs[0].score == 3.0


def test_written_answers_round_trip_with_their_types():
    """A written answer's automatic score stays what nbgrader gave (0, not 0.0; None when answered)."""
    data = json.loads((EXPECTED / "evidence/bo/tiny/1/record.json").read_text())
    nb = data["notebooks"]["01-tiny"]
    nb["manual"] = {
        "essay": {"grade_id": "essay", "points": 2.0, "answered": False, "auto_score": 0},
        "plan": {"grade_id": "plan", "points": 1.0, "answered": True, "auto_score": None},
    }
    nb["comments"] = {"essay": "No response.", "plan": None}
    record = GradingRecord.from_json(data)
    assert record.notebooks["01-tiny"].manual["plan"].answered
    assert json.dumps(record.to_json(), sort_keys=True) == json.dumps(data, sort_keys=True)


def test_views_of_stored_records_are_what_grading_showed(tmp_path):
    settings, curriculum = course_for(tmp_path / "course")
    shutil.copytree(EXPECTED / "evidence", settings.evidence_dir)
    assert {r.learner for r in iter_records(settings)} == set(LEARNERS)
    views = render_views(settings, curriculum, tmp_path)
    assert sorted(views) == sorted(p.name for p in (EXPECTED / "views").iterdir())
    for name, text in views.items():
        assert text == (EXPECTED / "views" / name).read_text(), name


# ---------------------------------------------------------------- fast: the pure parts


def run(seed: int, scores: dict[str, tuple[float, float]], status: str = "completed") -> RunResult:
    """A run whose cells (grade_id -> (score, points)) fail one check where short of full marks."""
    cells = {
        gid: CellResult(gid, points, score, checks=[CheckResult("c", score >= points, "why", "hint")])
        for gid, (score, points) in scores.items()
    }
    return RunResult({"seed": seed}, status, "", 0.5, cells)  # type: ignore[arg-type]


def record(graded_at: str, runs: list[RunResult], learner: str = "ada", folder: str = "r") -> EvidenceRecord:
    nb = NotebookResult("01-tiny", "graded", runs=runs)
    data = GradingRecord(
        learner,
        TINY,
        TINY,
        graded_at,
        "0",
        "",
        Submission("0" * 64),
        {},
        [r.parameters for r in runs],
        {"01-tiny": nb},
        [],
    )
    return EvidenceRecord(Path(folder), data)


TINY_SPEC = Assignment(TINY, TINY, (NotebookSpec("01-tiny.ipynb", "Tiny", core=("mean-tests",)),))
RULE = MasteryRule(min_notebook_score=0.8, core_full_marks=True, min_parameter_sets=2)
FULL = {"mean-tests": (2.0, 2.0), "scale-tests": (1.0, 1.0), "predict-tests": (1.0, 1.0)}
NO_MEAN = {**FULL, "mean-tests": (0.0, 2.0)}


def test_score_sums_per_run_notebook_and_parameter_set():
    runs = [run(0, FULL), run(7, NO_MEAN)]
    assert (runs[1].score, runs[1].max_score, runs[1].fraction) == (2.0, 4.0, 0.5)
    assert run(0, {}).fraction == 1.0 and CellResult("x", 0.0, 0.0).fraction == 1.0
    r = record("2026-11-26T10:00:00Z", runs)
    assert r.record.notebooks["01-tiny"].fractions() == [1.0, 0.5]
    assert r.record.score(0) == (4.0, 4.0) and r.record.score(1) == (2.0, 4.0) and r.record.score(2) == (0, 0)
    assert r.record.default_fraction() == 1.0
    result = SubmissionResult("ada", TINY, list(r.record.notebooks.values()), [])
    assert result.score(0) == r.record.score(0) and result.score(1) == r.record.score(1)


def test_latest_record_is_the_last_graded_then_the_later_folder():
    old = record("2026-11-26T10:00:00Z", [run(0, FULL)], folder="a")
    new = record("2026-11-26T11:00:00Z", [run(0, NO_MEAN)], folder="b")
    tie = record("2026-11-26T11:00:00Z", [run(0, FULL)], folder="b-1")
    bo = record("2026-11-27T00:00:00Z", [run(0, FULL)], learner="bo")
    assert latest_record([new, old], TINY) is new
    assert latest_record([tie, new, old], TINY) is tie
    assert latest_record([old], "other") is None
    assert latest_by_learner([old, bo, new], TINY) == {"ada": new, "bo": bo}


def test_mastery_from_typed_records():
    one_seed = record("2026-11-26T10:00:00Z", [run(0, FULL)])
    copied = record("2026-11-26T11:00:00Z", [run(0, FULL), run(7, NO_MEAN)])
    problems = [g.problem for g in record_gaps(copied, TINY_SPEC, RULE)]
    assert problems == [
        "scored 50% with seed 7; needs 80% on every seed",
        "passes with the default seed only: compute every answer from the data the "
        "notebook is given, never copy a result",
        "core exercise, needs full marks: failed with seed 7",
    ]
    assert [g.problem for g in record_gaps(one_seed, TINY_SPEC, RULE)] == [
        "graded under 1 parameter set(s); mastery needs 2"
    ]
    progress = assignment_progress(TINY_SPEC, RULE, [copied, one_seed])
    assert not progress.mastered and progress.records == 2 and progress.latest_score == 1.0
    assert [g.seeds for g in progress.gaps][-1] == ["7"]
    honest = record("2026-11-26T12:00:00Z", [run(0, FULL), run(7, FULL)])
    later_wrong = record("2026-11-26T13:00:00Z", [run(0, NO_MEAN), run(7, NO_MEAN)])
    progress = assignment_progress(TINY_SPEC, RULE, [later_wrong, honest])
    assert progress.mastered and progress.gaps == [] and progress.latest_score == 0.5


def test_phase_states_from_stored_records(tmp_path):
    settings, curriculum = course_for(tmp_path / "course")
    shutil.copytree(EXPECTED / "evidence", settings.evidence_dir)
    states = {
        learner: [(p.state, p.mastered, p.unlocked, p.locked, p.planned) for p in phases]
        for learner in LEARNERS
        for phases in [phase_progress(curriculum, list(iter_records(settings, learner)))]
    }
    assert states["ada"] == [
        ("mastered", True, False, False, False),
        ("unlocked (planned)", False, True, False, True),
    ]
    assert states["cy"] == [("unlocked", False, True, False, False), ("locked", False, False, True, False)]
