"""Fixtures: a tiny, real course directory with one fast notebook, graded for real.

The course is built in a temporary folder from this repository's own ``jupyter_config.py``
and ``nbgrader_config.py``, so every test runs nbgrader, papermill and real kernels
exactly as an instructor would, only on a notebook that runs in about a second.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.config import Settings, load_settings
from autograder.course.curriculum import Curriculum, load_curriculum
from autograder.grading.gradebook import ensure_assignment, generate_release

REPO = Path(__file__).resolve().parent.parent
TINY = "tiny"

MANIFEST = """\
schema_version: 1
title: "A tiny course for tests"
defaults:
  mastery: {min_notebook_score: 0.8, core_full_marks: true, min_parameter_sets: 2}
phases:
  - id: tiny
    title: "Tiny phase"
    requires: []
    assignments:
      - id: tiny
        notebooks:
          - {file: 01-tiny.ipynb, title: "Tiny notebook", core: [mean-tests]}
  - id: next
    title: "The phase after"
    requires: [tiny]
    status: planned
    assignments: []
"""


TINY_ALTERNATIVES = """\
- name: sum-and-helpers
  why: "Python's sum instead of np.mean, np.multiply, and a helper cell of named constants"
  answers:
    mean-solution: |
      def column_mean(x):
          return sum(x) / len(x)
    scale-solution: |
      def scale(x, k):
          return np.multiply(x, k)
    predict-solution: |
      def predict(x):
          return SLOPE * x + INTERCEPT
  extra_cells:
    - after: setup
      source: |
        SLOPE, INTERCEPT = 2, 1
"""
"""The tiny notebook's honest alternative solution (``autograder check`` grades it)."""


def _meta(
    grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = True, points: float = 0
):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def tiny_notebook() -> nbformat.NotebookNode:
    """Three exercises: a tolerance check, an array check and a metric check."""
    cells = [
        new_markdown_cell("# Tiny\nA notebook for the test suite.", metadata=_meta("story"), id="story"),
        new_code_cell("seed = 0", metadata={**_meta("parameters"), "tags": ["parameters"]}, id="parameters"),
        new_code_cell(
            "import numpy as np\nfrom autograder.checks import check\n"
            "rng = np.random.default_rng(seed)\ndata = rng.normal(10, 2, size=50)\n"
            "x_test = rng.normal(size=40)\ny_test = 2 * x_test + 1 + rng.normal(0, 0.1, size=40)",
            metadata=_meta("setup"),
            id="setup",
        ),
        new_code_cell(
            "def column_mean(x):\n    ### BEGIN SOLUTION\n    return float(np.mean(x))\n    ### END SOLUTION",
            metadata=_meta("mean-solution", solution=True, locked=False),
            id="mean-solution",
        ),
        new_code_cell(
            'assert column_mean([1.0, 3.0]) == 2.0, "the mean of [1, 3] is 2. Hint: np.mean"\n'
            'check("tiny.mean", column_mean(data), hint="Average all the values with np.mean.")\n'
            "### BEGIN HIDDEN TESTS\n"
            'check("tiny.mean-hidden", column_mean(np.random.default_rng(seed + 1).normal(size=9)), '
            'hint="Average all the values.")\n'
            "### END HIDDEN TESTS",
            metadata=_meta("mean-tests", grade=True, points=2),
            id="mean-tests",
        ),
        new_code_cell(
            "def scale(x, k):\n    ### BEGIN SOLUTION\n    return np.asarray(x) * k\n    ### END SOLUTION",
            metadata=_meta("scale-solution", solution=True, locked=False),
            id="scale-solution",
        ),
        new_code_cell(
            'check("tiny.scale", scale(data[:5], 3), hint="Multiply every entry by k.")\n'
            "### BEGIN HIDDEN TESTS\n"
            'check("tiny.scale-hidden", scale(data[5:9], seed + 2), hint="Multiply every entry by k.")\n'
            "### END HIDDEN TESTS",
            metadata=_meta("scale-tests", grade=True, points=1),
            id="scale-tests",
        ),
        new_code_cell(
            "def predict(x):\n    ### BEGIN SOLUTION\n    return 2 * x + 1\n    ### END SOLUTION",
            metadata=_meta("predict-solution", solution=True, locked=False),
            id="predict-solution",
        ),
        new_code_cell(
            'check("tiny.predict", predict(x_test), metric="r2", threshold=0.9, labels=y_test,\n'
            '      hint="A straight line through the data does it.")',
            metadata=_meta("predict-tests", grade=True, points=1),
            id="predict-tests",
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def make_course(
    root: Path,
    *,
    cell_timeout: float = 10,
    run_timeout: float = 40,
    manifest: str = MANIFEST,
    notebook: nbformat.NotebookNode | None = None,
    config: str = "",
) -> Path:
    """A course directory at ``root`` with the tiny assignment (not yet released).

    ``config``: more lines for its ``jupyter_config.py`` (``c.Autograder.x = y``)."""
    root.mkdir(parents=True, exist_ok=True)
    text = (REPO / "jupyter_config.py").read_text()
    text += f"\nc.Autograder.cell_timeout = {cell_timeout}\nc.Autograder.run_timeout = {run_timeout}\n"
    config = text + config
    (root / "jupyter_config.py").write_text(config)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "curriculum").mkdir(exist_ok=True)
    (root / "curriculum" / "manifest.yaml").write_text(manifest)
    source = root / "solutions" / TINY
    source.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook or tiny_notebook(), str(source / "01-tiny.ipynb"))
    if notebook is None:
        (source / "alternatives").mkdir(exist_ok=True)
        (source / "alternatives" / "01-tiny.yaml").write_text(TINY_ALTERNATIVES)
    return root


@pytest.fixture(scope="session")
def course_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_course(tmp_path_factory.mktemp("course"))
    settings = load_settings(root)
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    return root


@pytest.fixture(scope="session")
def settings(course_root: Path) -> Settings:
    return load_settings(course_root)


@pytest.fixture(scope="session")
def curriculum(course_root: Path) -> Curriculum:
    return load_curriculum(course_root)


def release_notebook(settings: Settings) -> nbformat.NotebookNode:
    return nbformat.read(str(settings.root / "curriculum" / TINY / "01-tiny.ipynb"), as_version=4)


def learner_notebook(settings: Settings, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release with the given answer cells (grade_id -> code) typed in."""
    nb = release_notebook(settings)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


CORRECT = {
    "mean-solution": "def column_mean(x):\n    return float(np.mean(x))",
    "scale-solution": "def scale(x, k):\n    return np.asarray(x) * k",
    "predict-solution": "def predict(x):\n    return 2 * x + 1",
}


def submit_notebook(settings: Settings, learner: str, nb: nbformat.NotebookNode | bytes | str) -> Path:
    """Place a submission where ``nbgrader collect`` would, with a timestamp."""
    folder = settings.submitted_dir / learner / TINY
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    path = folder / "01-tiny.ipynb"
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, str(path))
    (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    return path
