"""``autograder check``: passes a sound course, and names the notebook and cell of each fault."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.validate import check_curriculum
from autograder.grading.gradebook import generate_release
from tests.conftest import MANIFEST, TINY, _meta, make_course, tiny_notebook

pytestmark = pytest.mark.slow


def test_a_sound_course_passes_with_nbval(tmp_path):
    root = make_course(tmp_path / "good")
    settings = load_settings(root)
    generate_release(settings, TINY)
    report = check_curriculum(settings, load_curriculum(root), nbval=True, log=lambda _: None)
    assert report.problems == []
    assert len([k for k in report.timings if "01-tiny.ipynb seed" in k]) == 3  # three seeds


def broken_notebook() -> nbformat.NotebookNode:
    nb = tiny_notebook()
    extra = [
        new_code_cell(
            "def noisy():\n    ### BEGIN SOLUTION\n"
            "    return float(np.random.random())\n    ### END SOLUTION",
            metadata=_meta("noisy-solution", solution=True, locked=False),
            id="noisy-solution",
        ),
        new_code_cell(
            'check("tiny.noisy", noisy(), hint="-")',
            metadata=_meta("noisy-tests", grade=True, points=1),
            id="noisy-tests",
        ),
        new_code_cell(
            'check("tiny.constant", 42, hint="-")',
            metadata=_meta("constant-tests", grade=True, points=1),
            id="constant-tests",
        ),
        new_code_cell(
            "assert True",
            metadata=_meta("unchecked-tests", grade=True, points=1),
            id="unchecked-tests",
        ),
        new_code_cell(
            'import warnings\nwarnings.warn("this API is deprecated")\ncheck("tiny.warned", 1.0, hint="-")',
            metadata=_meta("warned-tests", grade=True, points=1),
            id="warned-tests",
        ),
        new_markdown_cell("Explain your scaling in two sentences."),
        new_markdown_cell(
            "### BEGIN SOLUTION\nIt keeps units.\n### END SOLUTION",
            metadata=_meta("essay", grade=True, solution=True, locked=False, points=1),
            id="essay",
        ),
    ]
    nb.cells.extend(extra)
    return nb


def test_each_fault_is_named(tmp_path):
    two_notebooks = MANIFEST.replace(
        '{file: 01-tiny.ipynb, title: "Tiny notebook", core: [mean-tests]}',
        '{file: 01-tiny.ipynb, title: "Tiny notebook", core: [mean-tests]}\n'
        '          - {file: 02-again.ipynb, title: "The same checks again"}',
    )
    root = make_course(tmp_path / "bad", notebook=broken_notebook(), manifest=two_notebooks)
    nbformat.write(tiny_notebook(), str(root / "solutions" / TINY / "02-again.ipynb"))  # same check names
    settings = load_settings(root)
    generate_release(settings, TINY)
    release = root / "curriculum" / TINY / "01-tiny.ipynb"
    nb = nbformat.read(str(release), as_version=4)
    nb.cells[0].source += "\n\nreturn float(np.mean(x))"  # a solution line leaks into the release
    nbformat.write(nb, str(release))
    source = root / "solutions" / TINY / "01-tiny.ipynb"
    nb = nbformat.read(str(source), as_version=4)
    nb.cells[2].execution_count = 3  # a committed execution count
    nbformat.write(nb, str(source))

    report = check_curriculum(settings, load_curriculum(root), nbval=False, log=lambda _: None)
    text = "\n".join(report.problems)
    assert "solutions/tiny/01-tiny.ipynb: cell setup: committed outputs or execution count" in text
    assert "curriculum/tiny/01-tiny.ipynb: out of sync with solutions/" in text
    assert "curriculum/tiny/01-tiny.ipynb: cell story: leaks 'return float(np.mean(x))'" in text
    assert (
        "solutions/tiny/01-tiny.ipynb: cell unchecked-tests: graded cell reports no out-of-kernel check"
        in text
    )
    assert "curriculum/tiny/01-tiny.ipynb: cell constant-tests: the untouched release scores 1" in text
    assert "solutions/tiny/01-tiny.ipynb: cell noisy-tests: the solution scores 0/1 with seed 0" in text
    assert "solutions/tiny/01-tiny.ipynb: cell warned-tests: writes to stderr with seed 0" in text
    assert "this API is deprecated" in text and "Validate button) scores such a cell 0" in text
    assert (
        "solutions/tiny/02-again.ipynb: cell mean-tests: check name 'tiny.mean' is also used in "
        "solutions/tiny/01-tiny.ipynb: cell mean-tests" in text
    )
    assert (
        "solutions/tiny/01-tiny.ipynb: cell essay: a person grades this answer, but its prompt shows no rub"
        in text
    )
    # and nothing about the sound cells
    for sound in ("mean-tests", "scale-tests", "predict-tests"):
        assert f"01-tiny.ipynb: cell {sound}:" not in text
