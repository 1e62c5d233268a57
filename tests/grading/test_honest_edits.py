"""Honest edits nbgrader must survive, and learner folders the grader must not follow.

Real grading of the tiny course (conftest): a learner who copy-pastes a cell in
JupyterLab (the copy keeps its nbgrader metadata) is graded as nbgrader keeps the copies,
and a symbolic link in a workspace or a submission folder is refused, never followed, and
no byte of what it points to reaches the learner.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import DeduplicateIds

from autograder.cli import main
from autograder.course.workspace import WorkspaceError, start, submit, workspace_dir
from autograder.views.feedback import write_feedback
from tests.conftest import CORRECT, TINY, learner_notebook, submit_notebook, tiny_notebook
from tests.grading.test_grading import cell_scores, grade_one

WRONG_MEAN = "def column_mean(x):\n    return 0.0"
SECRET = "ROOTONLY-5be1d0c4-do-not-show"
"""The text of a file only root may read; no message a learner sees may hold any of it."""


def grade_id_of(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def paste_copy(nb: nbformat.NotebookNode, grade_id: str, source: str | None = None) -> nbformat.NotebookNode:
    """JupyterLab's copy and paste of a cell: pasted below it, new cell id, same metadata.

    ``source``, when given, is typed into the *first* of the two copies.
    """
    index = next(i for i, c in enumerate(nb.cells) if grade_id_of(c) == grade_id)
    pasted = copy.deepcopy(nb.cells[index])
    pasted["id"] = f"pasted-{grade_id}-{len(nb.cells)}"
    nb.cells.insert(index + 1, pasted)
    if source is not None:
        nb.cells[index].source = source
    return nb


def test_the_copy_that_counts_is_the_one_nbgrader_keeps():
    """The same copies keep their nbgrader metadata as under nbgrader's ``DeduplicateIds``."""
    from autograder.grading.gradebook import KeepLastCopy

    nb = tiny_notebook()
    for grade_id in ("mean-solution", "mean-tests", "setup", "story", "mean-solution"):
        paste_copy(nb, grade_id)
    nb.cells[0:0] = [copy.deepcopy(c) for c in nb.cells if grade_id_of(c) == "scale-tests"]
    nb.cells[0]["id"] = "scale-tests-moved-up"
    known = frozenset(c.metadata["nbgrader"]["grade_id"] for c in nb.cells)
    theirs, ours = copy.deepcopy(nb), copy.deepcopy(nb)
    DeduplicateIds().preprocess(theirs, {})
    keep = KeepLastCopy()
    keep.known = known
    keep.preprocess(ours, {})
    kept = [c.id for c in theirs.cells if c.metadata.get("nbgrader")]
    assert kept == [c.id for c in ours.cells if "nbgrader" in c.metadata]
    assert len(kept) == len(known) and not {"mean-solution", "scale-tests-moved-up"} & set(kept)
    assert all(c.metadata["nbgrader"] for c in ours.cells if "nbgrader" in c.metadata)  # no `{}` left


@pytest.mark.slow
def test_copied_answer_test_and_locked_cells_score_full_marks(settings, curriculum):
    nb = learner_notebook(settings, CORRECT)
    for grade_id in ("mean-solution", "scale-tests", "setup"):
        paste_copy(nb, grade_id)
    pasted = copy.deepcopy(next(c for c in nb.cells if grade_id_of(c) == "scale-solution"))
    pasted.metadata.nbgrader["grade_id"] = "a-cell-of-another-notebook"
    pasted["id"] = "from-another-notebook"
    nb.cells.append(pasted)
    submit_notebook(settings, "copier", nb)
    result = grade_one(settings, curriculum, "copier", seeds=2)
    for run in result.notebooks[0].runs:
        assert run.score == run.max_score == 4, (run.reason, cell_scores(result))
    with Gradebook(settings.db_url, settings.course_id) as gb:
        assert gb.find_submission(TINY, "copier").score == 4
    told = " ".join(result.errors)
    for grade_id in ("mean-solution", "scale-tests", "setup"):
        assert f"cell {grade_id} appears 2 times" in told
    assert "a-cell-of-another-notebook" not in told and "not this notebook's" in told


@pytest.mark.slow
@pytest.mark.parametrize(("first", "last", "mean_score"), [(WRONG_MEAN, None, 2.0), (None, WRONG_MEAN, 0.0)])
def test_a_copied_answer_is_graded_by_its_last_copy_as_nbgrader_keeps_it(
    settings, curriculum, first, last, mean_score
):
    """nbgrader keeps the last copy as the answer cell; the kernel runs both in order."""
    answers = {**CORRECT, "mean-solution": last} if last else CORRECT
    first = first or CORRECT["mean-solution"]
    nb = paste_copy(learner_notebook(settings, answers), "mean-solution", source=first)
    learner = "last-wrong" if last else "first-wrong"
    submit_notebook(settings, learner, nb)
    result = grade_one(settings, curriculum, learner, seeds=1)
    assert cell_scores(result) == {"mean-tests": mean_score, "scale-tests": 1.0, "predict-tests": 1.0}


def test_a_workspace_notebook_linked_to_the_solution_is_refused_and_nothing_is_lost(settings, curriculum):
    learner = "linker"
    folder = start(settings, curriculum, TINY, learner)
    notebook = folder / "01-tiny.ipynb"
    submit(settings, curriculum, TINY, learner)  # the untouched release, once
    stored = settings.submitted_dir / learner / TINY
    before = {p.name: p.read_bytes() for p in stored.iterdir()}
    solution = settings.root / "solutions" / TINY / "01-tiny.ipynb"
    solutions_before = sorted(p.name for p in solution.parent.iterdir())
    notebook.unlink()
    notebook.symlink_to(solution)
    with pytest.raises(WorkspaceError) as info:
        submit(settings, curriculum, TINY, learner)
    assert "symbolic link" in str(info.value) and "earlier submission" in str(info.value)
    assert {p.name: p.read_bytes() for p in stored.iterdir()} == before
    assert not (settings.archive_dir / learner).exists()
    # the workspace folder itself a link to the solutions: refused by submit and by start
    notebook.unlink()
    folder.rmdir()
    folder.symlink_to(solution.parent)
    for action in (submit, start):
        with pytest.raises(WorkspaceError, match="is a symbolic link"):
            action(settings, curriculum, TINY, learner)
    assert {p.name: p.read_bytes() for p in stored.iterdir()} == before
    assert sorted(p.name for p in solution.parent.iterdir()) == solutions_before  # nothing written there


def test_start_never_writes_through_a_link_in_the_workspace(settings, curriculum, tmp_path):
    folder = workspace_dir(settings, "dangler", TINY)
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "written-by-the-grader.ipynb"
    (folder / "01-tiny.ipynb").symlink_to(elsewhere)
    start(settings, curriculum, TINY, "dangler")
    assert not elsewhere.exists() and (folder / "01-tiny.ipynb").is_symlink()


def learner_sees(settings, curriculum, learner: str, capsys) -> str:
    """Everything the learner is shown: feedback pages, ``progress --json``, the record's errors."""
    pages = [p.read_text() for p in write_feedback(settings, curriculum, TINY, learner)]
    capsys.readouterr()
    assert main(["--course", str(settings.root), "progress", "--learner", learner, "--json"]) == 0
    return "\n".join([*pages, capsys.readouterr().out])


@pytest.mark.slow
def test_a_file_only_root_may_read_never_reaches_the_learner(settings, curriculum, tmp_path, capsys):
    secret = tmp_path / "root-only.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    learner = "peeker"
    notebook = start(settings, curriculum, TINY, learner) / "01-tiny.ipynb"
    notebook.unlink()
    notebook.symlink_to(secret)
    with pytest.raises(WorkspaceError) as info:
        submit(settings, curriculum, TINY, learner)
    assert SECRET[:8] not in str(info.value)
    assert not (settings.submitted_dir / learner).exists()
    # the same bytes as a regular file (``nbgrader collect`` copies what a link points to)
    submit_notebook(settings, learner, SECRET.encode())
    result = grade_one(settings, curriculum, learner, seeds=1)
    (line,) = result.errors
    assert "not a readable notebook (not JSON: Expecting value at line 1 column 1)" in line
    record = (result.evidence.path / "record.json").read_text()
    for text in (line, record, learner_sees(settings, curriculum, learner, capsys)):
        assert SECRET[:8] not in text


@pytest.mark.slow
def test_a_link_in_a_submission_folder_is_refused_by_the_grader(settings, curriculum, tmp_path, capsys):
    """Needs ``grade.read_submitted`` to read with ``autograder.course.intake`` (see the report)."""
    secret = tmp_path / "root-only.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    links = {"sub-secret": secret, "sub-solution": settings.root / "solutions" / TINY / "01-tiny.ipynb"}
    for learner, target in links.items():
        path = submit_notebook(settings, learner, learner_notebook(settings, {}))
        path.unlink()
        path.symlink_to(target)
        result = grade_one(settings, curriculum, learner, seeds=1)
        assert result.score(0) == (0.0, 4.0)
        (line,) = result.errors
        assert "01-tiny.ipynb: a symbolic link" in line and SECRET[:8] not in line
        assert SECRET[:8] not in learner_sees(settings, curriculum, learner, capsys)


def test_a_copy_of_a_locked_cell_is_not_reported_as_an_edit(settings):
    """The earlier copy runs as the learner's own cell: nothing of it is "restored"."""
    from autograder.grading.gradebook import sanitize

    nb = paste_copy(learner_notebook(settings, CORRECT), "setup", source="import numpy as np  # my copy")
    sanitized, changes = sanitize(settings, nb, TINY, "01-tiny", "tidy")
    assert not any("was edited" in c for c in changes), changes
    assert [c.source for c in sanitized.cells].count("import numpy as np  # my copy") == 1
