"""Honest alternative solutions: the file format, how one fills in a release, and the gate.

* ``autograder.course.alternatives`` reads ``solutions/<assignment>/alternatives/<stem>.yaml``;
  every malformed file gets one line naming the file and the fix.
* An alternative fills in the release as a learner would: the answers it names, the
  solution's own answers elsewhere, extra plain code cells where it says.
* ``autograder check`` grades each alternative like a learner's submission under every
  seed it checks, names each cell that scores below full marks, and fails a notebook
  without alternatives; no alternative reaches the release.
* The repository's phase-1 notebooks ship alternatives that cover every exercise and
  score full marks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder.course.alternatives import (
    Alternative,
    AlternativesError,
    ExtraCell,
    alternative_lines,
    alternatives_path,
    answer_cell_ids,
    apply_alternative,
    load_alternatives,
    parse_alternatives,
    solution_answers,
    target_problems,
)
from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.validate import (
    CheckReport,
    check_alternative_leaks,
    check_alternatives,
    check_curriculum,
    check_released_folders,
)
from autograder.grading.gradebook import generate_release
from autograder.grading.reference import Reference
from tests.conftest import TINY, TINY_ALTERNATIVES, make_course, tiny_notebook

REPO = Path(__file__).resolve().parents[2]
CURRICULUM = load_curriculum(REPO)
PHASE1 = "phase1-foundations"
PHASE1_NOTEBOOKS = [spec.name for spec in CURRICULUM.assignment(PHASE1).notebooks]

WRONG = """\
- name: off-by-one
  why: "Scales by k + 1: a wrong answer the gate must catch"
  answers:
    scale-solution: |
      def scale(x, k):
          return np.asarray(x) * (k + 1)
"""


def write_alternatives(root: Path, text: str) -> Path:
    path = alternatives_path(root / "solutions" / TINY, "01-tiny")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- reading the file ---------------------------------------------------------------------


def test_a_file_reads_into_alternatives(tmp_path):
    path = tmp_path / "01-tiny.yaml"
    path.write_text(TINY_ALTERNATIVES)
    [alternative] = load_alternatives(path)
    assert alternative.name == "sum-and-helpers"
    assert alternative.answers["mean-solution"] == "def column_mean(x):\n    return sum(x) / len(x)"
    assert alternative.extra_cells == (ExtraCell("setup", "SLOPE, INTERCEPT = 2, 1"),)


MALFORMED = [
    ("- name: a\n  answers: {x: 'y'\n", "not valid YAML (line"),
    ("name: a\n", "expected a non-empty YAML list of alternatives, got dict"),
    ("", "expected a non-empty YAML list of alternatives, got nothing"),
    ("- just a string\n", "alternative #1: expected a mapping with the keys name, why, answers, extra_cells"),
    ("- {name: Loops, why: w, answers: {a: b}}\n", "`name` must be lower-case letters, digits and dashes"),
    ("- {name: a, answers: {a: b}}\n", "alternative #1 (a): `why` must say in a sentence"),
    ("- {name: a, why: w, answer: {a: b}}\n", "unknown key(s) answer; the keys are name, why"),
    ("- {name: a, why: w, answers: [a, b]}\n", "`answers` maps answer-cell grade_ids to the whole cell"),
    ("- {name: a, why: w, answers: {a: 3}}\n", "answers.a: `answers` maps answer-cell grade_ids"),
    ("- {name: a, why: w, answers: {}}\n", "it changes nothing; give `answers`"),
    ("- {name: a, why: w, extra_cells: [{source: x}]}\n", "extra_cells #1: `extra_cells` is a list of"),
    (
        "- {name: a, why: w, answers: {a: b}}\n- {name: a, why: v, answers: {a: c}}\n",
        "alternative #2: the name 'a' is used twice",
    ),
]


@pytest.mark.parametrize(("text", "problem"), MALFORMED)
def test_a_malformed_file_gets_one_line_naming_the_file_and_the_fix(tmp_path, text, problem):
    path = tmp_path / "01-tiny.yaml"
    path.write_text(text)
    with pytest.raises(AlternativesError) as caught:
        load_alternatives(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "\n" not in message


def test_an_unreadable_file_says_so(tmp_path):
    with pytest.raises(AlternativesError, match=r"missing\.yaml: cannot be read"):
        load_alternatives(tmp_path / "missing.yaml")


# --- applying an alternative to the release --------------------------------------------------


def released_tiny() -> nbformat.NotebookNode:
    """The tiny notebook as nbgrader releases it: each solution region replaced by a stub."""
    nb = tiny_notebook()
    for cell in nb.cells:
        if cell.metadata.nbgrader.get("solution"):
            head = cell.source.split("    ### BEGIN SOLUTION")[0]
            cell.source = head + "    # YOUR CODE HERE\n    raise NotImplementedError()"
    return nb


def test_the_solution_answers_are_the_source_without_its_markers():
    answers = solution_answers(tiny_notebook())
    assert answers == {
        "mean-solution": "def column_mean(x):\n    return float(np.mean(x))",
        "scale-solution": "def scale(x, k):\n    return np.asarray(x) * k",
        "predict-solution": "def predict(x):\n    return 2 * x + 1",
    }


def test_an_answer_of_two_regions_keeps_the_code_between_them():
    cell = nbformat.v4.new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n\n"
        "### BEGIN SOLUTION\nRATE = 0.1\n### END SOLUTION",
        metadata={"nbgrader": {"grade_id": "f-solution", "solution": True}},
    )
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert solution_answers(nb) == {"f-solution": "def f():\n    return 1\n\n\nRATE = 0.1"}


def test_an_alternative_fills_in_the_release_as_a_learner_would():
    release = released_tiny()
    before = nbformat.writes(release)
    [alternative] = parse_alternatives(yaml.safe_load(TINY_ALTERNATIVES), "t.yaml")
    partial = Alternative("just-mean", "w", {"mean-solution": alternative.answers["mean-solution"]})

    filled = apply_alternative(release, solution_answers(tiny_notebook()), partial)
    sources = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in filled.cells}
    assert sources["mean-solution"] == "def column_mean(x):\n    return sum(x) / len(x)"
    assert sources["scale-solution"] == "def scale(x, k):\n    return np.asarray(x) * k"  # the solution's
    assert nbformat.writes(release) == before  # the release itself is untouched

    filled = apply_alternative(release, solution_answers(tiny_notebook()), alternative)
    ids = [c.get("id") for c in filled.cells]
    extra = filled.cells[ids.index("setup") + 1]
    assert extra.source == "SLOPE, INTERCEPT = 2, 1" and "nbgrader" not in extra.metadata
    assert len(ids) == len(set(ids)) == len(release.cells) + 1
    locked = {c.id: c.source for c in release.cells if c.metadata.nbgrader.get("locked")}
    assert {c.id: c.source for c in filled.cells if c.id in locked} == locked
    nbformat.validate(filled)


def test_answers_and_anchors_must_exist_in_the_release():
    release = released_tiny()
    alternative = Alternative(
        "typo", "w", {"mean-tests": "x = 1", "scale-solution": "y = 2"}, (ExtraCell("nowhere", "z = 3"),)
    )
    problems = target_problems([alternative], release)
    assert problems == [
        "typo: answers names 'mean-tests', which is not an answer cell of the notebook; its answer "
        "cells are mean-solution, scale-solution, predict-solution",
        "typo: extra_cells goes after 'nowhere', which is neither a grade_id nor a cell id of the "
        "released notebook",
    ]
    assert answer_cell_ids(release) == ["mean-solution", "scale-solution", "predict-solution"]


def test_the_lines_that_would_give_an_alternative_away():
    [alternative] = parse_alternatives(yaml.safe_load(TINY_ALTERNATIVES), "t.yaml")
    assert alternative_lines(alternative) == [
        "def column_mean(x):",
        "return sum(x) / len(x)",
        "def scale(x, k):",
        "return np.multiply(x, k)",
        "def predict(x):",
        "return SLOPE * x + INTERCEPT",
        "SLOPE, INTERCEPT = 2, 1",
    ]


# --- the gate's checks that need no kernel --------------------------------------------------


def test_a_notebook_without_alternatives_or_with_a_malformed_file_is_a_problem(tmp_path):
    root = make_course(tmp_path / "course")
    settings = load_settings(root)
    source = tiny_notebook()
    reference = Reference(TINY, "01-tiny", {"seed": 0}, "", 0.0, {})
    alternatives_path(root / "solutions" / TINY, "01-tiny").unlink(missing_ok=True)

    def gate() -> list[str]:
        report = CheckReport()
        release = released_tiny()
        check_alternatives(settings, source, release, [reference], warm=None, report=report, log=print)
        return report.problems

    assert gate() == [
        "solutions/tiny/alternatives/01-tiny.yaml: missing: every notebook ships at least one honest "
        "alternative solution that must score full marks; write one (see 'Honest alternatives' in "
        "docs/AUTHORING.md)"
    ]
    path = write_alternatives(root, "- name: a\n  answers: [\n")
    problems = gate()
    assert len(problems) == 1 and problems[0].startswith(f"{path}: not valid YAML")
    write_alternatives(root, "- {name: typo, why: w, answers: {mean-tests: 'x = 1'}}\n")
    assert gate() == [
        "solutions/tiny/alternatives/01-tiny.yaml: alternative typo: answers names 'mean-tests', which is "
        "not an answer cell of the notebook; its answer cells are mean-solution, scale-solution, "
        "predict-solution"
    ]


def test_no_alternative_folder_or_line_reaches_the_release(tmp_path):
    root = make_course(tmp_path / "course")
    write_alternatives(root, TINY_ALTERNATIVES)
    release_dir = root / "curriculum" / TINY
    release_dir.mkdir(parents=True)
    release = released_tiny()
    release.cells[0].source += "\n\n    return sum(x) / len(x)"  # pasted into the story
    nbformat.write(release, str(release_dir / "01-tiny.ipynb"))
    (release_dir / "hints.yaml").write_text("01-tiny:\n  scale: ['use return np.multiply(x, k)', 'two']\n")
    shutil.copytree(root / "solutions" / TINY / "alternatives", release_dir / "alternatives")
    generated = tmp_path / "generated" / TINY
    shutil.copytree(root / "solutions" / TINY, generated)

    report = CheckReport()
    settings = load_settings(root)
    check_alternative_leaks(settings, load_curriculum(root).assignment(TINY), report)
    check_released_folders(root, generated, TINY, report)
    owner = "of the honest alternative 01-tiny/sum-and-helpers"
    story = "curriculum/tiny/01-tiny.ipynb: cell story"
    assert f"{story}: leaks 'return sum(x) / len(x)' {owner}" in report.problems
    assert f"curriculum/tiny/hints.yaml: leaks 'return np.multiply(x, k)' {owner}" in report.problems
    assert (
        "curriculum/tiny/alternatives: alternatives (the author's variants of the solution) in the "
        "release; delete the folder, then run: autograder release" in report.problems
    )
    assert (
        "jupyter_config.py: nbgrader generate_assignment copies solutions/tiny/alternatives/ into the "
        "release; list 'alternatives' in c.CourseDirectory.ignore" in report.problems
    )
    public = [p for p in report.problems if "def column_mean(x):" in p]
    assert public == []  # the def line is shown in the release: public, not a leak


# --- the repository's own alternatives --------------------------------------------------------


@pytest.mark.parametrize("notebook", PHASE1_NOTEBOOKS)
def test_phase1_alternatives_cover_every_exercise_and_name_real_cells(notebook):
    path = alternatives_path(REPO / "solutions" / PHASE1, notebook)
    alternatives = load_alternatives(path)
    release = nbformat.read(str(REPO / "curriculum" / PHASE1 / f"{notebook}.ipynb"), as_version=4)
    assert target_problems(alternatives, release) == []
    named = {grade_id for a in alternatives for grade_id in a.answers}
    assert set(answer_cell_ids(release)) - named == set(), f"{path}: exercises no alternative solves"
    assert len({a.why for a in alternatives}) == len(alternatives)


# --- the gate, with real nbgrader and real kernels --------------------------------------------


@pytest.mark.slow
def test_release_leaves_the_alternatives_out(tmp_path):
    root = make_course(tmp_path / "course")
    write_alternatives(root, TINY_ALTERNATIVES)
    generate_release(load_settings(root), TINY)
    assert (root / "curriculum" / TINY / "01-tiny.ipynb").is_file()
    assert not (root / "curriculum" / TINY / "alternatives").exists()


@pytest.mark.slow
def test_the_gate_fails_a_wrong_alternative_and_passes_an_honest_one(tmp_path):
    root = make_course(tmp_path / "course")
    write_alternatives(root, TINY_ALTERNATIVES + "\n" + WRONG)
    settings = load_settings(root)
    generate_release(settings, TINY)
    notes: list[str] = []
    report = check_curriculum(settings, load_curriculum(root), nbval=False, log=notes.append)
    where = "solutions/tiny/alternatives/01-tiny.yaml"
    seeds = [0, 1000, 1001]  # c.Autograder.check_seeds = 3
    for seed in seeds:
        assert any(
            p.startswith(f"{where}: alternative off-by-one: cell scale-tests scored 0/1 under seed {seed}: ")
            for p in report.problems
        ), report.problems
    assert len(report.problems) == len(seeds), report.problems  # nothing about the honest one
    assert "sum-and-helpers" not in "\n".join(report.problems)
    assert report.timings[f"{where} (2 x 3 seeds)"] > 0
    assert any(n.startswith("graded 2 alternative(s) of 01-tiny, 3 seeds: ") for n in notes)


@pytest.mark.slow
def test_the_repository_phase1_alternatives_score_full_marks():
    report = check_curriculum(
        load_settings(REPO), CURRICULUM, assignments=[PHASE1], nbval=False, log=lambda _: None
    )
    assert [p for p in report.problems if "alternative" in p] == []
    for notebook in PHASE1_NOTEBOOKS:
        assert any(f"alternatives/{notebook}.yaml (" in key for key in report.timings)
    print(
        "alternatives gate:",
        ", ".join(f"{k.split('/')[-1]} {v:.1f} s" for k, v in report.timings.items() if "alternatives/" in k),
    )
