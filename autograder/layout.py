"""The course directory's fixed folders, named once (DESIGN.md's layout).

Why a module of its own: the learner's kernel (``checks.course_root``) and the grader
both find their way by these names, and the kernel must not import the grader's
configuration machinery to learn them; this module imports only ``pathlib``.
"""

from __future__ import annotations

from pathlib import Path

SOURCE = "solutions"
"""nbgrader's source folder: the solution notebooks, one folder per assignment."""
RELEASE = "curriculum"
"""nbgrader's release folder, committed, with the manifest."""
HIDDEN = "hidden"
"""What no release and no learner kernel may see (the competition's labels)."""
CONFIG_FILE = "jupyter_config.py"
MANIFEST = Path(RELEASE) / "manifest.yaml"
MASTERY_PAGE_SUFFIX = ".mastery.html"
"""Our per-notebook feedback page, beside nbgrader's ``<notebook>.html`` in a feedback folder."""
PROGRESS_PAGE = "progress.html"
"""The learner's progress page, in each feedback folder ``autograder feedback`` writes."""


def source_dir(root: Path, assignment: str) -> Path:
    return root / SOURCE / assignment


def release_dir(root: Path, assignment: str) -> Path:
    return root / RELEASE / assignment


def hidden_dir(root: Path, assignment: str) -> Path:
    return root / HIDDEN / assignment


def is_course_root(folder: Path) -> bool:
    """A course directory holds its configuration and its release folder with the manifest."""
    return (folder / CONFIG_FILE).is_file() and (folder / MANIFEST).is_file()
