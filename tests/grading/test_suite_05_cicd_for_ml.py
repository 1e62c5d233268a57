"""The hidden suites of phase 3's 05-cicd-for-ml, judged for real: the solution's artifacts
pass every suite, and hostile artifacts (tests that test nothing, a gate that always
promotes, a workflow that swallows failures) gain nothing.

Real parts: the real sandbox (bubblewrap, prlimit, a fresh uid as root), pytest,
check-jsonschema with GitHub's bundled workflow schema, and the course's runner
(``data/05-cicd-for-ml-ci_tools.py``, copied into the suites' trees) running workflow steps
with bash. The suites are written by ``tools/make_cicd_suites.py``.
"""

from __future__ import annotations

import ast
import json
import sys
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
NOTEBOOK = ROOT / "solutions/phase3-mlops/05-cicd-for-ml.ipynb"
W = ".github/workflows/ci.yml"


def _solution(cell_id: str, name: str) -> str:
    cells = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}
    for node in ast.walk(ast.parse(cells[cell_id])):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            text = ast.literal_eval(node.value)
            return "".join(line for line in text.splitlines(keepends=True) if "### " not in line).lstrip("\n")
    raise KeyError(name)


WORKFLOW = _solution("ci-workflow-solution", "WORKFLOW")
GATE = _solution("gate-script-solution", "GATE_SCRIPT")
TESTS = _solution("minitrain-tests-solution", "TESTS_SOURCE")
RELEASED = _solution("library", "MINITRAIN_SOURCE")


@pytest.fixture(scope="module")
def judge(tmp_path_factory) -> ArtifactJudge:
    sandbox = Sandbox.for_course(Limits(memory_mb=2048), ROOT, tmp_path_factory.mktemp("state"))
    return ArtifactJudge(ROOT / "hidden/phase3-mlops", sandbox, sys.executable)


def judged(judge: ArtifactJudge, kind: str, suite: str, files: dict[str, str]):
    spec = spec_for("cicd.x", {"suite": suite}, kind)[1]
    return compare(judge.judge(spec, encode(files)), encode({}), spec)


HONEST = [
    (
        "catches",
        ["05-minitrain", "05-minitrain-more-0", "05-minitrain-more-1"],
        {"tests/test_minitrain.py": TESTS},
    ),
    ("passes", ["05-gate", "05-gate-0", "05-gate-1", "05-gate-2"], {"gate.py": GATE}),
    ("passes", ["05-workflow", "05-workflow-0", "05-workflow-1"], {W: WORKFLOW}),
]


@pytest.mark.parametrize("kind, suites, files", HONEST, ids=["tests", "gate", "workflow"])
def test_the_solution_passes_every_suite(judge, kind, suites, files):
    for suite in suites:
        outcome = judged(judge, kind, suite, files)
        assert outcome.passed, (suite, outcome.reason)


HOSTILE = {
    # workflows that do not gate (the decisive suite is named)
    "pytest || true": (
        "passes",
        "05-workflow-0",
        {W: WORKFLOW.replace("python -m pytest -q", "python -m pytest -q || true")},
    ),
    "no test step": (
        "passes",
        "05-workflow-0",
        {W: WORKFLOW.replace("      - name: Run the tests\n        run: python -m pytest -q\n", "")},
    ),
    "exit 0 before the tests": (
        "passes",
        "05-workflow-1",
        {
            W: WORKFLOW.replace(
                "run: python -m pytest -q", "run: |\n          exit 0\n          python -m pytest -q"
            )
        },
    ),
    "continue-on-error on the tests": (
        "passes",
        "05-workflow-0",
        {
            W: WORKFLOW.replace(
                "        run: python -m pytest -q",
                "        continue-on-error: true\n        run: python -m pytest -q",
            )
        },
    ),
    "if: false on the tests": (
        "passes",
        "05-workflow-0",
        {
            W: WORKFLOW.replace(
                "      - name: Run the tests\n", "      - name: Run the tests\n        if: false\n"
            )
        },
    ),
    "a pipe without pipefail": (
        "passes",
        "05-workflow-0",
        {
            W: WORKFLOW.replace(
                "run: python -m pytest -q",
                "run: |\n          set +o pipefail\n          python -m pytest -q | tee log.txt",
            )
        },
    ),
    "gate || true": (
        "passes",
        "05-workflow",
        {W: WORKFLOW.replace("--tolerance 0.01", "--tolerance 0.01 || true")},
    ),
    "a tolerance that lets anything through": (
        "passes",
        "05-workflow",
        {W: WORKFLOW.replace("--tolerance 0.01", "--tolerance 0.5")},
    ),
    "always red": ("passes", "05-workflow", {W: WORKFLOW + "      - run: exit 1\n"}),
    "an action pinned to a tag": (
        "passes",
        "05-workflow",
        {W: WORKFLOW.replace("@11bd71901bbe5b1630ceea73d27597364c9af683", "@v4")},
    ),
    "a workflow that brings its own gate.py": (
        "passes",
        "05-workflow",
        {W: WORKFLOW, "gate.py": "import sys\nsys.exit(0)\n"},
    ),
    # gates that do not decide
    "a gate that always exits 0": ("passes", "05-gate-0", {"gate.py": "import sys\nsys.exit(0)\n"}),
    "a gate that always exits 1": ("passes", "05-gate", {"gate.py": "import sys\nsys.exit(1)\n"}),
    "a gate that os._exit(0)s": ("passes", "05-gate", {"gate.py": "import os\nos._exit(0)\n"}),
    "a gate blind to NaN": (
        "passes",
        "05-gate-2",
        {"gate.py": GATE.replace(" or not math.isfinite(value)", "")},
    ),
    # tests that do not test
    "tests that always pass": (
        "catches",
        "05-minitrain",
        {"tests/test_minitrain.py": "def test_ok():\n    assert True\n"},
    ),
    "tests of the released library, imported from their own text": (
        "catches",
        "05-minitrain",
        {
            "tests/test_minitrain.py": "import types\nreleased = types.ModuleType('released')\n"
            f"exec({RELEASED!r}, released.__dict__)\n"
            + TESTS.replace("import minitrain\n", "minitrain = released\n")
        },
    ),
    "tests that recognise the released text": (
        "catches",
        "05-minitrain",
        {
            "tests/test_minitrain.py": "import pathlib\n\ndef test_text():\n"
            f"    assert pathlib.Path('minitrain/__init__.py').read_text() == {RELEASED!r}\n"
        },
    ),
    "tests that grep for the bugs' text": (
        "catches",
        "05-minitrain-more-0",
        {
            "tests/test_minitrain.py": "import pathlib\n\ndef test_text():\n"
            "    t = pathlib.Path('minitrain/__init__.py').read_text()\n"
            "    for bad in ['order[n_test + 1:]', 'default_rng()', 'X.var(axis=0)',"
            " 'y_true == 1', 'int(test_fraction']:\n"
            "        assert bad not in t\n"
        },
    ),
    "a file that shadows the library": (
        "catches",
        "05-minitrain",
        {"tests/test_minitrain.py": TESTS, "minitrain/__init__.py": RELEASED},
    ),
    "a conftest.py": (
        "catches",
        "05-minitrain",
        {
            "tests/test_minitrain.py": TESTS,
            "tests/conftest.py": "def pytest_collection_modifyitems(items):\n    items.clear()\n",
        },
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_artifacts_gain_nothing(judge, name):
    kind, suite, files = HOSTILE[name]
    outcome = judged(judge, kind, suite, files)
    assert not outcome.passed, outcome.reason
