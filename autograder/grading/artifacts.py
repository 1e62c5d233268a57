"""Artifacts a learner builds (tests, patches, workflows), judged by running them in the sandbox.

A value check compares what the learner's kernel reported. An *artifact* check cannot: the
kernel that wrote the artifact could also forge whatever it reports about running it. So
such a check reports only the artifact (files, as text), and the grader, after the run,
judges it with jobs of its own (``run/jobs.py``): each a fresh sandboxed process over a
folder the grader filled, whose exit code the grader observes. What the judge is given
(hidden tests, buggy versions of a library, a rewritten correct version) lies in
``hidden/<assignment>/suites/<suite>/``, which no release and no learner kernel sees.

The judge's finding replaces the reported artifact before comparison, and the comparator
(``comparators.py``, which names the judge) decides from the finding alone. Findings say
what happened (a version passed or was caught) and never show hidden files.

Judges (``Comparator.judge`` names one):

- ``tests_catch_bugs``: the learner's test files, run with pytest against every tree in
  ``correct/`` (each must pass: exit 0) and every tree in ``buggy/`` (each must be caught:
  exit 1, "tests failed"). A test that always passes catches nothing; one that always
  fails, or fails by recognising the released text, fails a rewritten correct tree; a
  collection error or a crash (exit 2-5) catches nothing.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from ..encode import encode
from ..layout import hidden_dir
from ..run.jobs import JobResult, is_safe_relative, run_job, write_files
from ..run.sandbox import Sandbox
from ..run.warmpool import runs_root

SUITES = "suites"
"""The folder of ``hidden/<assignment>/`` that holds the judges' material, one folder a suite."""
TEST_FILES = ("tests/test_*.py",)
"""What a learner's test suite may consist of: no conftest.py, plugin or configuration file."""
MAX_FILES = 20
MAX_FILE_CHARS = 200_000
JOB_TIMEOUT = 60.0
"""Seconds one job (one pytest run over one tree) may take."""
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "tests"]


class NoJudge(Exception):
    """An artifact check met where nothing can judge it (no course, or a bad suite)."""


@dataclass(frozen=True)
class ArtifactJudge:
    """What judging artifacts needs: the course's hidden folder for the assignment, and the
    sandbox (None only where the instructor opted out of it)."""

    hidden: Path
    sandbox: Sandbox | None
    python: str = sys.executable
    """The interpreter jobs run: the course's, with pytest and the libraries the notebooks use."""
    timeout: float = JOB_TIMEOUT
    """Seconds one job may take."""

    @classmethod
    def for_course(cls, root: Path, assignment: str, sandbox: Sandbox | None) -> ArtifactJudge:
        return cls(hidden_dir(root, assignment), sandbox)

    def judge(self, spec: Mapping[str, Any], value: Any) -> Any:
        """The finding (encoded) for the learner's encoded artifact under the reference ``spec``."""
        from ..comparators import comparator_named

        comparator = comparator_named(spec.get("kind"))
        if comparator is None or comparator.judge is None:
            raise NoJudge(f"the comparator {spec.get('kind')!r} judges nothing")
        return encode(JUDGES[comparator.judge](self, spec, value))

    def suite(self, spec: Mapping[str, Any]) -> Path:
        name = spec.get("suite")
        if not isinstance(name, str) or not is_safe_relative(name) or "/" in name:
            raise NoJudge(f"the check names no usable suite ({name!r})")
        folder = self.hidden / SUITES / name
        if not folder.is_dir():
            raise NoJudge(f"the suite {name!r} is missing from the course's hidden folder")
        return folder


def decoded_files(value: Any, patterns: tuple[str, ...]) -> dict[str, str] | str:
    """A reported ``{path: text}`` dict as plain files, or the reason it is not one.

    The value is an encoded dict (``encode.py``) the report schema already validated; its
    keys must be safe relative paths that match ``patterns``, its values text.
    """
    if not isinstance(value, dict) or value.get("type") != "dict":
        return "the check reports a dict of file name -> file text"
    files: dict[str, str] = {}
    for key, text in value.get("items", []):
        name, content = key.get("value"), text.get("value")
        if key.get("type") != "str" or text.get("type") != "str":
            return "every file name and every file's content must be a str"
        if not is_safe_relative(name) or not any(fnmatch(name, p) for p in patterns):
            return f"{str(name)[:80]!r} is not one of the files this check takes ({', '.join(patterns)})"
        if len(content) > MAX_FILE_CHARS:
            return f"{name} is longer than {MAX_FILE_CHARS} characters"
        files[name] = content
    if not files or len(files) > MAX_FILES:
        return f"the check takes between 1 and {MAX_FILES} files"
    return files


def tests_catch_bugs(judge: ArtifactJudge, spec: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """Run the learner's tests against every correct and every buggy tree of the suite."""
    files = decoded_files(value, TEST_FILES)
    if isinstance(files, str):
        return {"refused": files}
    suite = judge.suite(spec)
    taken = sorted(n for n in files for tree in (suite / "correct").iterdir() if (tree / n).exists())
    if taken:
        return {"refused": f"{taken[0]} is a file of the library under test; name your test file otherwise"}
    finding: dict[str, Any] = {"correct": {}, "buggy": {}}
    for group in ("correct", "buggy"):
        for tree in sorted(p for p in (suite / group).iterdir() if p.is_dir()):
            result = _pytest_on(judge, tree, files)
            finding[group][tree.name] = _exit_word(result)
    return finding


def _pytest_on(judge: ArtifactJudge, tree: Path, files: dict[str, str]) -> JobResult:
    """One job: a copy of ``tree`` with the learner's files over it, and pytest run in it."""
    with tempfile.TemporaryDirectory(prefix="judge-", dir=runs_root()) as tmp:
        folder = Path(tmp) / "work"
        shutil.copytree(tree, folder, symlinks=False)
        write_files(folder, {n: text for n, text in files.items() if not (folder / n).exists()})
        env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": str(folder)}
        return run_job(judge.sandbox, [judge.python, *PYTEST], folder, timeout=judge.timeout, env=env)


def _exit_word(result: JobResult) -> str:
    """pytest's exit code as the finding's word: passed, failed, or how it went wrong."""
    if result.exit_code is None:
        return "timeout"
    return {0: "passed", 1: "failed", 2: "interrupted", 3: "internal-error", 4: "usage-error"}.get(
        result.exit_code, "no-tests" if result.exit_code == 5 else "crashed"
    )


JUDGES: dict[str, Callable[[ArtifactJudge, Mapping[str, Any], Any], dict[str, Any]]] = {
    "tests_catch_bugs": tests_catch_bugs,
}
