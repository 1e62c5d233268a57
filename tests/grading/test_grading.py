"""The grading pipeline end to end on the tiny course: real nbgrader, papermill, kernels."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.grading.evidence import iter_records
from autograder.grading.grade import SubmissionError, SubmissionResult, grade_assignment
from autograder.grading.reference import get_reference
from autograder.views.mastery import phase_progress
from tests.conftest import CORRECT, TINY, learner_notebook, release_notebook, submit_notebook

pytestmark = pytest.mark.slow


def grade_one(settings, curriculum, learner: str, seeds: int = 2) -> SubmissionResult:
    (result,) = grade_assignment(
        settings, curriculum, TINY, learners=[learner], seeds=seeds, rng=random.Random(7)
    )
    assert isinstance(result, SubmissionResult), result
    return result


def cell_scores(result: SubmissionResult, run: int = 0) -> dict[str, float]:
    (nb,) = result.notebooks
    return {gid: cell.score for gid, cell in nb.runs[run].cells.items()}


def test_correct_submission_full_marks_on_every_seed_and_in_the_gradebook(settings, curriculum):
    submit_notebook(settings, "ada", learner_notebook(settings, CORRECT))
    result = grade_one(settings, curriculum, "ada")
    assert result.errors == []
    (nb,) = result.notebooks
    assert len(nb.runs) == 2 and nb.runs[0].parameters == {"seed": 0} and nb.runs[1].parameters["seed"] != 0
    for run in nb.runs:
        assert run.score == run.max_score == 4
    with Gradebook(settings.db_url, settings.course_id) as gb:
        submission = gb.find_submission(TINY, "ada")
        assert submission.score == 4 and submission.max_score == 4
    assert (settings.autograded_dir / "ada" / TINY / "01-tiny.ipynb").is_file()
    progress = phase_progress(curriculum, list(iter_records(settings, "ada")))
    assert [p.state for p in progress] == ["mastered", "unlocked (planned)"]


def test_untouched_release_scores_zero_everywhere(settings, curriculum):
    submit_notebook(settings, "blank", release_notebook(settings))
    result = grade_one(settings, curriculum, "blank")
    assert set(cell_scores(result).values()) == {0.0}
    errors = [cell.error for cell in result.notebooks[0].runs[0].cells.values()]
    assert all("NotImplementedError" in e or "NameError" in e for e in errors), errors


def test_partly_wrong_submission_keeps_the_honest_points(settings, curriculum):
    answers = {**CORRECT, "scale-solution": "def scale(x, k):\n    return np.asarray(x) + k"}
    submit_notebook(settings, "bo", learner_notebook(settings, answers))
    result = grade_one(settings, curriculum, "bo")
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 0.0, "predict-tests": 1.0}
    failed = [c for c in result.notebooks[0].runs[0].cells["scale-tests"].checks if not c.passed]
    assert failed and all(c.hint == "Multiply every entry by k." for c in failed)
    # the learner-facing reason never carries the expected value
    reference = get_reference(settings, TINY, "01-tiny", {"seed": 0})
    expected = reference.cells["scale-tests"]["checks"]["tiny.scale"]["value"]["data"]
    assert not any(f"{v:.4f}"[:6] in c.reason for c in failed for v in expected)


def test_hard_coded_default_seed_answers_fail_mastery(settings, curriculum):
    reference = get_reference(settings, TINY, "01-tiny", {"seed": 0})
    mean = reference.cells["mean-tests"]["checks"]["tiny.mean"]["value"]["value"]
    hidden = reference.cells["mean-tests"]["checks"]["tiny.mean-hidden"]["value"]["value"]
    answers = {
        **CORRECT,
        "mean-solution": (
            "def column_mean(x):\n"
            "    if len(x) == 2:\n        return 2.0\n"
            f"    return {mean!r} if len(x) == 50 else {hidden!r}"
        ),
    }
    submit_notebook(settings, "cheat", learner_notebook(settings, answers))
    result = grade_one(settings, curriculum, "cheat")
    assert cell_scores(result, 0)["mean-tests"] == 2.0  # the default seed is fooled...
    assert cell_scores(result, 1)["mean-tests"] == 0.0  # ...the drawn seed is not
    progress = phase_progress(curriculum, list(iter_records(settings, "cheat")))
    assert progress[0].state == "unlocked" and progress[1].state == "locked"
    gaps = progress[0].assignments[0].gaps
    assert any(g.exercise == "mean-tests" and "core" in g.problem for g in gaps)


ATTACKS = {
    "eq-always-true": (
        "class Anything(float):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    __hash__ = float.__hash__\n"
        "class Object:\n    def __eq__(self, other):\n        return True\n"
        "def column_mean(x):\n"
        "    return Anything(0.0) if len(x) != 2 else Anything(2.0)"
    ),
    "patched-isclose": (
        "import math, numpy\n"
        "math.isclose = lambda *a, **k: True\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "numpy.isclose = lambda *a, **k: True\n"
        "numpy.testing.assert_allclose = lambda *a, **k: None\n"
        "import autograder.compare as c\n"
        "c.compare = lambda *a, **k: c.Outcome(True)\n"
        "def column_mean(x):\n    return 2.0 if len(x) == 2 else -1.0"
    ),
    "ast-strips-asserts": (
        "import ast\n"
        "class StripAsserts(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n        return ast.Pass()\n"
        "get_ipython().ast_transformers.append(StripAsserts())\n"
        "def column_mean(x):\n    return -1.0"
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_tampering_in_the_kernel_does_not_raise_a_score(settings, curriculum, attack):
    answers = {**CORRECT, "mean-solution": ATTACKS[attack]}
    learner = f"attack-{attack}"
    submit_notebook(settings, learner, learner_notebook(settings, answers))
    result = grade_one(settings, curriculum, learner)
    for run in range(2):
        scores = cell_scores(result, run)
        assert scores["mean-tests"] == 0.0, (attack, scores)
        assert scores["scale-tests"] == 1.0 and scores["predict-tests"] == 1.0  # honest cells keep points


def test_edited_and_deleted_test_cells_are_restored_and_logged(settings, curriculum):
    nb = learner_notebook(settings, {**CORRECT, "scale-solution": "def scale(x, k):\n    return x"})
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "scale-tests":
            cell.source = "pass  # nothing to see here"
            cell.metadata.nbgrader["points"] = 100
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "predict-tests"]
    submit_notebook(settings, "tamper", nb)
    result = grade_one(settings, curriculum, "tamper")
    scores = cell_scores(result)
    assert scores == {"mean-tests": 2.0, "scale-tests": 0.0, "predict-tests": 1.0}
    assert result.notebooks[0].runs[0].max_score == 4
    log = " ".join(result.notebooks[0].tampering)
    assert "scale-tests" in log and "points" in log and "predict-tests" in log
    assert any("restored from the release" in e for e in result.errors)


def test_bad_submissions_get_one_line_each_and_the_batch_goes_on(settings, curriculum):
    good = learner_notebook(settings, CORRECT)
    submit_notebook(settings, "trunc", nbformat.writes(good)[:300])
    submit_notebook(settings, "empty", b"")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    other.cells[0].metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "from-another-course",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    submit_notebook(settings, "wrongnb", other)
    submit_notebook(settings, "fine", good)
    extra = settings.submitted_dir / "fine" / TINY / "99-extra.ipynb"
    nbformat.write(good, str(extra))
    results = grade_assignment(
        settings, curriculum, TINY, learners=["trunc", "empty", "nobody", "wrongnb", "fine"], seeds=1
    )
    by_name = {getattr(r, "learner", "nobody"): r for r in results}
    assert isinstance(by_name["nobody"], SubmissionError)
    assert "no submission from 'nobody'" in str(by_name["nobody"])
    for name in ("trunc", "empty"):
        (line,) = by_name[name].errors
        assert "01-tiny.ipynb" in line and "not a readable notebook" in line and "submit again" in line
        assert by_name[name].notebooks[0].status == "malformed"
    (line,) = by_name["wrongnb"].errors
    assert "belong to another notebook" in line
    (line,) = by_name["fine"].errors
    assert "99-extra.ipynb" in line and "not part of tiny" in line
    assert by_name["fine"].score(0) == (4.0, 4.0)
    # the bad submissions were not touched
    assert (settings.submitted_dir / "trunc" / TINY / "01-tiny.ipynb").read_text() == nbformat.writes(good)[
        :300
    ]


def test_crash_and_timeout_cost_only_their_own_submission(settings, curriculum):
    crash = {**CORRECT, "scale-solution": "import os\nos._exit(1)"}
    hang = {**CORRECT, "scale-solution": "while True:\n    pass"}
    submit_notebook(settings, "crash", learner_notebook(settings, crash))
    submit_notebook(settings, "hang", learner_notebook(settings, hang))
    submit_notebook(settings, "steady", learner_notebook(settings, CORRECT))
    results = grade_assignment(settings, curriculum, TINY, learners=["crash", "hang", "steady"], seeds=1)
    crash_r, hang_r, steady_r = results
    run = crash_r.notebooks[0].runs[0]
    assert run.status == "crashed" and "died" in run.reason
    assert run.cells["mean-tests"].score == 2.0  # ran before the crash
    assert run.cells["scale-tests"].score == 0.0 and "not run" in run.cells["scale-tests"].error
    hang_run = hang_r.notebooks[0].runs[0]
    executed = nbformat.read(str(hang_r.evidence.path / "executed" / "01-tiny.seed0.ipynb"), as_version=4)
    (stuck,) = [c for c in executed.cells if c.get("id") == "scale-solution"]
    assert stuck.outputs[-1]["ename"] in ("KeyboardInterrupt", "CellTimeoutError")  # interrupted
    assert hang_run.cells["scale-tests"].score == 0.0
    assert hang_run.cells["mean-tests"].score == 2.0 and hang_run.cells["predict-tests"].score == 1.0
    assert steady_r.score(0) == (4.0, 4.0)


def test_regrade_adds_a_record_and_keeps_the_old_one(settings, curriculum):
    submit_notebook(settings, "again", learner_notebook(settings, CORRECT))
    first = grade_one(settings, curriculum, "again", seeds=1)
    second = grade_one(settings, curriculum, "again", seeds=1)
    assert first.evidence.path != second.evidence.path
    assert first.evidence.path.is_dir() and second.evidence.path.is_dir()
    record = json.loads((second.evidence.path / "record.json").read_text())
    assert record["submission"]["sha256"] and record["source"]["01-tiny"] and record["grader_version"]
    assert (second.evidence.path / "executed" / "01-tiny.seed0.ipynb").is_file()


def test_grades_reach_nbgrader_export(settings, curriculum, tmp_path):
    submit_notebook(settings, "exported", learner_notebook(settings, CORRECT))
    grade_one(settings, curriculum, "exported", seeds=1)
    out = tmp_path / "grades.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--to={out}"],
        cwd=settings.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {row["student_id"]: row for row in csv.DictReader(out.open()) if row["assignment"] == TINY}
    assert float(rows["exported"]["score"]) == 4.0 and float(rows["exported"]["max_score"]) == 4.0


def test_stock_nbgrader_autograde_agrees_with_our_grader(settings, curriculum):
    """The compatibility path: stock nbgrader, with the in-kernel comparison, same scores."""
    from autograder.grading.reference import write_compat_references

    write_compat_references(settings, [get_reference(settings, TINY, "01-tiny", {"seed": 0})])
    wrong = {**CORRECT, "scale-solution": "def scale(x, k):\n    return np.asarray(x) + k"}
    submissions = {"stock-right": CORRECT, "stock-wrong": wrong}
    ours = {}
    for learner, answers in submissions.items():
        submit_notebook(settings, learner, learner_notebook(settings, answers))
        ours[learner] = cell_scores(grade_one(settings, curriculum, learner, seeds=1))
    for learner in submissions:
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", TINY, f"--student={learner}", "--force"],
            cwd=settings.root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        with Gradebook(settings.db_url, settings.course_id) as gb:
            stock = {
                g.name: g.auto_score for g in gb.find_submission_notebook("01-tiny", TINY, learner).grades
            }
        assert stock == ours[learner], (learner, stock, ours[learner])


def test_comment_only_cells_are_not_sent_to_the_kernel():
    from autograder.run.notebooks import only_comments

    assert only_comments('# Stuck? Uncomment a line\n# hint("count-tokens")\n\n  # hint("count-tokens", 2)')
    assert only_comments("")
    assert not only_comments('# a hint, then code\nhint("count-tokens")')
    assert not only_comments('text = """\n# not a comment: inside a string\n"""')
    assert not only_comments("%%time\n# a cell magic")
