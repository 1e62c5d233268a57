"""The shape the package keeps (issue 13): short functions, course folders named in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"
MAX_LINES = 60
FOLDER_NAMES = {"solutions", "curriculum", "hidden"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > MAX_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], f"split these into helpers of at most {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_course_folders_are_named_only_in_layout(path):
    if path.name == "layout.py":
        return
    spelled = [
        f"{path.name}:{node.lineno} {node.value!r}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in FOLDER_NAMES
    ]
    assert spelled == [], f"use autograder.layout's names instead: {spelled}"


def test_the_readme_lists_every_module_and_folder():
    readme = (PACKAGE.parent / "README.md").read_text()
    named = [
        f"{p.parent.relative_to(PACKAGE)}/"
        if p.name == "__init__.py" and p.parent != PACKAGE
        else p.relative_to(PACKAGE).as_posix()
        for p in modules()
    ]
    missing = [name for name in named if f"`{name}`" not in readme]
    assert missing == [], f"add a line for each to the README's layout: {missing}"


KERNEL_SIDE_EXCEPTIONS = {"cli.py", "exchange_plugins.py"}
"""Top-level modules a learner's kernel never imports: the command line, and an old import path."""
NEVER_IMPORTS = {
    "run": {"grading", "views"},
    "grading": {"views"},
    "views": set(),
    "course": {"hub"},
    "hub": set(),
}
"""Each folder's imports follow the pipeline: course -> run -> grading -> views; the hub sits
on top of the course and nothing of the course depends on it."""


def imported_folders(path: Path, source: str | None = None) -> set[str]:
    """The package's folders ``path`` imports from (relative or absolute imports alike)."""
    here = path.parent.relative_to(PACKAGE).parts
    folders = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            parts = (node.module or "").split(".")
            if parts[0] != "autograder":
                continue
            parts = parts[1:]
        else:
            base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
            parts = base + (node.module.split(".") if node.module else [])
        if parts and parts[0] in NEVER_IMPORTS:
            folders.add(parts[0])
        elif not parts and node.level:
            folders |= {alias.name for alias in node.names if alias.name in NEVER_IMPORTS}
    return folders - set(here[:1])  # its own folder


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_follow_the_trust_boundary_and_the_pipeline(path):
    rel = path.relative_to(PACKAGE)
    folders = imported_folders(path)
    if len(rel.parts) == 1:
        if rel.name not in KERNEL_SIDE_EXCEPTIONS:
            assert folders == set(), f"{rel} runs in the learner's kernel; it must not import {folders}"
        return
    forbidden = folders & NEVER_IMPORTS[rel.parts[0]]
    assert forbidden == set(), f"{rel} imports {forbidden}, against the pipeline's direction"


def test_the_boundary_check_sees_an_import_across_it():
    """The check above can fail: imports across the boundary are seen, however spelled."""
    assert imported_folders(PACKAGE / "checks.py") == set()
    source = "from .grading.grade import score_run\nfrom autograder.views import mastery\nfrom . import run\n"
    assert imported_folders(PACKAGE / "checks.py", source) == {"grading", "views", "run"}
    assert imported_folders(PACKAGE / "run" / "client.py", "from ..views.charts import bars\n") == {"views"}
    assert imported_folders(PACKAGE / "run" / "client.py", "from .outcome import RunOutcome\n") == set()
