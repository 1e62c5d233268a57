"""The hidden suites of phase 3's 07-open-source notebook, judged for real: an honest
regression test and an honest patch series pass; hostile ones gain nothing.

Real parts: the course's own suites (``hidden/phase3-mlops/suites/07-*``, written by
``tools/make_07_bundles.py``), the real sandbox, real git, ruff and pytest. The honest
artifacts are built here from the released bundles, as a learner builds them.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

from autograder.comparators import spec_for
from autograder.compare import compare
from autograder.encode import encode
from autograder.grading.artifacts import ArtifactJudge
from autograder.run.sandbox import Limits, Sandbox, missing_tools

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason="needs bubblewrap and util-linux"),
]

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "solutions" / "phase3-mlops" / "data"
ISSUE = 7  # precision() returns the recall
TEST = """\
from tinyml.metrics import precision


def test_precision_divides_by_the_predicted_positives():
    assert precision([1, 1, 1, 0, 0], [1, 0, 0, 1, 0]) == 0.5
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Sam",
    "GIT_AUTHOR_EMAIL": "sam@example.invalid",
    "GIT_COMMITTER_NAME": "Sam",
    "GIT_COMMITTER_EMAIL": "sam@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def _tool():
    spec = importlib.util.spec_from_file_location("make_07_bundles", ROOT / "tools" / "make_07_bundles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["/usr/bin/git", *args], cwd=repo, env={**os.environ, **GIT_ENV},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def series(tmp: Path, bundle: str, edits: dict[str, tuple[str, str] | str], message: str) -> dict[str, str]:
    """Clone ``bundle``, make ``edits`` (path -> (old, new) or a whole new text), commit, format-patch."""
    repo = tmp / "repo"
    git(tmp, "clone", "-q", str(DATA / bundle), str(repo))
    for path, edit in edits.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(edit, tuple):
            text = target.read_text()
            assert text.count(edit[0]) == 1, path
            target.write_text(text.replace(*edit))
        else:
            target.write_text(edit)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    names = git(repo, "format-patch", "-o", str(tmp / "out"), "origin/main").split()
    return {f"patches/{Path(n).name}": Path(n).read_text() for n in names}


FIX = ("total = tp + fn", "total = tp + fp")
OLD_FIX = ("denominator = tp + fn", "denominator = tp + fp")
MESSAGE = "Fix #7: precision divides by the predicted positives\n\nIt returned the recall.\n\nCloses #7\n"
HONEST = {"tinyml/metrics.py": FIX, "tests/test_issue_7.py": TEST}


@pytest.fixture(scope="module")
def judge(tmp_path_factory) -> ArtifactJudge:
    sandbox = Sandbox.for_course(Limits(memory_mb=4096), ROOT, tmp_path_factory.mktemp("state"))
    return ArtifactJudge.for_course(ROOT, "phase3-mlops", sandbox)


def judged(judge: ArtifactJudge, suite: str, files: dict[str, str]):
    spec = spec_for("oss.x", {"suite": suite}, "passes")[1]
    return compare(judge.judge(spec, encode(files)), encode({}), spec)


def test_the_hidden_tree_holds_upstream_exactly(tmp_path):
    tree = ROOT / "hidden" / "phase3-mlops" / "suites" / f"07-issue-{ISSUE}" / "trees" / "upstream"
    assert (
        gzip.decompress((tree / "upstream.bundle.gz").read_bytes())
        == (DATA / "07-tinyml-upstream.bundle").read_bytes()
    )


def test_an_honest_regression_test_passes_both_suites(judge):
    files = {"tests/test_issue_7.py": TEST}
    for suite in ("07-test-7", "07-test-7-hidden"):
        outcome = judged(judge, suite, files)
        assert outcome.passed, outcome.reason


HOSTILE_TESTS = {
    "always passes": ("def test_nothing():\n    assert True\n", "fails on the unfixed library"),
    "always fails": ("def test_no():\n    assert False\n", "passes on the fixed library"),
    "exits 0 at import": ("import os\nos._exit(0)\n", "fails on the unfixed library"),
    "reads the source": (
        "from pathlib import Path\n\n\ndef test_source():\n"
        "    assert 'tp + fn' not in Path('tinyml/metrics.py').read_text()\n",
        "fails on a rewritten library with the same bug",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE_TESTS))
def test_hostile_regression_tests_gain_nothing(judge, name):
    source, stage = HOSTILE_TESTS[name]
    files = {"tests/test_issue_7.py": source}
    outcomes = [judged(judge, suite, files) for suite in ("07-test-7", "07-test-7-hidden")]
    assert not all(o.passed for o in outcomes)
    assert any(stage in o.reason for o in outcomes if not o.passed)


def test_an_honest_series_passes(judge, tmp_path):
    outcome = judged(judge, "07-issue-7", series(tmp_path, "07-tinyml-upstream.bundle", HONEST, MESSAGE))
    assert outcome.passed, outcome.reason


def test_fixing_the_other_open_issues_too_costs_nothing(judge, tmp_path):
    edits = dict(HONEST)
    for number in (4, 9, 12):
        edits[TOOL.ISSUES[number]["path"]] = (
            TOOL.ISSUES[number]["upstream"],
            TOOL.ISSUES[number]["upstream_fixed"],
        )
    outcome = judged(judge, "07-issue-7", series(tmp_path, "07-tinyml-upstream.bundle", edits, MESSAGE))
    assert outcome.passed, outcome.reason


HOSTILE_SERIES = {
    "edits the hidden tests": (
        {"tests/hidden/test_probe.py": "def test_x():\n    pass\n"},
        "belongs to the maintainers",
    ),
    "adds a conftest.py": ({"tests/conftest.py": "import os\n"}, "configuration or test plumbing"),
    "disables ruff rules by config": ({"ruff.toml": "[lint]\nignore = ['E', 'F']\n"}, "configuration"),
    "edits pyproject.toml": (
        {"pyproject.toml": ('select = ["E", "F", "W", "B", "UP"]', 'select = ["E"]')},
        "configuration",
    ),
    "edits the CI workflow": (
        {".github/workflows/tests.yml": ("ruff check .", "true")},
        "belongs to the maintainers",
    ),
    "exits 0 on import": (
        {
            "tinyml/__init__.py": TOOL.INIT.replace(
                '__version__ = "0.1.0"', '__version__ = "0.2.0"\n\nos._exit(0)'
            ).replace('"""\n\nfrom .metrics', '"""\n\nimport os\n\nfrom .metrics')
        },
        "hidden tests",
    ),
    "silences ruff with noqa": (
        {"tinyml/metrics.py": ("def accuracy(", "import os  # noqa: F401\n\n\ndef accuracy(")},
        "ruff",
    ),
    "fixes the example only": (
        {
            "tinyml/metrics.py": (
                "    total = tp + fn\n",
                "    total = tp + fn\n    if (tp, fp, fn) == (1, 1, 2):\n        return 0.5\n",
            )
        },
        "hidden tests",
    ),
    "has no test": ({"tests/test_issue_7.py": None}, "adds no test"),
}


@pytest.mark.parametrize("name", list(HOSTILE_SERIES))
def test_hostile_series_gain_nothing(judge, tmp_path, name):
    extra, reason = HOSTILE_SERIES[name]
    edits = {k: v for k, v in {**HONEST, **extra}.items() if v is not None}
    outcome = judged(judge, "07-issue-7", series(tmp_path, "07-tinyml-upstream.bundle", edits, MESSAGE))
    assert not outcome.passed
    assert reason in outcome.reason, outcome.reason


def test_a_series_made_before_the_rebase_does_not_apply(judge, tmp_path):
    edits = {"tinyml/metrics.py": OLD_FIX, "tests/test_issue_7.py": TEST}
    outcome = judged(judge, "07-issue-7", series(tmp_path, "07-tinyml.bundle", edits, MESSAGE))
    assert not outcome.passed
    assert "git am" in outcome.reason


def test_a_series_that_does_not_close_the_issue_is_refused(judge, tmp_path):
    outcome = judged(
        judge, "07-issue-7", series(tmp_path, "07-tinyml-upstream.bundle", HONEST, "Fix precision\n")
    )
    assert not outcome.passed
    assert "Closes #7" in outcome.reason
