"""Artifact checks: a learner's tests, run by the grader in the sandbox against correct and
buggy versions of a library, earn the check only by catching every bug honestly.

Real parts: the real sandbox (bubblewrap, prlimit, a fresh uid as root), real pytest runs;
the suite is a tiny library with two correct versions (the released text and a rewrite)
and two buggy ones, in a course's ``hidden/`` folder.
"""

from __future__ import annotations

import pytest

from autograder.comparators import spec_for
from autograder.compare import compare
from autograder.encode import encode
from autograder.grading.artifacts import ArtifactJudge
from autograder.grading.grade import score_run
from autograder.run.outcome import ExecutedNotebook, RunOutcome
from autograder.run.sandbox import Limits, Sandbox, missing_tools
from tests.grading.test_hostile_reports import display_output, graded_notebook, reference, score

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason="needs bubblewrap and util-linux"),
]

RELEASED = """\
def mean(xs):
    if not xs:
        raise ValueError("mean of nothing")
    return sum(xs) / len(xs)


def median(xs):
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
"""
REWRITTEN = """\
import statistics


def mean(values):
    if len(values) == 0:
        raise ValueError("no values")
    return statistics.fmean(values)


def median(values):
    return statistics.median(values)
"""
BUGGY = {
    "median-even": RELEASED.replace("(s[mid - 1] + s[mid]) / 2", "s[mid]"),
    "mean-empty": RELEASED.replace('raise ValueError("mean of nothing")', "return 0.0"),
}
HONEST = """\
import pytest
from stats import mean, median


def test_mean():
    assert mean([1, 2, 6]) == 3


def test_mean_of_nothing_raises():
    with pytest.raises(ValueError):
        mean([])


def test_median_even_and_odd():
    assert median([4, 1, 3, 2]) == 2.5
    assert median([3, 1, 2]) == 2
"""
SPEC = spec_for("ci.tests", {"suite": "stats"}, "catches")[1]


@pytest.fixture(scope="module")
def judge(tmp_path_factory) -> ArtifactJudge:
    root = tmp_path_factory.mktemp("course")
    suite = root / "hidden" / "a" / "suites" / "stats"
    trees = {"correct/released": RELEASED, "correct/rewritten": REWRITTEN}
    trees |= {f"buggy/{name}": text for name, text in BUGGY.items()}
    for tree, text in trees.items():
        (suite / tree).mkdir(parents=True)
        (suite / tree / "stats.py").write_text(text)
    sandbox = Sandbox.for_course(Limits(memory_mb=2048), root, tmp_path_factory.mktemp("state"))
    return ArtifactJudge.for_course(root, "a", sandbox)


def judged(judge: ArtifactJudge, files: dict[str, str]):
    return compare(judge.judge(SPEC, encode(files)), encode({}), SPEC)


def test_honest_tests_that_catch_every_bug_pass(judge):
    outcome = judged(judge, {"tests/test_stats.py": HONEST})
    assert outcome.passed, outcome.reason
    assert outcome.reason == "your tests pass on every correct version and catch all 2 buggy ones"


def test_honest_tests_split_over_two_files_pass_too(judge):
    first, second = HONEST.split("\n\n\ndef test_median")
    files = {
        "tests/test_mean.py": first,
        "tests/test_median.py": "from stats import median\n\n\ndef test_median" + second,
    }
    assert judged(judge, files).passed


HOSTILE = {
    "always passes": ("def test_nothing():\n    assert True\n", "let 2 of 2 buggy versions"),
    "misses one bug": (HONEST.split("\n\n\ndef test_median")[0], "let 1 of 2 buggy versions"),
    "always fails": (
        "def test_no():\n    assert False\n",
        "do not pass on a correct version of the library (failed)",
    ),
    "recognises the released text": (
        "import pathlib\n\ndef test_is_released():\n"
        f"    assert pathlib.Path('stats.py').read_text() == {RELEASED!r}\n",
        "do not pass on a correct version of the library (failed)",
    ),
    "exits 1 itself": (
        "import os\n\ndef test_exit():\n    os._exit(1)\n",
        "do not pass on a correct version",
    ),
    "exits 0 at import": ("import sys\nsys.exit(0)\n", "do not pass on a correct version"),
    "never ends": ("def test_forever():\n    while True:\n        pass\n", "(timeout)"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_tests_that_do_not_test_gain_nothing(judge, name):
    source, reason = HOSTILE[name]
    short = ArtifactJudge(judge.hidden, judge.sandbox, judge.python, timeout=5.0)
    outcome = judged(short, {"tests/test_stats.py": source})
    assert not outcome.passed
    assert reason in outcome.reason


@pytest.mark.parametrize(
    "files",
    [
        {"tests/conftest.py": "import pytest\n"},
        {"conftest.py": "def pytest_collection_modifyitems(items):\n    items.clear()\n"},
        {"../outside/test_x.py": HONEST},
        {"/tmp/test_x.py": HONEST},
        {"tests/test_a.py": HONEST, "pytest.ini": "[pytest]\naddopts = -p no:python\n"},
        {"stats.py": "def mean(xs): return 3\ndef median(xs): return 2.5\n"},
    ],
    ids=["conftest-in-tests", "conftest-at-root", "dot-dot", "absolute", "pytest-ini", "replaces-library"],
)
def test_files_that_are_not_test_files_are_refused(judge, files):
    outcome = judged(judge, files)
    assert not outcome.passed
    assert outcome.reason.startswith("your tests were not run:")


def test_a_learner_test_file_may_not_shadow_a_file_of_the_suite(judge, tmp_path):
    hidden = tmp_path / "hidden"
    tree = hidden / "suites" / "stats" / "correct" / "released" / "tests"
    tree.mkdir(parents=True)
    (tree / "test_hidden.py").write_text("def test_hidden():\n    assert True\n")
    (hidden / "suites" / "stats" / "buggy" / "b").mkdir(parents=True)
    finding = ArtifactJudge(hidden, judge.sandbox).judge(SPEC, encode({"tests/test_hidden.py": HONEST}))
    outcome = compare(finding, encode({}), SPEC)
    assert not outcome.passed and "is a file of the library under test" in outcome.reason


def test_the_job_cannot_read_the_other_versions_or_the_course(judge):
    """Each job holds one tree: the buggy versions and the course folder are not there."""
    hidden = str(judge.hidden)
    spy = (
        "import os, pathlib\n\n\ndef test_look():\n"
        f"    assert not pathlib.Path({hidden!r}).exists() or not os.listdir({hidden!r})\n"
        "    seen = set(os.listdir('.'))\n"
        "    assert {'stats.py', 'tests'} <= seen <= {'stats.py', 'tests', '__pycache__'}\n\n\n"
    )
    outcome = judged(judge, {"tests/test_stats.py": HONEST + "\n\n" + spy})
    assert outcome.passed, outcome.reason


def test_scoring_judges_the_reported_artifact_only_with_a_judge(judge):
    payload = {
        "name": "ci.tests",
        "value": encode({"tests/test_stats.py": HONEST}),
        "spec": SPEC,
        "hint": "h",
    }
    nb = graded_notebook({"tests-cell": [display_output(payload)]})
    ref = reference({"tests-cell": {"ci.tests": {"value": encode({}), "spec": SPEC, "hint": "h"}}})
    without = score(ref, nb).cells["tests-cell"]
    assert without.score == 0 and "grader's sandbox" in without.checks[0].reason
    judged_run = score_run(ref, ExecutedNotebook(nb, {}, RunOutcome()), judge).cells["tests-cell"]
    assert judged_run.score == 1.0, judged_run.checks


def test_a_forged_finding_in_the_report_is_not_believed(judge):
    """The kernel reports a finding instead of files: it is judged as files, and refused."""
    forged = encode({"correct": {"released": "passed"}, "buggy": {"median-even": "failed"}})
    payload = {"name": "ci.tests", "value": forged, "spec": SPEC, "hint": "h"}
    nb = graded_notebook({"tests-cell": [display_output(payload)]})
    ref = reference({"tests-cell": {"ci.tests": {"value": encode({}), "spec": SPEC, "hint": "h"}}})
    cell = score_run(ref, ExecutedNotebook(nb, {}, RunOutcome()), judge).cells["tests-cell"]
    assert cell.score == 0
    assert "not run" in cell.checks[0].reason


def test_an_unknown_suite_is_the_authors_error(judge):
    spec = spec_for("ci.tests", {"suite": "nope"}, "catches")[1]
    payload = {"name": "ci.tests", "value": encode({"tests/test_a.py": HONEST}), "spec": spec, "hint": "h"}
    nb = graded_notebook({"c": [display_output(payload)]})
    ref = reference({"c": {"ci.tests": {"value": encode({}), "spec": spec, "hint": "h"}}})
    cell = score_run(ref, ExecutedNotebook(nb, {}, RunOutcome()), judge).cells["c"]
    assert cell.score == 0 and "authoring error" in cell.checks[0].reason


def test_a_check_without_a_suite_is_refused_when_written():
    with pytest.raises(ValueError, match="needs suite="):
        spec_for("ci.tests", {}, "catches")
