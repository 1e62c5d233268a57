"""Known mistakes named by value: the tiny course with misconceptions, graded in the real sandbox."""

from __future__ import annotations

import json
import random
from pathlib import Path

import nbformat
import pytest

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.misconceptions import MisconceptionsError, parse_misconceptions
from autograder.course.validate import CheckReport
from autograder.course.validate_misconceptions import check_misconceptions
from autograder.grading.evidence import iter_records
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment, generate_release
from autograder.grading.reference import get_reference
from autograder.views.dashboards import write_progress_page
from autograder.views.feedback import write_feedback
from tests.conftest import CORRECT, TINY, learner_notebook, make_course, submit_notebook

pytestmark = pytest.mark.slow

MISCONCEPTIONS = """
- name: median-for-mean
  exercise: mean-tests
  answers:
    mean-solution: |
      def column_mean(x):
          return float(np.median(x))
  message: You took the median, the middle value; the exercise asks for the mean, the average of all values
  see: the prompt's definition of the mean
  origin: a mix-up seen in introductory statistics courses (median and mean agree on symmetric toy data)
- name: scale-adds
  exercise: scale-tests
  answers:
    scale-solution: |
      def scale(x, k):
          return np.asarray(x) + k
  message: You added k; scaling multiplies every entry by k
  see: the worked example of broadcasting
  origin: our own test learners
"""

MEDIAN = {**CORRECT, "mean-solution": "def column_mean(x):\n    return float(np.median(np.asarray(x)))"}
"""The mistake as a learner types it: not the misconception's text, the same values."""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):
    root = make_course(tmp_path_factory.mktemp("mistakes"))
    folder = root / "solutions" / TINY / "misconceptions"
    folder.mkdir()
    (folder / "01-tiny.yaml").write_text(MISCONCEPTIONS)
    settings = load_settings(root)
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    assert not (root / "curriculum" / TINY / "misconceptions").exists()  # never released
    return settings, load_curriculum(root)


def grade(settings, curriculum, learner: str, nb) -> SubmissionResult:
    submit_notebook(settings, learner, nb)
    (result,) = grade_assignment(
        settings, curriculum, TINY, learners=[learner], seeds=3, rng=random.Random(8)
    )
    assert isinstance(result, SubmissionResult), result
    return result


def failed_checks(result: SubmissionResult, grade_id: str):
    (nb,) = result.notebooks
    return [[c for c in run.cells[grade_id].checks if not c.passed] for run in nb.runs]


def test_the_mistake_is_named_on_every_seed_with_the_mentors_advice(course, tmp_path):
    settings, curriculum = course
    result = grade(settings, curriculum, "mo", learner_notebook(settings, MEDIAN))
    runs = failed_checks(result, "mean-tests")
    assert len(runs) == 3
    for failed in runs:
        assert {c.name for c in failed} == {"tiny.mean", "tiny.mean-hidden"}
        assert {c.misconception for c in failed} == {"median-for-mean"}
        assert all(
            c.advice.startswith("You took the median") and "See the prompt's" in c.advice for c in failed
        )
    assert all(c.passed for run in result.notebooks[0].runs for c in run.cells["scale-tests"].checks)
    page = write_feedback(settings, curriculum, TINY, "mo")
    text = page[0].read_text() if isinstance(page, list) else Path(page).read_text()
    assert "You took the median" in text
    progress = write_progress_page(settings, curriculum, "mo", tmp_path / "p.html").read_text()
    assert "tiny.mean: You took the median" in progress


def test_a_value_no_misconception_explains_keeps_the_generic_message(course):
    settings, curriculum = course
    off = {
        **CORRECT,
        "mean-solution": "def column_mean(x):\n    return float(np.mean(x)) + 0.5 * (len(x) > 2)",
    }
    result = grade(settings, curriculum, "ned", learner_notebook(settings, off))
    for failed in failed_checks(result, "mean-tests"):
        assert failed and all(c.misconception == "" and c.advice == "" for c in failed)
        assert all(c.reason for c in failed)


def test_honest_work_is_never_told_a_misconception(course):
    settings, curriculum = course
    honest = {**CORRECT, "mean-solution": "def column_mean(x):\n    return sum(x) / len(x)"}
    result = grade(settings, curriculum, "hal", learner_notebook(settings, honest))
    assert result.score(0) == (4, 4)
    assert not [
        c
        for run in result.notebooks[0].runs
        for cell in run.cells.values()
        for c in cell.checks
        if c.misconception
    ]


def test_misconception_values_never_reach_the_learners_kernel(course):
    """The run sees no misconception file, no reference cache, and its notebook carries no advice."""
    settings, curriculum = course
    spy = {
        **MEDIAN,
        "scale-solution": (
            "import os\n"
            f"print('FILE', os.path.exists({str(settings.root / 'solutions')!r}))\n"
            f"print('REFS', os.path.exists({str(settings.references_dir)!r}))\n"
            "print('ENV', sorted(k for k in os.environ if 'AUTOGRADER' in k and 'STATE' in k))\n"
            "def scale(x, k):\n    return np.asarray(x) * k"
        ),
    }
    result = grade(settings, curriculum, "spy", learner_notebook(settings, spy))
    assert {c.misconception for failed in failed_checks(result, "mean-tests") for c in failed} == {
        "median-for-mean"
    }
    (record,) = [r for r in iter_records(settings, "spy")]
    for executed in (record.path / "executed").glob("*.ipynb"):
        text = executed.read_text()
        assert "FILE False" in text and "REFS False" in text and "ENV []" in text, text[:2000]
        assert "You took the median" not in text and "median-for-mean" not in text


def test_check_proves_each_misconception_is_recognised_and_refuses_one_it_cannot_be(course, tmp_path):
    settings, _ = course
    scratch = load_settings(settings.root, state_dir=tmp_path / "state")
    generate_release(scratch, TINY, tmp_path / "release")  # its gradebook knows the notebook, as in check
    source = nbformat.read(str(settings.source_notebook(TINY, "01-tiny")), as_version=4)
    release = nbformat.read(str(settings.root / "curriculum" / TINY / "01-tiny.ipynb"), as_version=4)
    references = [get_reference(scratch, TINY, "01-tiny", {"seed": s}) for s in (0, 1000, 1001)]
    report = CheckReport()
    check_misconceptions(scratch, source, release, references, warm=None, report=report, log=lambda _: None)
    assert report.problems == []
    path = settings.root / "solutions" / TINY / "misconceptions" / "01-tiny.yaml"
    original = path.read_text()
    try:
        path.write_text(
            original
            + """
- name: same-as-median
  exercise: mean-tests
  answers: {mean-solution: "def column_mean(x):\\n    return float(np.percentile(x, 50))"}
  message: m
  see: s
  origin: o
- name: harmless
  exercise: predict-tests
  answers: {predict-solution: "def predict(x):\\n    return 2 * x + 1.0001"}
  message: m
  see: s
  origin: o
- name: crashes
  exercise: scale-tests
  answers: {scale-solution: "def scale(x, k):\\n    raise ValueError('no')"}
  message: m
  see: s
  origin: o
"""
        )
        report = CheckReport()
        check_misconceptions(
            scratch, source, release, references, warm=None, report=report, log=lambda _: None
        )
        text = "\n".join(report.problems)
        named = "its failure was named misconception median-for-mean: two misconceptions"
        assert (
            f"misconception same-as-median: submitted as a learner's notebook under seed 0, {named}" in text
        )
        assert "misconception harmless: under seed 0 every check of predict-tests passes" in text
        assert (
            "misconception crashes: under seed 0 its exercise scale-tests reported no value (it raised"
            in text
        )
    finally:
        path.write_text(original)


def test_the_in_kernel_check_names_the_mistake_from_the_course_copy(course):
    """The learner's own JupyterLab: compat references carry the default seed's misconception values."""
    from autograder.grading.reference import default_references, write_compat_references

    settings, _ = course
    path = write_compat_references(settings, default_references(settings, TINY, ["01-tiny"]))
    mean = json.loads(path.read_text())["checks"]["tiny.mean"]
    assert [m["name"] for m in mean["misconceptions"]] == ["median-for-mean"]
    assert "misconceptions" not in json.loads(path.read_text())["checks"]["tiny.predict"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            [{"name": "x", "exercise": "e", "answers": {"a": "b"}, "see": "s", "origin": "o"}],
            "`message` must be text",
        ),
        ([{"name": "X!", "exercise": "e"}], "`name` must be lower-case"),
        (
            [{"name": "x", "answers": {"a": "b"}, "message": "m", "see": "s", "origin": "o"}],
            "`exercise` must name",
        ),
        ("nope", "expected a non-empty YAML list"),
        (
            [{"name": "x", "exercise": "e", "message": "m", "see": "s", "origin": "o", "wat": 1}],
            "unknown key(s) wat",
        ),
    ],
)
def test_a_malformed_file_gets_one_line_naming_it(raw, message):
    with pytest.raises(MisconceptionsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_misconceptions(raw, "misconceptions/01-x.yaml")


def test_the_class_report_shows_which_mistakes_the_class_makes_most(course, tmp_path, capsys):
    from autograder.cli import main
    from autograder.views.dashboards import write_class_report

    settings, curriculum = course
    grade(settings, curriculum, "rita", learner_notebook(settings, MEDIAN))
    adds = {**CORRECT, "scale-solution": "def scale(x, k):\n    return np.add(x, k)"}
    grade(settings, curriculum, "sam", learner_notebook(settings, adds))
    view = write_class_report(settings, curriculum, tmp_path / "report.html")
    top = view.mistakes[0]
    assert (top.exercise, top.misconception) == ("mean-tests", "median-for-mean") and "rita" in top.learners
    assert [(m.misconception, m.learners) for m in view.mistakes if m.exercise == "scale-tests"] == [
        ("scale-adds", ("sam",))
    ]
    html = (tmp_path / "report.html").read_text()
    assert "Known mistakes the class makes" in html and "You added k; scaling multiplies" in html
    assert main(["--course", str(settings.root), "report"]) == 0
    assert "median-for-mean" in capsys.readouterr().out


def test_a_visible_check_in_the_learners_own_kernel_names_the_mistake(course, monkeypatch):
    """JupyterLab on the course: the in-kernel helper reads the course copy's references."""
    import numpy as np

    from autograder import checks
    from autograder.grading.reference import default_references, write_compat_references
    from autograder.protocol import COLLECT_ENV, STATE_ENV

    settings, _ = course
    write_compat_references(settings, default_references(settings, TINY, ["01-tiny"]))
    monkeypatch.setenv(STATE_ENV, str(settings.state_dir))
    monkeypatch.delenv(COLLECT_ENV, raising=False)
    monkeypatch.setattr(checks, "_kernel_parameters", lambda: {"seed": 0})
    data = np.random.default_rng(0).normal(10, 2, size=50)
    with pytest.raises(
        checks.CheckFailed, match=r"You took the median.*See the prompt's definition of the mean"
    ):
        checks.check("tiny.mean", float(np.median(data)), hint="Average all the values with np.mean.")
    with pytest.raises(checks.CheckFailed) as other:
        checks.check("tiny.mean", float(np.mean(data)) + 1, hint="Average all the values with np.mean.")
    assert "median" not in str(other.value)
    checks.check("tiny.mean", float(np.mean(data)), hint="Average all the values with np.mean.")
