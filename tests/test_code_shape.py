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


def test_the_readme_lists_every_module():
    readme = (PACKAGE.parent / "README.md").read_text()
    missing = [p.name for p in modules() if f"`{p.name}`" not in readme]
    assert missing == [], f"add a line for each to the README's layout: {missing}"
