"""A learner's side: start an assignment in a workspace, submit it for grading.

Workspaces live in the state folder (``workspaces/<learner>/<assignment>/``); a
submission is copied to nbgrader's submitted folder with a ``timestamp.txt``, the layout
``nbgrader collect`` produces, so the instructor's tools see it as any other.
An earlier submission is moved to ``archive/`` first, never overwritten.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from .config import Settings
from .curriculum import Curriculum
from .evidence import iter_records
from .mastery import phase_progress

LEARNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class WorkspaceError(ValueError):
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
        if phase.phase == assignment.phase_id and phase.state == "locked":
            raise WorkspaceError(
                f"{learner} cannot start {assignment_id} yet: it needs "
                f"{', '.join(phase.missing_prerequisites)} mastered first "
                f"(see: autograder progress --learner {learner})"
            )
    target = workspace_dir(settings, learner, assignment_id)
    target.mkdir(parents=True, exist_ok=True)
    from .gradebook import copy_release_files  # nbgrader is slow to import

    copy_release_files(settings, assignment_id, target)  # never overwrites the learner's work
    write_progress_page(settings, curriculum, learner)
    return target


def progress_page_path(settings: Settings, learner: str) -> Path:
    """``workspaces/<learner>/progress.html``: at the root of what ``autograder lab`` shows."""
    return settings.workspaces_dir / check_learner_name(learner) / "progress.html"


def write_progress_page(settings: Settings, curriculum: Curriculum, learner: str) -> Path:
    """(Re)write the learner's progress page in their workspace, from their evidence now.

    Why in the workspace: the learner opens it from JupyterLab's file browser, next to
    the notebooks; it needs no server route and no script (JupyterLab's HTML viewer
    runs none). ``start`` writes it, and the CLI rewrites it after every submit's grading.
    """
    from .dashboards import write_progress_page as write_page

    return write_page(settings, curriculum, learner, progress_page_path(settings, learner))


def submit(settings: Settings, curriculum: Curriculum, assignment_id: str, learner: str) -> Path:
    """Copy the workspace's notebooks to the submitted folder, archiving any earlier one."""
    assignment = curriculum.assignment(assignment_id)
    source = workspace_dir(settings, learner, assignment_id)
    if not source.is_dir():
        raise WorkspaceError(
            f"{learner} has no workspace for {assignment_id}; start it with: "
            f"autograder start {assignment_id} --learner {learner}"
        )
    notebooks = [source / nb.file for nb in assignment.notebooks if (source / nb.file).is_file()]
    if not notebooks:
        raise WorkspaceError(f"{source} holds none of {assignment_id}'s notebooks; nothing to submit")
    target = settings.submitted_dir / learner / assignment_id
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
    staging = target.with_name(f".{assignment_id}.incoming")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in notebooks:
        shutil.copy2(path, staging / path.name)
    now = datetime.now(UTC)
    (staging / "timestamp.txt").write_text(now.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    staging.rename(target)
    return target
