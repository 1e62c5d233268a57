"""The bridge to nbgrader: its course directory, release generation, sanitising and gradebook.

nbgrader stays the system of record. We use its ``GenerateAssignment`` app to make the
release and record source cells, its own sanitising preprocessors to restore locked and
test cells before a run, and its ``Gradebook`` for scores, so formgrader and
``nbgrader export`` show what our grader decided.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import fastjsonschema
import jsonschema
import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.nbgraderformat import ValidationError as NbgraderValidationError
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)
from nbgrader.utils import is_grade, is_locked, is_solution
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SAWarning

from .. import layout
from ..course.config import GradebookError, Settings
from ..course.intake import copy_new_file
from .storage import sha256_file


def _put_our_scripts_on_path() -> None:
    """nbgrader's ``Gradebook`` runs the ``alembic`` command; find ours without an activated venv."""
    scripts = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


_put_our_scripts_on_path()


@contextmanager
def open_gradebook(settings: Settings) -> Iterator[Gradebook]:
    """nbgrader's gradebook at ``db_url``, with an error that names it when it cannot be opened."""
    try:
        gradebook = Gradebook(settings.db_url, settings.course_id)
    except (OperationalError, ArgumentError, NoSuchModuleError) as exc:
        shown = make_url(settings.db_url).render_as_string(hide_password=True)
        reason = str(exc).strip().splitlines()[0][:200]
        raise GradebookError(
            f"cannot open the gradebook at {shown} ({reason}); check c.CourseDirectory.db_url in "
            "jupyter_config.py (or $AUTOGRADER_DB_URL) and that its database server is running"
        ) from None
    with gradebook as gb:
        yield gb


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
    source = layout.source_dir(settings.root, assignment_id)
    return ",".join(sha256_file(p)[:16] for p in sorted(source.glob("*.ipynb")))


def ensure_assignment(settings: Settings, assignment_id: str) -> None:
    """Make sure the gradebook knows the assignment as ``solutions/`` has it now."""
    marker = settings.state_dir / "gradebook-sources" / f"{assignment_id}.txt"
    fingerprint = _source_fingerprint(settings, assignment_id)
    known = False
    with open_gradebook(settings) as gb:
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


class _CachedSchemaValidator(MetadataValidator):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's cell-metadata validator, with its JSON schema checked once, not per cell.

    ``jsonschema.validate`` re-checks the schema itself on every call, which made this the
    largest cost of sanitising a notebook; the rules applied are nbgrader's own.
    """

    _validators: ClassVar[dict[int, Any]] = {}

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version != self.schema_version:
            super().validate_cell(cell)  # nbgrader's own too-old / too-new errors
            return
        validator = self._validators.get(self.schema_version)
        if validator is None:  # nbgrader loads the schema afresh per validator; compile it once
            jsonschema.validators.validator_for(self.schema).check_schema(self.schema)
            validator = self._validators.setdefault(self.schema_version, fastjsonschema.compile(self.schema))
        try:
            validator(cell.metadata["nbgrader"])
        except fastjsonschema.JsonSchemaException as exc:
            raise jsonschema.ValidationError(str(exc)) from None


class FastCheckCellMetadata(CheckCellMetadata):  # type: ignore[misc]  # nbgrader is untyped
    """``CheckCellMetadata`` on the cached validator: same checks, same errors."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        try:
            _CachedSchemaValidator().validate_nb(nb)
        except (NbgraderValidationError, jsonschema.ValidationError) as exc:
            self.log.error(str(exc))
            raise NbgraderValidationError(
                "Notebook failed to validate; the nbgrader metadata may be corrupted."
            ) from exc
        return nb, resources


@dataclass(frozen=True)
class _Cell:
    name: str
    cell_type: str = "code"
    locked: bool = False
    checksum: str | None = None
    source: str = ""
    max_score: float = 0.0


@dataclass(frozen=True)
class _NotebookSnapshot:
    """The rows of one released notebook that ``OverwriteCells`` reads, read once.

    nbgrader's preprocessor asks the gradebook one query per cell; grading a class asks
    the same questions for every submission, so we answer them from one read.
    """

    source_cells: list[_Cell]
    grade_cells: list[_Cell]
    solution_cells: list[_Cell]
    task_cells: list[_Cell]
    kernelspec: str | None = None

    def find_notebook(self, notebook: str, assignment: str) -> _NotebookSnapshot:
        return self

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> _Cell:
        for cell in self.source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such source cell: {assignment}/{notebook}/{name}")

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> _Cell:
        for cell in (*self.grade_cells, *self.task_cells):
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such grade cell: {assignment}/{notebook}/{name}")


@functools.lru_cache(maxsize=64)
def _snapshot(
    db_url: str, course_id: str, assignment_id: str, notebook: str, marker: tuple[float, ...]
) -> _NotebookSnapshot:
    with Gradebook(db_url, course_id) as gb:
        nb = gb.find_notebook(notebook, assignment_id)

        def cells(rows: Any, *fields: str) -> list[_Cell]:
            return [_Cell(name=row.name, **{f: getattr(row, f) for f in fields}) for row in rows]

        return _NotebookSnapshot(
            source_cells=cells(nb.source_cells, "cell_type", "locked", "checksum", "source"),
            grade_cells=cells(nb.grade_cells, "cell_type", "max_score"),
            solution_cells=cells(nb.solution_cells),
            task_cells=cells(nb.task_cells, "max_score"),
            kernelspec=nb.kernelspec,
        )


class SnapshotOverwriteCells(OverwriteCells):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's ``OverwriteCells``, reading the released cells from a snapshot of the gradebook."""

    snapshot: _NotebookSnapshot | None = None

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = self.snapshot
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class SnapshotOverwriteKernelspec(OverwriteKernelspec):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's ``OverwriteKernelspec`` (the released kernelspec wins), from the snapshot."""

    snapshot: _NotebookSnapshot | None = None

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        assert self.snapshot is not None
        if self.snapshot.kernelspec:
            nb.metadata["kernelspec"] = json.loads(self.snapshot.kernelspec)
        return nb, resources


FLAGS = ("grade", "solution", "locked", "task")
"""What makes a cell one nbgrader grades, restores or records."""


class KeepLastCopy(DeduplicateIds):  # type: ignore[misc]  # nbgrader is untyped
    """nbgrader's ``DeduplicateIds``, leaving the cells it does not grade as plain learner cells.

    A cell copied in JupyterLab keeps its nbgrader metadata, so its ``grade_id`` appears
    twice. ``DeduplicateIds`` keeps the *last* copy as the graded (or locked) cell, as
    nbgrader intends (jupyter/nbgrader#108), but leaves ``nbgrader: {}`` on the earlier
    ones, which nbgrader's own ``OverwriteCells`` and ``CheckCellMetadata`` then fail on
    (jupyter/nbgrader#1083): the whole notebook went ungraded with "KeyError: 'grade_id'".
    Here the same copy is kept and the others lose their nbgrader metadata altogether, so
    they run as ordinary cells of the learner's, as a cell pasted from another notebook
    (its ``grade_id`` is not one of this notebook's) does too. A deleted graded cell is
    still added back by ``OverwriteCells``. The learner is told, by exercise, never by
    quoting what their notebook holds.
    """

    known: frozenset[str] = frozenset()
    """This notebook's nbgrader cells (the gradebook's source cells)."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        self.copies: dict[str, int] = {}
        self.foreign: list[int] = []
        self.count = len(nb.cells)
        nb, resources = super().preprocess(nb, resources)  # scans the cells last to first
        for grade_id, extra in sorted(self.copies.items()):
            self.log.warning(
                "cell %s appears %d times (a copied cell keeps its nbgrader id): the last copy "
                "counts as %s, the others run as your own cells; delete the extra copies",
                grade_id,
                extra + 1,
                grade_id,
            )
        for position in sorted(self.foreign):
            self.log.warning(
                "cell %d carries nbgrader metadata that is not this notebook's (pasted from another "
                "notebook?): it runs as your own cell",
                position,
            )
        return nb, resources

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if "nbgrader" not in cell.metadata:
            return cell, resources
        meta = cell.metadata["nbgrader"]
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(grade_id, str) or grade_id not in self.known:
            flagged = isinstance(meta, dict) and any(meta.get(k) for k in FLAGS)
            del cell.metadata["nbgrader"]  # nbgrader's OverwriteCells would fail on it
            if flagged:  # worth a word; plain metadata without a known id is dropped quietly
                self.foreign.append(self.count - cell_index)  # 1-based, in notebook order
            return cell, resources
        if not (is_grade(cell) or is_solution(cell) or is_locked(cell)):
            return cell, resources
        if grade_id in self.grade_ids:  # DeduplicateIds' own rule: the last copy was seen first
            del cell.metadata["nbgrader"]
            self.copies[grade_id] = self.copies.get(grade_id, 0) + 1
        else:
            self.grade_ids.add(grade_id)
        return cell, resources


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
    return set(
        _known_grade_ids(settings.db_url, settings.course_id, assignment_id, notebook, _marker(settings))
    )


def _marker(settings: Settings) -> tuple[float, ...]:
    """Changes whenever ``ensure_assignment`` records a new release, so caches follow it."""
    folder = settings.state_dir / "gradebook-sources"
    return tuple(sorted(p.stat().st_mtime for p in folder.glob("*.txt"))) if folder.is_dir() else ()


@functools.lru_cache(maxsize=64)
def _known_grade_ids(
    db_url: str, course_id: str, assignment_id: str, notebook: str, marker: tuple[float, ...]
) -> frozenset[str]:
    with Gradebook(db_url, course_id) as gb:
        nb = gb.find_notebook(notebook, assignment_id)
        return frozenset(cell.name for cell in nb.source_cells)


def sanitize(
    settings: Settings, nb: NotebookNode, assignment_id: str, notebook: str, learner: str
) -> tuple[NotebookNode, list[str]]:
    """nbgrader's sanitising chain, as ``nbgrader autograde`` runs it, plus what it changed.

    Locked cells, test cells, points and cell types come back from the gradebook; test
    cells a learner deleted are added back (``add_missing_cells``), so they are graded.
    Copies of a cell are graded as nbgrader would grade them (``KeepLastCopy``), and
    edits are looked for in the copies that are graded, after that.
    """
    resources = {
        "nbgrader": {
            "db_url": settings.db_url,
            "assignment": assignment_id,
            "notebook": notebook,
            "student": learner,
        }
    }
    snapshot = _snapshot(settings.db_url, settings.course_id, assignment_id, notebook, _marker(settings))
    with _captured_log() as (logger, handler):
        overwrite = SnapshotOverwriteCells(log=logger, add_missing_cells=True)
        kernelspec = SnapshotOverwriteKernelspec(log=logger)
        overwrite.snapshot = kernelspec.snapshot = snapshot
        deduplicate = KeepLastCopy(log=logger)
        deduplicate.known = frozenset(cell.name for cell in snapshot.source_cells)
        for preprocessor in (ClearOutput(log=logger), deduplicate):
            nb, resources = preprocessor.preprocess(nb, resources)
        edited = edited_locked_cells(settings, nb, assignment_id, notebook)
        for preprocessor in (kernelspec, overwrite, FastCheckCellMetadata(log=logger)):
            nb, resources = preprocessor.preprocess(nb, resources)
    # A test cell with hidden tests never matches its gradebook checksum (the release lacks
    # them), so nbgrader's checksum warning says nothing; edits are found against the release.
    changes = [m for m in handler.messages if "kernelspec" not in m.lower() and "'checksum'" not in m]
    return nb, edited + changes


def edited_locked_cells(settings: Settings, nb: NotebookNode, assignment_id: str, notebook: str) -> list[str]:
    """Locked cells whose source differs from the release's: they will be restored."""
    release = layout.release_dir(settings.root, assignment_id) / f"{notebook}.ipynb"
    try:
        locked = _locked_sources(release, release.stat().st_mtime_ns)
    except (OSError, ValueError):
        return []
    edits = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(grade_id, str) and grade_id in locked and cell.get("source") != locked[grade_id]:
            edits.append(f"locked cell {grade_id} was edited; the original was restored")
    return edits


@functools.lru_cache(maxsize=64)
def _locked_sources(release: Path, mtime_ns: int) -> dict[str, str]:
    original = nbformat.read(str(release), as_version=4)  # type: ignore[no-untyped-call]
    return {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in original.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("locked")
    }


def manual_grade_cells(settings: Settings, assignment_id: str, notebook: str) -> dict[str, float]:
    """The released notebook's cells a person grades (grade cells that are answers), with points."""
    snapshot = _snapshot(settings.db_url, settings.course_id, assignment_id, notebook, _marker(settings))
    answers = {cell.name for cell in snapshot.solution_cells}
    return {
        cell.name: float(cell.max_score)
        for cell in snapshot.grade_cells
        if cell.name in answers or cell.cell_type != "code"
    }


Scores = dict[str, dict[str, float | None]]
"""notebook -> grade_id -> automatic score; None for an answer that waits for a person."""
Comments = dict[str, dict[str, str | None]]
"""notebook -> grade_id -> nbgrader's automatic comment ("No response." or None)."""


def write_scores_batch(
    settings: Settings,
    assignment_id: str,
    batch: list[tuple[str, datetime | None, Scores] | tuple[str, datetime | None, Scores, Comments]],
) -> None:
    """Write automatic scores (and comments) of many submissions in one gradebook transaction.

    Each cell is written as nbgrader's own ``SaveAutoGrades`` writes it on every
    ``nbgrader autograde``: ``auto_score`` is set, ``manual_score`` (what an instructor
    entered in formgrader) is never touched, and the cell needs a person
    (``needs_manual_grade``) when it has no automatic score (a written answer) or when
    it already had a manual score, which then comes back for review because the grader
    ran again. So a re-grade never loses an instructor's score; it asks them to look
    again, and nbgrader's totals (auto, or manual where given) include both.
    """
    with open_gradebook(settings) as gb, warnings.catch_warnings():
        # nbgrader's own autoflush warnings on a first submission; nothing to act on
        warnings.simplefilter("ignore", SAWarning)
        commit = gb.db.commit
        # nbgrader's helpers commit per call; hold it to one commit (queries still autoflush)
        gb.db.commit = lambda: None
        try:
            for learner, timestamp, scores, *rest in batch:
                comments: Comments = rest[0] if rest else {}
                gb.update_or_create_student(learner)
                kwargs = {"timestamp": timestamp} if timestamp else {}
                gb.update_or_create_submission(assignment_id, learner, **kwargs)
                for notebook, cells in scores.items():
                    try:  # one query for the notebook's grades, not one per cell
                        submitted = gb.find_submission_notebook(notebook, assignment_id, learner)
                    except MissingEntry:
                        continue
                    grades = {g.name: g for g in submitted.grades}
                    for grade_id, score in cells.items():
                        if grade_id in grades:
                            grade = grades[grade_id]
                            grade.auto_score = score
                            grade.needs_manual_grade = grade.manual_score is not None or score is None
                    if comments.get(notebook):
                        rows = {c.name: c for c in submitted.comments}
                        for grade_id, text in comments[notebook].items():
                            if grade_id in rows:
                                rows[grade_id].auto_comment = text
            commit()
        except Exception:
            gb.db.rollback()
            raise
        finally:
            del gb.db.commit


def copy_release_files(settings: Settings, assignment_id: str, target: Path) -> None:
    """Copy an assignment's release (notebooks and data) into ``target`` without overwriting.

    ``target`` is a learner's workspace: whatever is already there stays, a link included,
    and nothing is written through a link (``copy_new_file``).
    """
    release = layout.release_dir(settings.root, assignment_id)
    for item in release.rglob("*"):
        if item.is_file() and ".ipynb_checkpoints" not in item.parts:
            copy_new_file(item, target, item.relative_to(release))


@dataclass(frozen=True)
class PersonScore:
    """What an instructor gave a written answer in formgrader (``manual_score``), if anything."""

    score: float | None
    points: float
    needs_review: bool
    """nbgrader asks a person to look (again): not graded yet, or graded before a re-grade."""


def person_scores(settings: Settings, assignment_id: str, learner: str) -> dict[tuple[str, str], PersonScore]:
    """(notebook, grade_id) -> the score a person gave, for ``learner``'s submission of an assignment.

    Read-only: a course whose SQLite gradebook does not exist yet has no scores, and this
    does not create one. A learner or assignment the gradebook does not know has none either.
    """
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return {}
    scores: dict[tuple[str, str], PersonScore] = {}
    with open_gradebook(settings) as gb:
        try:
            submission = gb.find_submission(assignment_id, learner)
        except MissingEntry:
            return {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                manual = None if grade.manual_score is None else float(grade.manual_score)
                scores[(str(notebook.name), str(grade.name))] = PersonScore(
                    manual, float(grade.max_score or 0), bool(grade.needs_manual_grade)
                )
    return scores
