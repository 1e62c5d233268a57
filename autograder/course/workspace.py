"""A learner's side: start an assignment in a workspace, submit it for grading.

Workspaces live in the state folder (``workspaces/<learner>/<assignment>/``); a
submission is copied to nbgrader's submitted folder with a ``timestamp.txt``, the layout
``nbgrader collect`` produces, so the instructor's tools see it as any other.
An earlier submission is moved to ``archive/`` first, never overwritten.

A workspace is the learner's, and the grader reads it with rights the learner lacks:
a symbolic link in it (to the solution notebook, or to a file only root may read) is
refused, never followed, and a refused submit leaves the earlier submission in place.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ..errors import AutograderError
from ..grading.evidence import iter_records
from ..views.mastery import phase_progress
from .config import MalformedNotebook, Settings
from .curriculum import Curriculum
from .intake import linked_part, max_notebook_bytes, read_learner_file

LEARNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class WorkspaceError(AutograderError, ValueError):
    """A learner-side request that cannot be done; the message says what to do instead."""


def check_learner_name(name: str) -> str:
    if not LEARNER_NAME.match(name) or ".." in name:
        raise WorkspaceError(
            f"invalid learner name {name!r}: use letters, digits, '.', '_' or '-' (at most 64), "
            "starting with a letter or digit"
        )
    return name


def workspace_dir(settings: Settings, learner: str, assignment_id: str) -> Path:
    return settings.workspaces_dir / check_learner_name(learner) / assignment_id


def start(settings: Settings, curriculum: Curriculum, assignment_id: str, learner: str) -> Path:
    """Copy the release into the learner's workspace; refuse a phase that is still locked."""
    assignment = curriculum.assignment(assignment_id)
    records = list(iter_records(settings, check_learner_name(learner)))
    for phase in phase_progress(curriculum, records):
        if phase.phase == assignment.phase_id and phase.locked:
            raise WorkspaceError(
                f"{learner} cannot start {assignment_id} yet: it needs "
                f"{', '.join(phase.missing_prerequisites)} mastered first "
                f"(see: autograder progress --learner {learner})"
            )
    target = workspace_dir(settings, learner, assignment_id)
    refuse_linked_workspace(settings, target)
    target.mkdir(parents=True, exist_ok=True)
    from ..grading.gradebook import copy_release_files  # nbgrader is slow to import

    copy_release_files(settings, assignment_id, target)  # never overwrites the learner's work
    refresh_progress_page(settings, curriculum, learner)
    return target


def progress_page_path(settings: Settings, learner: str) -> Path:
    """``workspaces/<learner>/progress.html``: at the root of what ``autograder lab`` shows."""
    return settings.workspaces_dir / check_learner_name(learner) / "progress.html"


def refresh_progress_page(settings: Settings, curriculum: Curriculum, learner: str) -> Path:
    """(Re)write the learner's progress page in their workspace, from their evidence now.

    Why in the workspace: the learner opens it from JupyterLab's file browser, next to
    the notebooks; it needs no server route and no script (JupyterLab's HTML viewer
    runs none). ``start`` writes it, and the CLI rewrites it after every submit's grading.
    """
    from ..views.dashboards import write_progress_page as write_page

    return write_page(settings, curriculum, learner, progress_page_path(settings, learner))


def refuse_linked_workspace(settings: Settings, folder: Path) -> None:
    """A workspace folder reached through a symbolic link is not the learner's own: refuse it."""
    linked = linked_part(settings.workspaces_dir, folder)
    if linked is not None:
        raise WorkspaceError(
            f"{linked} is a symbolic link; the grader never follows links in a workspace: "
            "replace it with a real folder holding your notebooks, then try again"
        )


def _read_notebooks(settings: Settings, source: Path, files: list[str]) -> dict[str, bytes]:
    """The workspace's notebooks, each read without following a link and within the size limit.

    Why refuse the whole submit rather than skip a linked notebook: a skipped notebook
    would replace the earlier submission with one that lacks it, and score zero, for what
    is almost always a mistake the learner can fix in a minute.
    """
    limit = max_notebook_bytes(settings.max_notebook_mb)
    found: dict[str, bytes] = {}
    for name in files:
        path = source / name
        if not os.path.lexists(path):
            continue
        try:
            found[name] = read_learner_file(path, limit, root=settings.workspaces_dir)
        except MalformedNotebook as exc:
            raise WorkspaceError(f"not submitted: {exc} (an earlier submission, if any, is kept)") from None
    return found


def submit(settings: Settings, curriculum: Curriculum, assignment_id: str, learner: str) -> Path:
    """Copy the workspace's notebooks to the submitted folder, archiving any earlier one.

    Every notebook is read (never through a link) and staged before the earlier
    submission is touched, so a refused submit changes nothing.
    """
    assignment = curriculum.assignment(assignment_id)
    source = workspace_dir(settings, learner, assignment_id)
    refuse_linked_workspace(settings, source)
    if not source.is_dir():
        raise WorkspaceError(
            f"{learner} has no workspace for {assignment_id}; start it with: "
            f"autograder start {assignment_id} --learner {learner}"
        )
    notebooks = _read_notebooks(settings, source, [nb.file for nb in assignment.notebooks])
    if not notebooks:
        raise WorkspaceError(f"{source} holds none of {assignment_id}'s notebooks; nothing to submit")
    target = settings.submitted_dir / learner / assignment_id
    staging = target.with_name(f".{assignment_id}.incoming")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, data in notebooks.items():
        (staging / name).write_bytes(data)
    now = datetime.now(UTC)
    (staging / "timestamp.txt").write_text(now.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    if target.exists():
        stamp = (target / "timestamp.txt").read_text().strip() if (target / "timestamp.txt").is_file() else ""
        label = re.sub(r"[^0-9A-Za-z]", "", stamp) or datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        archive = settings.archive_dir / learner / assignment_id / label
        n = 1
        while archive.exists():
            archive = archive.with_name(f"{label}-{n}")
            n += 1
        archive.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(archive))
    staging.rename(target)
    return target
