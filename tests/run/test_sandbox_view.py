"""The kernel sees the machine through an allow-list, in warm and cold sandboxes alike.

A copy of a course elsewhere on the machine (an instructor's checkout under ``/srv``,
``/opt`` or ``/var``, or one beside this checkout) holds ``solutions/`` and ``hidden/``:
a learner who reads it masters a phase or tops the leaderboard. The kernel must find
nothing there, while honest work (the tiny course's answers, and the real curriculum's
solutions with every library they import) still scores full marks.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograder.course.config import Settings, load_settings, make_sandbox
from autograder.course.curriculum import load_curriculum
from autograder.course.demo import fill_in
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment
from autograder.run import sandbox as sandbox_module
from tests.conftest import CORRECT
from tests.grading.test_grading import cell_scores
from tests.run.test_adversarial import attack, outputs_text

REPO = Path(__file__).resolve().parents[2]
COPY_PLACES = (Path("/srv"), Path("/opt"), Path("/var"), REPO.parent)
"""Where an instructor's other checkout may live: none of them is on the sandbox's list."""
FULL_MARKS = {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 1.0}
MODES = [pytest.param(True, id="warm"), pytest.param(False, id="cold")]


def in_mode(settings: Settings, warm: bool) -> Settings:
    """``settings`` with warm (forked from the zygote, as root) or cold (bwrap per run) kernels."""
    chosen = dataclasses.replace(settings, warm_kernels=warm)
    sandbox = make_sandbox(chosen)
    assert sandbox is not None and sandbox.warm == (warm and os.geteuid() == 0)
    return chosen


@pytest.fixture(scope="module")
def course_copies() -> Iterator[list[Path]]:
    """World-readable course copies, each with a solution and a hidden file: only the
    sandbox's view of the machine can keep a learner from reading them."""
    places = [place for place in COPY_PLACES if os.access(place, os.W_OK)]
    if not places:
        pytest.skip("no place outside the course to put a copy in: run as root")
    roots: list[Path] = []
    try:
        for place in places:
            root = Path(tempfile.mkdtemp(prefix="course-copy-", dir=place))
            roots.append(root)
            for folder, name in (("solutions", "01-tiny.ipynb"), ("hidden", "competition_test_labels.csv")):
                (root / folder).mkdir()
                (root / folder / name).write_text("what a learner must never read\n")
                (root / folder / name).chmod(0o644)
                (root / folder).chmod(0o755)
            root.chmod(0o755)
        yield roots
    finally:
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def reader(targets: list[Path]) -> str:
    """Answer-cell code that tries every target, then reads a file the view must allow
    (numpy's own source), so a probe that reads nothing at all cannot pass."""
    code = "import os\n"
    code += f"for path in {[str(t) for t in targets]!r}:\n"
    code += "    try:\n"
    code += "        if os.path.isdir(path):\n            os.listdir(path)\n"
    code += "        else:\n            open(path).read(1)\n"
    code += "        print('READ', path)\n"
    code += "    except OSError as exc:\n        print('refused', type(exc).__name__)\n"
    code += "print('CONTROL', len(open(np.__file__).read(100)))\n"
    return code


@pytest.mark.slow
@pytest.mark.parametrize("warm", MODES)
def test_a_course_copy_elsewhere_on_the_machine_is_unreadable(settings, curriculum, course_copies, warm):
    files = [f for root in course_copies for f in sorted(root.rglob("*")) if f.is_file()]
    targets = [*course_copies, *(f.parent for f in files), *files]  # listing a folder counts as reading
    assert len(files) == 2 * len(course_copies) and all(f.stat().st_mode & 0o004 for f in files)
    answers = {"scale-solution": reader(targets) + CORRECT["scale-solution"]}
    result = attack(in_mode(settings, warm), curriculum, f"copy-reader-{'warm' if warm else 'cold'}", answers)
    text = outputs_text(result)
    assert "CONTROL 100" in text, "the probe could not read what the sandbox must allow"
    assert "READ" not in text, "a course copy outside the course directory is readable from the sandbox"
    refused = text.count("refused FileNotFoundError") + text.count("refused PermissionError")
    assert refused == len(targets)
    assert cell_scores(result) == FULL_MARKS  # honest answers beside the probe keep every point


def test_every_system_entry_of_the_view_is_justified():
    """The allow-list is the module's to explain: each system entry has its reason written down."""
    doc = sandbox_module.__doc__ or ""
    for entry in sandbox_module.SYSTEM_VIEW:
        assert f"``{entry}``" in doc, f"{entry} is on the allow-list without a reason in the docstring"


@pytest.fixture(scope="module")
def real_course(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real course, with a state folder of its own (its reference runs shared by the modes)."""
    return load_settings(REPO, state_dir=tmp_path_factory.mktemp("view-curriculum") / "state")


@pytest.mark.slow
@pytest.mark.parametrize("warm", MODES)
@pytest.mark.parametrize("assignment", ["phase1-foundations", "phase2-ml-dl"])
def test_the_curriculum_solutions_score_full_marks_in_the_sandbox(real_course, assignment, warm):
    """What every notebook imports (numpy, pandas, scikit-learn, torch, keras, flask) is in the view."""
    settings = in_mode(real_course, warm)
    curriculum = load_curriculum(REPO)
    ensure_assignment(settings, assignment)
    learner = f"honest-{'warm' if warm else 'cold'}"
    folder = settings.submitted_dir / learner / assignment
    folder.mkdir(parents=True)
    for spec in curriculum.assignment(assignment).notebooks:
        release = nbformat.read(str(REPO / "curriculum" / assignment / spec.file), as_version=4)
        source = nbformat.read(str(curriculum.source_dir(assignment) / spec.file), as_version=4)
        nbformat.write(fill_in(release, source, "alice"), str(folder / spec.file))
    (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    (result,) = grade_assignment(
        settings, curriculum, assignment, learners=[learner], seeds=1, rng=random.Random(11)
    )
    assert isinstance(result, SubmissionResult), result
    assert len(result.notebooks) == len(curriculum.assignment(assignment).notebooks)
    lost = {
        f"{nb.notebook}/{gid}": (cell.score, cell.points, cell.error[:200])
        for nb in result.notebooks
        for run in nb.runs
        for gid, cell in run.cells.items()
        if cell.score < cell.points
    }
    statuses = {nb.notebook: [run.status for run in nb.runs] for nb in result.notebooks}
    assert not lost and all(s == ["completed"] for s in statuses.values()), (lost, statuses)
