"""A graded plot, end to end: the figure read in the learner's kernel, compared by the grader."""

from __future__ import annotations

import random

import pytest
from nbformat.v4 import new_code_cell

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment, generate_release
from tests.conftest import CORRECT, TINY, _meta, learner_notebook, make_course, submit_notebook, tiny_notebook

pytestmark = pytest.mark.slow

PLOT = (
    "def plot_data(values):\n"
    "    ### BEGIN SOLUTION\n"
    "    fig, ax = plt.subplots()\n"
    "    ax.hist(values, bins=8)\n"
    "    ax.set_xlabel('value')\n"
    "    ax.set_ylabel('count')\n"
    "    return fig\n"
    "    ### END SOLUTION"
)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):
    nb = tiny_notebook()
    nb.cells[2].source = "import matplotlib.pyplot as plt\n" + nb.cells[2].source
    nb.cells += [
        new_code_cell(PLOT, metadata=_meta("plot-solution", solution=True, locked=False), id="plot-solution"),
        new_code_cell(
            "fig = plot_data(data)\n"
            'check("tiny.plot", fig, kind="figure", hint="A histogram of data with 8 bins, axes labelled.")\n'
            "### BEGIN HIDDEN TESTS\n"
            "hidden = plot_data(np.random.default_rng(seed + 7).normal(size=30))\n"
            'check("tiny.plot-hidden", hidden, kind="figure", hint="Plot the values you are given.")\n'
            "### END HIDDEN TESTS",
            metadata=_meta("plot-tests", grade=True, points=1),
            id="plot-tests",
        ),
    ]
    root = make_course(tmp_path_factory.mktemp("figures"), notebook=nb)
    settings = load_settings(root)
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    return settings, load_curriculum(root)


def plot_cell(settings, curriculum, learner: str, code: str):
    submit_notebook(settings, learner, learner_notebook(settings, {**CORRECT, "plot-solution": code}))
    (result,) = grade_assignment(
        settings, curriculum, TINY, learners=[learner], seeds=2, rng=random.Random(2)
    )
    assert isinstance(result, SubmissionResult), result
    return [run.cells["plot-tests"] for run in result.notebooks[0].runs]


def test_an_honest_plot_in_its_own_style_earns_the_point_on_every_seed(course):
    settings, curriculum = course
    code = (
        "def plot_data(values):\n"
        "    figure = plt.figure(figsize=(4, 3))\n"
        "    axes = figure.add_subplot()\n"
        "    axes.hist(list(values), bins=8, color='grey', edgecolor='black')\n"
        "    axes.set_xlabel('The measured values')\n"
        "    axes.set_ylabel('How many')\n"
        "    axes.axvline(float(np.mean(values)), color='red')\n"
        "    return figure"
    )
    cells = plot_cell(settings, curriculum, "pat", code)
    assert [c.score for c in cells] == [1.0, 1.0], [c.checks for c in cells]


def test_unlabelled_or_other_data_loses_the_point_with_a_reason_and_no_expected_value(course):
    settings, curriculum = course
    unlabelled = (
        "def plot_data(values):\n    fig, ax = plt.subplots()\n    ax.hist(values, bins=8)\n    return fig"
    )
    (cell, _) = plot_cell(settings, curriculum, "una", unlabelled)
    assert cell.score == 0 and "axes 1 has no x-axis label" in cell.checks[0].reason
    ten_bins = unlabelled.replace("bins=8)", "bins=10)\n    ax.set_xlabel('v')\n    ax.set_ylabel('n')")
    (cell, _) = plot_cell(settings, curriculum, "ten", ten_bins)
    assert cell.score == 0 and "no bar shows the data the exercise asks for" in cell.checks[0].reason
    not_a_figure = "def plot_data(values):\n    return list(values)"
    (cell, _) = plot_cell(settings, curriculum, "raw", not_a_figure)
    assert cell.score == 0 and "needs a matplotlib Figure or Axes" in cell.error
