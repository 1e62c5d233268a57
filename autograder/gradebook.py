"""The bridge to nbgrader: its course directory, release generation, sanitising and gradebook.

nbgrader stays the system of record. We use its ``GenerateAssignment`` app to make the
release and record source cells, its own sanitising preprocessors to restore locked and
test cells before a run, and its ``Gradebook`` for scores, so formgrader and
``nbgrader export`` show what our grader decided.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)
from sqlalchemy.exc import SAWarning

from .config import Settings
from .reports import grade_cells
from .storage import sha256_file


def _put_our_scripts_on_path() -> None:
    """nbgrader's ``Gradebook`` runs the ``alembic`` command; find ours without an activated venv."""
    scripts = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


_put_our_scripts_on_path()


class GradebookError(RuntimeError):
    """nbgrader refused an operation; the message carries its log."""


def course_directory(settings: Settings, **overrides: str) -> CourseDirectory:
    coursedir = CourseDirectory(config=settings.config)
    coursedir.root = str(settings.root)
    for key, value in overrides.items():
        setattr(coursedir, key, value)
    return coursedir


def generate_release(settings: Settings, assignment_id: str, release_dir: Path | None = None) -> None:
    """``nbgrader generate_assignment``: write the release and record the source cells.

    ``release_dir`` sends the release somewhere other than ``curriculum/``, for when we
    only need the gradebook to know the assignment.
    """
    overrides = {"release_directory": str(release_dir)} if release_dir else {}
    api = NbGraderAPI(coursedir=course_directory(settings, **overrides), config=settings.config)
    result = api.generate_assignment(assignment_id, force=True, create=True)
    if not result.get("success"):
        log = (result.get("log") or "") + (result.get("error") or "")
        raise GradebookError(f"nbgrader generate_assignment {assignment_id} failed:\n{log}")


def _source_fingerprint(settings: Settings, assignment_id: str) -> str:
    source = settings.root / "solutions" / assignment_id
    return ",".join(sha256_file(p)[:16] for p in sorted(source.glob("*.ipynb")))


def ensure_assignment(settings: Settings, assignment_id: str) -> None:
    """Make sure the gradebook knows the assignment as ``solutions/`` has it now."""
    marker = settings.state_dir / "gradebook-sources" / f"{assignment_id}.txt"
    fingerprint = _source_fingerprint(settings, assignment_id)
    known = False
    with Gradebook(settings.db_url, settings.course_id) as gb:
        try:
            gb.find_assignment(assignment_id)
            known = True
        except MissingEntry:
            pass
    if known and marker.is_file() and marker.read_text() == fingerprint:
        return
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        generate_release(settings, assignment_id, Path(tmp))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(fingerprint)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured_log() -> Iterator[tuple[logging.Logger, _ListHandler]]:
    logger = logging.getLogger(f"autograder.sanitize.{id(object())}")
    logger.propagate = False
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)


def known_grade_ids(settings: Settings, assignment_id: str, notebook: str) -> set[str]:
    with Gradebook(settings.db_url, settings.course_id) as gb:
        nb = gb.find_notebook(notebook, assignment_id)
        return {cell.name for cell in nb.source_cells}


def sanitize(
    settings: Settings, nb: NotebookNode, assignment_id: str, notebook: str, learner: str
) -> tuple[NotebookNode, list[str]]:
    """nbgrader's sanitising chain, as ``nbgrader autograde`` runs it, plus what it changed.

    Locked cells, test cells, points and cell types come back from the gradebook; test
    cells a learner deleted are added back (``add_missing_cells``), so they are graded.
    """
    resources = {
        "nbgrader": {
            "db_url": settings.db_url,
            "assignment": assignment_id,
            "notebook": notebook,
            "student": learner,
        }
    }
    edited = edited_locked_cells(settings, nb, assignment_id, notebook)
    with _captured_log() as (logger, handler):
        chain = [
            ClearOutput(log=logger),
            DeduplicateIds(log=logger),
            OverwriteKernelspec(log=logger),
            OverwriteCells(log=logger, add_missing_cells=True),
            CheckCellMetadata(log=logger),
        ]
        for preprocessor in chain:
            nb, resources = preprocessor.preprocess(nb, resources)
    # A test cell with hidden tests never matches its gradebook checksum (the release lacks
    # them), so nbgrader's checksum warning says nothing; edits are found against the release.
    changes = [m for m in handler.messages if "kernelspec" not in m.lower() and "'checksum'" not in m]
    return nb, edited + changes


def edited_locked_cells(settings: Settings, nb: NotebookNode, assignment_id: str, notebook: str) -> list[str]:
    """Locked cells whose source differs from the release's: they will be restored."""
    release = settings.root / "curriculum" / assignment_id / f"{notebook}.ipynb"
    try:
        original = nbformat.read(str(release), as_version=4)
    except (OSError, ValueError):
        return []
    locked = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in original.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("locked")
    }
    edits = []
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in locked and cell.get("source") != locked[grade_id]:
            edits.append(f"locked cell {grade_id} was edited; the original was restored")
    return edits


def graded_cell_points(nb: NotebookNode) -> dict[str, float]:
    return {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader.get("points", 0)) for c in grade_cells(nb)
    }


def write_scores(
    settings: Settings,
    assignment_id: str,
    learner: str,
    timestamp: datetime | None,
    scores: dict[str, dict[str, float]],
) -> None:
    """Write autograded scores, one transaction for the submission (notebook -> grade_id -> score).

    A manual score a grader already gave is kept, and the cell is flagged for review, as
    nbgrader's own ``SaveAutoGrades`` does.
    """
    with Gradebook(settings.db_url, settings.course_id) as gb, warnings.catch_warnings():
        # nbgrader's own autoflush warnings on a first submission; nothing to act on
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(learner)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        gb.update_or_create_submission(assignment_id, learner, **kwargs)
        for notebook, cells in scores.items():
            for grade_id, score in cells.items():
                try:
                    grade = gb.find_grade(grade_id, notebook, assignment_id, learner)
                except MissingEntry:
                    continue
                grade.auto_score = score
                grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def copy_release_files(settings: Settings, assignment_id: str, target: Path) -> None:
    """Copy an assignment's release (notebooks and data) into ``target`` without overwriting."""
    release = settings.root / "curriculum" / assignment_id
    for item in release.rglob("*"):
        if item.is_file() and ".ipynb_checkpoints" not in item.parts:
            dest = target / item.relative_to(release)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, dest)
