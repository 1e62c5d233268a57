"""Phase 5's coding interviews, graded for real: a learner who fakes the work counter.

The counter that measures complexity runs in the learner's kernel, where a learner can
replace it with one that always says "within O(n)". The hidden part of each complexity
check also runs the function on one large input, and the grader compares that answer:
a quadratic function cannot produce it before the cell is stopped. The honest, complete
path (full marks on every seed) is the demo's (tests/course/test_demo.py).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import nbformat
import pytest

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.demo import fill_in
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PHASE5 = "phase5-first-role"
NOTEBOOK = "01-coding-interviews"

QUADRATIC_TWO_SUM_AND_A_FAKE_COUNTER = '''
def two_sum(nums, target):
    for j in range(len(nums)):
        for i in range(j):
            if nums[i] + nums[j] == target:
                return (i, j)
    return None


class _Looks:
    def __init__(self, answers):
        self.answers = answers

    def within(self, required):
        return "within " + BIG_O[required]


def work(fn, make_input, n, per_item=300):
    """Says every function is fast, with its real answers on the (small) measured inputs."""
    return _Looks([plain(fn(*make_input(size))) for size in (n, 8 * n)])
'''


@pytest.fixture(scope="module")
def faker(tmp_path_factory: pytest.TempPathFactory) -> SubmissionResult:
    settings = load_settings(REPO, state_dir=tmp_path_factory.mktemp("phase5") / "state")
    # a short cell limit, so that the stopped cell costs seconds here, not a minute
    settings = dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, cell_timeout=8))
    ensure_assignment(settings, PHASE5)
    release = nbformat.read(str(REPO / "curriculum" / PHASE5 / f"{NOTEBOOK}.ipynb"), as_version=4)
    source = nbformat.read(str(REPO / "solutions" / PHASE5 / f"{NOTEBOOK}.ipynb"), as_version=4)
    nb = fill_in(release, source, "alice")  # honest everywhere...
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "two-sum-solution":
            cell.source += QUADRATIC_TWO_SUM_AND_A_FAKE_COUNTER  # ...but two-sum, and the counter
    folder = settings.submitted_dir / "faker" / PHASE5
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{NOTEBOOK}.ipynb"))
    (folder / "timestamp.txt").write_text("2026-12-06 10:00:00.000000 UTC")
    (result,) = grade_assignment(
        settings, load_curriculum(REPO), PHASE5, learners=["faker"], seeds=1, rng=random.Random(5)
    )
    assert isinstance(result, SubmissionResult), result
    return result


def test_a_faked_counter_does_not_earn_the_complexity_of_a_quadratic_function(faker):
    (nb,) = [n for n in faker.notebooks if n.notebook == NOTEBOOK]
    cells = nb.runs[0].cells
    assert cells["two-sum-tests"].score == cells["two-sum-tests"].points  # right answers...
    complexity = cells["two-sum-complexity"]
    assert complexity.score == 0.0  # ...but not at scale, whatever the counter says
    assert any(e in (complexity.error or "") for e in ("KeyboardInterrupt", "CellTimeoutError")), complexity
    (at_scale,) = [c for c in complexity.checks if c.name == "role.code.two-sum-at-scale-hidden"]
    assert not at_scale.passed and "large input" in at_scale.hint
    # the faked counter passes the other (honest, fast) functions: their large inputs are answered
    for problem in ("rain-water", "longest-unique", "rotated-search", "grid-path", "merge-intervals"):
        cell = cells[f"{problem}-complexity"]
        assert cell.score == cell.points, (problem, cell)
