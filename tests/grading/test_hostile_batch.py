"""One hostile submission in a batch costs only itself: the batch, its neighbours' grades,
the grader's memory and the class's time are safe (issue 12, items 1, 3, 6, 7 and 8).

Each test grades real submissions of the tiny course with the real sandbox, beside an
honest neighbour where the harm would reach one.
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
import textwrap
import time

import pytest
from nbgrader.api import Gradebook

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment, generate_release
from autograder.views.lms import export_grades
from tests.conftest import CORRECT, TINY, learner_notebook, make_course, submit_notebook
from tests.grading.test_grading import cell_scores, grade_one

pytestmark = pytest.mark.slow

FULL = {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 1.0}

REWRITE_REPORTS = """
import autograder.checks as _checks
_shown = _checks._display
def _forged(payload, summary):
    payload = dict(payload)
    payload["value"] = {forged}
    _shown(payload, summary)
_checks._display = _forged
"""
"""An answer cell that rewrites every later check report before it leaves the kernel."""


def with_answer_prelude(code: str) -> dict[str, str]:
    """The correct answers, with ``code`` run in the first answer cell."""
    return {**CORRECT, "mean-solution": textwrap.dedent(code) + "\n" + CORRECT["mean-solution"]}


def grade_batch(settings, curriculum, learners: list[str], seeds: int = 1) -> list:
    return grade_assignment(settings, curriculum, TINY, learners=learners, seeds=seeds, rng=random.Random(3))


def gradebook_scores(settings, learner: str) -> dict[str, float]:
    with Gradebook(settings.db_url, settings.course_id) as gb:
        submission = gb.find_submission_notebook("01-tiny", TINY, learner)
        return {grade.name: grade.score for grade in submission.grades}


@pytest.mark.parametrize(
    "forged",
    [
        '{"type": "float", "value": None}',
        '{"type": "ndarray", "dtype": "float", "shape": [5], "data": None}',
        '{"type": "series", "values": 3}',
        '{"type": "float", "value": {"nested": []}}',
        '"not even a dict"',
    ],
)
def test_a_report_the_comparators_cannot_read_fails_its_check_not_the_batch(settings, curriculum, forged):
    learner = f"forger-{abs(hash(forged)) % 10_000}"
    answers = with_answer_prelude(REWRITE_REPORTS.format(forged=forged))
    submit_notebook(settings, learner, learner_notebook(settings, answers))
    submit_notebook(settings, "neighbour", learner_notebook(settings, CORRECT))
    forger, neighbour = grade_batch(settings, curriculum, [learner, "neighbour"])
    assert isinstance(forger, SubmissionResult), forger
    assert set(cell_scores(forger).values()) == {0.0}
    assert isinstance(neighbour, SubmissionResult) and cell_scores(neighbour) == FULL


def test_text_that_utf8_cannot_hold_leaves_whole_files_and_the_batch_goes_on(settings, curriculum):
    """A kernel that sends a lone surrogate (JSON allows ``\\ud800``, UTF-8 does not)."""
    answers = with_answer_prelude(
        """
        import json
        from jupyter_client.jsonutil import json_default
        _kernel = get_ipython().kernel
        _kernel.session.pack = lambda obj: json.dumps(obj, default=json_default).encode()
        print("broken \\ud800 text")
        """
    )
    submit_notebook(settings, "surrogate", learner_notebook(settings, answers))
    submit_notebook(settings, "neighbour2", learner_notebook(settings, CORRECT))
    surrogate, neighbour = grade_batch(settings, curriculum, ["surrogate", "neighbour2"])
    assert isinstance(surrogate, SubmissionResult), surrogate
    assert cell_scores(surrogate) == FULL  # honest answers, odd output: nothing lost
    autograded = settings.autograded_dir / "surrogate" / TINY / "01-tiny.ipynb"
    text = autograded.read_text(encoding="utf-8")
    assert "broken ? text" in text and json.loads(text)["cells"]
    assert cell_scores(neighbour) == FULL


def test_points_in_the_gradebook_need_every_parameter_set(settings, curriculum, tmp_path):
    """Work pinned to the default seed earns nothing in the gradebook or any export."""
    pinned_mean = "def column_mean(x):\n    return float(np.mean(x)) if seed == 0 else 0.0"
    pinned = {**CORRECT, "mean-solution": pinned_mean}
    submit_notebook(settings, "pinned", learner_notebook(settings, pinned))
    submit_notebook(settings, "honest", learner_notebook(settings, CORRECT))
    pinned_r, _ = grade_batch(settings, curriculum, ["pinned", "honest"], seeds=2)
    assert cell_scores(pinned_r, 0)["mean-tests"] == 2.0 and cell_scores(pinned_r, 1)["mean-tests"] == 0.0
    assert gradebook_scores(settings, "pinned") == {**FULL, "mean-tests": 0.0}
    assert gradebook_scores(settings, "honest") == FULL
    out = tmp_path / "grades.csv"
    export = [sys.executable, "-m", "nbgrader", "export", f"--to={out}"]
    subprocess.run(export, cwd=settings.root, check=True, capture_output=True)
    rows = {r["student_id"]: r for r in csv.DictReader(out.open()) if r["assignment"] == TINY}
    assert float(rows["pinned"]["score"]) == 2.0 and float(rows["honest"]["score"]) == 4.0
    canvas = {r["Student"]: r for r in csv.DictReader(io.StringIO(export_grades(settings, curriculum)))}
    column = next(name for name in canvas["pinned"] if name.endswith(f"({TINY})"))
    assert float(canvas["pinned"][column]) == 2.0 and float(canvas["honest"][column]) == 4.0


@pytest.fixture(scope="module")
def slow_course(tmp_path_factory):
    """A course with short clocks: 2 s per cell, 5 s per run, 8 s for a whole submission."""
    root = make_course(
        tmp_path_factory.mktemp("slow-course"),
        cell_timeout=2,
        run_timeout=5,
        config="c.Autograder.submission_timeout = 8\n",
    )
    settings = load_settings(root)
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    return settings, load_curriculum(root)


SLOW = {gid: f"import time\ntime.sleep(1.8)\n{code}" for gid, code in CORRECT.items()}
"""Every answer cell sleeps just under the cell limit: the run outlasts its wall clock."""


def test_a_run_that_hits_a_limit_is_not_run_again_under_other_seeds(slow_course):
    settings, curriculum = slow_course
    submit_notebook(settings, "sleeper", learner_notebook(settings, SLOW))
    started = time.monotonic()
    result = grade_one(settings, curriculum, "sleeper", seeds=3)
    elapsed = time.monotonic() - started
    first, *later = result.notebooks[0].runs
    assert first.status == "timeout" and "wall-clock" in first.reason
    assert [run.status for run in later] == ["skipped", "skipped"]
    assert all("hit a limit" in run.reason and run.score == 0 for run in later)
    print(f"three seeds of a sleeper graded in {elapsed:.1f} s (run limit 5 s)")
    assert elapsed < 3 * 5  # one run's limit, not three


def test_a_submission_has_one_clock_for_all_its_runs(slow_course):
    """Runs that each stay under the run limit still stop when the submission's 8 s are spent."""
    settings, curriculum = slow_course
    quick_sleep = {**CORRECT, "mean-solution": "import time\ntime.sleep(1.5)\n" + CORRECT["mean-solution"]}
    submit_notebook(settings, "patient", learner_notebook(settings, quick_sleep))
    result = grade_one(settings, curriculum, "patient", seeds=10)
    runs = result.notebooks[0].runs
    statuses = [run.status for run in runs]
    assert statuses[0] == "completed" and statuses[-1] == "skipped", statuses
    assert sum(run.seconds for run in runs) <= 8 + 1
    first = next(i for i, run in enumerate(runs) if run.status != "completed")
    assert "c.Autograder.submission_timeout" in runs[first].reason
    assert all(run.status == "skipped" for run in runs[first + 1 :])


def test_output_that_lags_behind_its_cell_is_not_called_an_ignored_interrupt(settings, curriculum):
    """The kernel answers a cell at once but holds back its 'idle' (papermill's IOPub wait)."""
    answers = with_answer_prelude(
        """
        import time
        _kernel = get_ipython().kernel
        _publish = _kernel._publish_status
        def _late(status, *args, **kwargs):
            if status == "idle":
                time.sleep(12)
            return _publish(status, *args, **kwargs)
        _kernel._publish_status = _late
        """
    )
    submit_notebook(settings, "laggard", learner_notebook(settings, answers))
    result = grade_one(settings, curriculum, "laggard", seeds=1)
    run = result.notebooks[0].runs[0]
    assert run.status == "timeout"
    assert "ignored the interrupt" not in run.reason and "was interrupted" not in run.reason
    assert "output had not all arrived" in run.reason and "cell 'mean-solution'" in run.reason


def test_a_report_nested_too_deep_to_decode_ends_only_its_own_run(settings, curriculum):
    """JSON nested 100,000 deep: the grader's decoder gives up (RecursionError) on it."""
    answers = with_answer_prelude(
        """
        _kernel = get_ipython().kernel
        _pack = _kernel.session.pack
        def _deep(obj):
            if isinstance(obj, dict) and "application/vnd.autograder.check+json" in obj.get("data", {}):
                deep = b"[" * 100_000 + b"]" * 100_000
                return b'{"data": {"application/vnd.autograder.check+json": ' + deep + b"}}"
            return _pack(obj)
        _kernel.session.pack = _deep
        """
    )
    submit_notebook(settings, "deep", learner_notebook(settings, answers))
    submit_notebook(settings, "neighbour3", learner_notebook(settings, CORRECT))
    deep, neighbour = grade_batch(settings, curriculum, ["deep", "neighbour3"])
    assert isinstance(deep, SubmissionResult), deep
    assert set(cell_scores(deep).values()) == {0.0}
    assert cell_scores(neighbour) == FULL
