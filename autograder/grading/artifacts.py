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
- ``stages_pass``: the learner's files (a Dockerfile, manifests, a workflow, a patch series)
  put through the *stages* the suite's ``suite.yaml`` lists (format in ``load_stages``),
  each a folder the grader fills (a tree of the suite, then the learner's files) and a few
  commands run there in order, each one job; a stage expects every command to exit 0
  (``pass``) or one to fail (``fail``), and may require its last line of output to equal
  that of a trusted stage run without the learner's files (``same_output_as``), so that
  learner code which fakes an exit code still has to compute the right answer.
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


STAGE_FILE = "suite.yaml"
MAX_STAGE_TIMEOUT = 180.0
OUTPUT_SHOWN = 400
"""Characters of a failing command's output a stage with ``show_output`` shows the learner."""


@dataclass(frozen=True)
class Stage:
    """One stage of a ``stages_pass`` suite: a folder, commands run in it, what they must do."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    tree: str | None = None
    expect: str = "pass"
    says: str = ""
    show_output: bool = False
    learner_files: bool = True
    same_output_as: str | None = None
    timeout: float | None = None
    """Seconds each command may take; None: the judge's own (``ArtifactJudge.timeout``)."""
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StageSuite:
    """A suite's ``suite.yaml``: the files a learner's check may report, and the stages."""

    takes: tuple[str, ...]
    stages: tuple[Stage, ...]


def load_stages(suite: Path) -> StageSuite:
    """Read ``<suite>/suite.yaml`` (authored, trusted), raising ``NoJudge`` on any mistake.

    ::

        takes: ["Dockerfile", "k8s/*.yaml"]     # glob patterns of the file names a check reports
        stages:
          - name: hadolint finds nothing        # shown to the learner
            tree: app                           # optional: trees/app is copied in first
            run:                                # commands run in order, each a sandboxed job;
              - ["hadolint", "Dockerfile"]      #   {python} is the course's interpreter
            expect: pass                        # pass: all exit 0; fail: one exits non-zero
            says: what the learner reads when the expectation is not met
            show_output: true                   # optional: add the end of the failing output
            learner_files: true                 # optional: false for a trusted stage
            same_output_as: reference           # optional: last output line must equal it
            timeout: 60                         # optional: seconds per command (at most 180)
            env: {GIT_AUTHOR_NAME: grader}      # optional
    """
    import yaml

    path = suite / STAGE_FILE
    try:
        raw = yaml.safe_load(path.read_text())
        takes = tuple(str(t) for t in raw["takes"])
        stages = tuple(_stage(entry) for entry in raw["stages"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise NoJudge(f"{path.name} of suite {suite.name!r} is unusable: {exc}") from exc
    names = [stage.name for stage in stages]
    for stage in stages:
        if stage.tree is not None and not (suite / "trees" / stage.tree).is_dir():
            raise NoJudge(f"suite {suite.name!r}: stage {stage.name!r} names a missing tree {stage.tree!r}")
        if stage.same_output_as is not None and stage.same_output_as not in names:
            raise NoJudge(f"suite {suite.name!r}: stage {stage.name!r} compares with an unknown stage")
    if not takes or not stages or len(set(names)) != len(names):
        raise NoJudge(f"suite {suite.name!r}: no files taken, no stages, or two stages of one name")
    return StageSuite(takes, stages)


def _stage(entry: Mapping[str, Any]) -> Stage:
    commands = tuple(tuple(str(part) for part in command) for command in entry["run"])
    expect = str(entry.get("expect", "pass"))
    timeout = None if entry.get("timeout") is None else float(entry["timeout"])
    if not commands or any(not c for c in commands) or expect not in ("pass", "fail"):
        raise ValueError(f"stage {entry.get('name')!r} needs commands and expect: pass or fail")
    if timeout is not None and not 0 < timeout <= MAX_STAGE_TIMEOUT:
        raise ValueError(f"stage {entry.get('name')!r}: timeout must be in (0, {MAX_STAGE_TIMEOUT}]")
    tree = entry.get("tree")
    if tree is not None and (not is_safe_relative(tree) or "/" in str(tree)):
        raise ValueError(f"stage {entry.get('name')!r}: tree must be a folder name of trees/")
    return Stage(
        name=str(entry["name"]),
        commands=commands,
        tree=None if tree is None else str(tree),
        expect=expect,
        says=str(entry.get("says", "")),
        show_output=bool(entry.get("show_output", False)),
        learner_files=bool(entry.get("learner_files", True)),
        same_output_as=entry.get("same_output_as"),
        timeout=timeout,
        env=tuple((str(k), str(v)) for k, v in (entry.get("env") or {}).items()),
    )


def stages_pass(judge: ArtifactJudge, spec: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """Run every stage of the suite over the learner's files; say which met its expectation."""
    suite = judge.suite(spec)
    stages = load_stages(suite)
    files = decoded_files(value, stages.takes)
    if isinstance(files, str):
        return {"refused": files}
    for stage in stages.stages:
        if stage.tree is not None and stage.learner_files:
            taken = sorted(n for n in files if (suite / "trees" / stage.tree / n).exists())
            if taken:
                return {"refused": f"{taken[0]} is a file the course provides; leave it as it is"}
    results: dict[str, tuple[JobResult, str]] = {}
    for stage in stages.stages:
        results[stage.name] = _run_stage(judge, suite, stage, files if stage.learner_files else {})
    return {"stages": [_verdict(stage, results) for stage in stages.stages if stage.learner_files]}


def _run_stage(
    judge: ArtifactJudge, suite: Path, stage: Stage, files: dict[str, str]
) -> tuple[JobResult, str]:
    """The stage's commands in order in one fresh folder; the last job run and its last line."""
    with tempfile.TemporaryDirectory(prefix="judge-", dir=runs_root()) as tmp:
        folder = Path(tmp) / "work"
        if stage.tree is not None:
            shutil.copytree(suite / "trees" / stage.tree, folder, symlinks=False)
        else:
            folder.mkdir()
        write_files(folder, files)
        result = JobResult(0, "", 0.0)
        for command in stage.commands:
            argv = _resolved(judge, command)
            seconds = stage.timeout or judge.timeout
            result = run_job(judge.sandbox, argv, folder, timeout=seconds, env=dict(stage.env))
            if not result.succeeded:
                break
        lines = [line for line in result.output.splitlines() if line.strip()]
        return result, lines[-1] if lines else ""


def _resolved(judge: ArtifactJudge, command: tuple[str, ...]) -> list[str]:
    """``{python}`` as the course's interpreter; a bare program name found beside it (hadolint,
    check-jsonschema) as its full path, so that the grader's own PATH does not matter."""
    tools = Path(judge.python).parent
    argv = [judge.python if part == "{python}" else part for part in command]
    if "/" not in argv[0] and (tools / argv[0]).is_file():
        argv[0] = str(tools / argv[0])
    return argv


def _verdict(stage: Stage, results: Mapping[str, tuple[JobResult, str]]) -> dict[str, Any]:
    """Whether ``stage`` did what its suite expects, and what the learner may read about it."""
    result, last = results[stage.name]
    ended = "timeout" if result.exit_code is None else ("passed" if result.succeeded else "failed")
    met = ended == ("passed" if stage.expect == "pass" else "failed")
    if met and stage.same_output_as is not None:
        reference, expected_last = results[stage.same_output_as]
        met = reference.succeeded and last == expected_last
    verdict: dict[str, Any] = {"name": stage.name, "met": met, "ended": ended, "says": stage.says}
    if not met and stage.show_output and result.exit_code is not None:
        verdict["output"] = result.output[-OUTPUT_SHOWN:]
    return verdict


JUDGES: dict[str, Callable[[ArtifactJudge, Mapping[str, Any], Any], dict[str, Any]]] = {
    "tests_catch_bugs": tests_catch_bugs,
    "stages_pass": stages_pass,
}
