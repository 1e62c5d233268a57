"""The classic nbgrader class flow, with a manually graded written answer.

Two parts. First, on a tiny course with one written answer (a Markdown cell that nbgrader
marks ``grade`` and ``solution``), ``autograder grade`` records that cell in the gradebook
exactly as ``nbgrader autograde`` does, and never touches a score an instructor entered
in formgrader. Then the whole class flow on one machine, with real Unix accounts:
release to nbgrader's exchange, learners fetch and submit as themselves, collect, grade,
manual grading, feedback released and fetched, and ``nbgrader export``; on the tiny
course, and on a throw-away copy of the real phase 1 once it has its written answer.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import random
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook

from autograder.course.config import Settings, load_settings
from autograder.course.curriculum import Curriculum, load_curriculum
from autograder.course.exchange import ExchangeError, setup_exchange
from autograder.grading.evidence import iter_records
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment, generate_release
from autograder.grading.reference import get_reference, write_compat_references
from autograder.hub.reach import interpreter_view
from autograder.views.mastery import phase_progress
from tests.conftest import (
    CORRECT,
    REPO,
    TINY,
    _meta,
    learner_notebook,
    make_course,
    submit_notebook,
    tiny_notebook,
)

pytestmark = pytest.mark.slow

WRITTEN = "written-answer"
WRITTEN_POINTS = 2.0
MODEL_ANSWER = "The mean is the sum divided by the count, so one large value pulls it up."


def written_notebook() -> nbformat.NotebookNode:
    """The tiny notebook plus one written answer, graded by a person (2 points)."""
    nb = tiny_notebook()
    nb.cells.append(
        new_markdown_cell(
            "Why does one very large value move the mean of `data`, and by how much?",
            metadata=_meta("written-question"),
            id="written-question",
        )
    )
    nb.cells.append(
        new_markdown_cell(
            MODEL_ANSWER,
            metadata=_meta(WRITTEN, grade=True, solution=True, locked=False, points=WRITTEN_POINTS),
            id=WRITTEN,
        )
    )
    return nb


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Curriculum]:
    root = make_course(tmp_path_factory.mktemp("written-course"), notebook=written_notebook())
    settings = load_settings(root)
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    return settings, load_curriculum(root)


def with_answer(settings: Settings, answers: dict[str, str], text: str | None) -> nbformat.NotebookNode:
    nb = learner_notebook(settings, answers)
    if text is not None:
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN]
        cell.source = text
    return nb


def grade(settings: Settings, curriculum: Curriculum, learner: str) -> SubmissionResult:
    (result,) = grade_assignment(
        settings, curriculum, TINY, learners=[learner], seeds=1, rng=random.Random(5)
    )
    assert isinstance(result, SubmissionResult), result
    return result


@dataclass(frozen=True)
class Row:
    """What formgrader shows for one cell of one submission."""

    auto_score: float | None
    manual_score: float | None
    needs_manual_grade: bool
    auto_comment: str | None = None


def written_row(settings: Settings, learner: str, assignment: str = TINY, notebook: str = "01-tiny") -> Row:
    with Gradebook(settings.db_url, settings.course_id) as gb:
        grade = gb.find_grade(WRITTEN, notebook, assignment, learner)
        comment = gb.find_comment(WRITTEN, notebook, assignment, learner)
        return Row(grade.auto_score, grade.manual_score, bool(grade.needs_manual_grade), comment.auto_comment)


def submission_total(settings: Settings, learner: str, assignment: str = TINY) -> tuple[float, float]:
    with Gradebook(settings.db_url, settings.course_id) as gb:
        submission = gb.find_submission(assignment, learner)
        return float(submission.score), float(submission.max_score)


def enter_manual_score(
    settings: Settings, learner: str, score: float | None, *, grade_id: str = WRITTEN,
    notebook: str = "01-tiny", assignment: str = TINY,
) -> None:  # fmt: skip
    """What formgrader's ``PUT /formgrader/api/grade/<id>`` does (``GradeHandler.put``)."""
    with Gradebook(settings.db_url, settings.course_id) as gb:
        grade_id_in_db = gb.find_grade(grade_id, notebook, assignment, learner).id
        grade = gb.find_grade_by_id(grade_id_in_db)
        grade.manual_score = score
        grade.extra_credit = None
        if grade.manual_score is None and grade.auto_score is None:
            grade.needs_manual_grade = True
        else:
            grade.needs_manual_grade = False
        gb.db.commit()


# --- manual grades in our grader ----------------------------------------------------------


def test_a_blank_written_answer_is_no_response_as_under_stock_nbgrader(written):
    settings, curriculum = written
    submit_notebook(settings, "quiet", with_answer(settings, CORRECT, None))
    result = grade(settings, curriculum, "quiet")
    assert written_row(settings, "quiet") == Row(0.0, None, False, "No response.")
    assert submission_total(settings, "quiet") == (4.0, 6.0)
    assert WRITTEN not in result.notebooks[0].runs[0].cells  # not scored by our checks
    assert result.notebooks[0].manual[WRITTEN].answered is False


def test_a_written_answer_waits_for_a_person_and_keeps_their_score(written):
    settings, curriculum = written
    submit_notebook(settings, "essay", with_answer(settings, CORRECT, "Because it adds to the sum."))
    result = grade(settings, curriculum, "essay")
    assert written_row(settings, "essay") == Row(None, None, True, None)
    assert submission_total(settings, "essay") == (4.0, 6.0)  # the written answer is not scored yet

    # our own scoring leaves the written answer out: 4/4 autograded, mastery as before
    (nb,) = result.notebooks
    assert result.score(0) == (4.0, 4.0) and WRITTEN not in nb.runs[0].cells
    assert nb.manual[WRITTEN].answered and nb.manual[WRITTEN].points == WRITTEN_POINTS
    record = json.loads((result.evidence.path / "record.json").read_text())
    assert record["notebooks"]["01-tiny"]["manual"][WRITTEN]["answered"] is True
    progress = phase_progress(curriculum, list(iter_records(settings, "essay")))
    assert progress[0].assignments[0].latest_score == 1.0

    enter_manual_score(settings, "essay", 1.5)
    assert written_row(settings, "essay") == Row(None, 1.5, False, None)
    assert submission_total(settings, "essay") == (5.5, 6.0)

    # re-grading keeps the instructor's score; as nbgrader's SaveAutoGrades does, the cell
    # comes back for review, because the autograder ran again over a hand-graded cell
    grade(settings, curriculum, "essay")
    assert written_row(settings, "essay") == Row(None, 1.5, True, None)
    assert submission_total(settings, "essay") == (5.5, 6.0)
    enter_manual_score(settings, "essay", 1.5)  # the instructor confirms it
    assert written_row(settings, "essay") == Row(None, 1.5, False, None)

    # a changed answer, collected and graded again: the score stays, flagged for review
    submit_notebook(settings, "essay", with_answer(settings, CORRECT, "A longer, better answer."))
    grade(settings, curriculum, "essay")
    assert written_row(settings, "essay") == Row(None, 1.5, True, None)
    assert submission_total(settings, "essay") == (5.5, 6.0)


def test_an_instructors_override_of_an_autograded_cell_survives_a_regrade(written):
    settings, curriculum = written
    submit_notebook(settings, "override", with_answer(settings, CORRECT, "An answer."))
    grade(settings, curriculum, "override")
    enter_manual_score(settings, "override", 1.0, grade_id="mean-tests")
    grade(settings, curriculum, "override")
    with Gradebook(settings.db_url, settings.course_id) as gb:
        cell = gb.find_grade("mean-tests", "01-tiny", TINY, "override")
        assert (cell.auto_score, cell.manual_score, cell.needs_manual_grade) == (2.0, 1.0, True)
    assert submission_total(settings, "override") == (3.0, 6.0)  # 1 (manual) + 1 + 1, written pending


def test_a_missing_notebook_gives_its_written_answer_zero(written):
    settings, curriculum = written
    folder = settings.submitted_dir / "absent" / TINY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    result = grade(settings, curriculum, "absent")
    assert result.notebooks[0].status == "missing"
    assert written_row(settings, "absent") == Row(0.0, None, False, None)


def test_stock_nbgrader_autograde_records_written_answers_the_same_way(written):
    """The same submissions through ``nbgrader autograde``: the same rows in formgrader."""
    settings, curriculum = written
    write_compat_references(settings, [get_reference(settings, TINY, "01-tiny", {"seed": 0})])
    cases = {"twin-blank": None, "twin-answer": "It raises the sum.", "twin-graded": "It raises the sum."}
    ours = {}
    for learner, text in cases.items():
        submit_notebook(settings, learner, with_answer(settings, CORRECT, text))
        grade(settings, curriculum, learner)
        if learner == "twin-graded":
            enter_manual_score(settings, learner, 2.0)
            grade(settings, curriculum, learner)
        ours[learner] = written_row(settings, learner)
    for learner in cases:
        if learner == "twin-graded":  # the same history under stock nbgrader
            enter_manual_score(settings, learner, None)
            stock_autograde(settings, learner)
            enter_manual_score(settings, learner, 2.0)
        stock_autograde(settings, learner)
        assert written_row(settings, learner) == ours[learner], learner


def stock_autograde(settings: Settings, learner: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", TINY, f"--student={learner}", "--force"],
        cwd=settings.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the class flow through nbgrader's exchange, with real learner accounts ----------------

VENV_BIN = Path(sys.executable).parent
ROOT_ONLY = "the class flow creates Unix accounts and acts as them: run the test suite as root"


@dataclass
class Course:
    """A throw-away course directory, the assignment to run, and what learner 1 answers."""

    root: Path
    assignment: str
    written_notebook: str
    written_id: str
    written_points: float
    answers: dict[str, dict[str, str]]
    """notebook -> grade_id -> source typed in by the learner who works."""


@dataclass
class Learner:
    name: str
    home: Path


def written_cells(source: Path) -> list[tuple[str, str, float]]:
    """(notebook, grade_id, points) of every cell a person grades in a source assignment."""
    cells = []
    for path in sorted(source.glob("*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and meta.get("solution"):
                cells.append((path.stem, meta["grade_id"], float(meta["points"])))
    return cells


def solution_sources(source: Path, notebook: str, grade_ids: list[str]) -> dict[str, str]:
    nb = nbformat.read(str(source / f"{notebook}.ipynb"), as_version=4)
    found = {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}
    return {gid: found[gid] for gid in grade_ids}


def tiny_written_course(base: Path) -> Course:
    root = make_course(base / "course", notebook=written_notebook())
    return Course(
        root,
        TINY,
        "01-tiny",
        WRITTEN,
        WRITTEN_POINTS,
        {"01-tiny": {"mean-solution": CORRECT["mean-solution"], WRITTEN: "It adds to the sum."}},
    )


PHASE1 = "phase1-foundations"


def phase1_course(base: Path) -> Course:
    """A copy of this repository's course with phase 1 as it is now."""
    written = written_cells(REPO / "solutions" / PHASE1)
    if not written:
        pytest.skip("phase 1 has no manually graded cell yet (solutions/phase1-foundations)")
    root = base / "course"
    root.mkdir()
    for name in ("jupyter_config.py", "nbgrader_config.py"):
        shutil.copy(REPO / name, root / name)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for name in ("curriculum", "solutions", "hidden"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name, ignore=ignore)
    notebook, grade_id, points = written[0]
    solved = solution_sources(
        REPO / "solutions" / PHASE1, "01-python-numpy", ["count-tokens-solution", "standardize-solution"]
    )
    answers = {"01-python-numpy": solved}
    answers.setdefault(notebook, {})[grade_id] = "Because a finite difference only approximates a limit."
    return Course(root, PHASE1, notebook, grade_id, points, answers)


def as_learner(learner: Learner, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as the learner's own Unix account (``runuser``), from their home."""
    env = [
        "env", "-i", f"HOME={learner.home}", f"USER={learner.name}", f"LOGNAME={learner.name}",
        f"PATH={VENV_BIN}:/usr/bin:/bin", "LANG=C.UTF-8",
    ]  # fmt: skip
    cmd = ["runuser", "-u", learner.name, "--", *env, *argv]
    view = interpreter_view()
    if view:
        cmd = [
            "bwrap",
            "--dev-bind",
            "/",
            "/",
            *view,
            "--cap-add",
            "ALL",
            "--chdir",
            str(learner.home),
            "--",
            *cmd,
        ]
    proc = subprocess.run(cmd, cwd=learner.home, capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, f"{' '.join(argv)} as {learner.name}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def learner_nbgrader(learner: Learner, *args: str) -> subprocess.CompletedProcess[str]:
    return as_learner(learner, str(VENV_BIN / "python"), "-m", "nbgrader", *args)


def install_learner_config(learner, config: Path) -> None:
    """The learners' nbgrader_config.py that exchange-setup wrote, in the learner's ~/.jupyter/."""
    jupyter = learner.home / ".jupyter"
    jupyter.mkdir()
    shutil.copy(config, jupyter / "nbgrader_config.py")
    user = pwd.getpwnam(learner.name)
    for path in (jupyter, jupyter / "nbgrader_config.py"):
        os.chown(path, user.pw_uid, user.pw_gid)


@pytest.fixture
def class_base() -> Iterator[Path]:
    """A folder every account may enter (pytest's own temporary folders are closed to others)."""
    base = Path(tempfile.mkdtemp(prefix="agl-class-"))
    os.chmod(base, 0o711)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def learners(class_base: Path) -> Iterator[list[Learner]]:
    """Two real Unix accounts, removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip(ROOT_ONLY)
    missing = [t for t in ("useradd", "userdel", "runuser") if shutil.which(t) is None]
    if interpreter_view() and shutil.which("bwrap") is None:
        missing.append("bwrap")
    if missing:
        pytest.skip(f"the class flow needs {', '.join(missing)}")
    homes = class_base / "homes"
    homes.mkdir(mode=0o755)
    made: list[Learner] = []
    try:
        for i in (1, 2):
            name = f"agl-learner{i}-{os.getpid() % 100000}"
            home = homes / name
            add = ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name]
            subprocess.run(add, check=True, capture_output=True)
            made.append(Learner(name, home))
            user = pwd.getpwnam(name)
            home.mkdir(mode=0o700)
            os.chown(home, user.pw_uid, user.pw_gid)
        yield made
    finally:
        for learner in made:
            subprocess.run(["userdel", learner.name], check=False, capture_output=True)


def instructor(course: Course, state: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTOGRADER_STATE": str(state)}
    proc = subprocess.run(
        [str(VENV_BIN / "python"), *argv], cwd=course.root, env=env, capture_output=True, text=True,
        timeout=1200, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def answer(path: Path, answers: dict[str, str]) -> None:
    """Type answers into a fetched notebook, keeping its owner (the learner)."""
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    path.write_text(nbformat.writes(nb))


def test_exchange_setup_opens_the_exchange_and_nothing_else(class_base):
    root = make_course(class_base / "course")
    settings = load_settings(root, state_dir=class_base / "state")
    (settings.state_dir / "stray.txt").write_text("not for learners")
    os.chmod(settings.state_dir / "stray.txt", 0o644)
    done = setup_exchange(settings, write_learner_config=class_base / "learners.py")
    assert done.root == (class_base / "state" / "exchange").resolve()
    assert stat.S_IMODE(done.root.stat().st_mode) == 0o755  # learners create nothing in it
    course = done.root / settings.course_id
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in course.iterdir()}
    assert modes == {"outbound": 0o755, "inbound": 0o3733, "feedback": 0o711}
    assert stat.S_IMODE(settings.state_dir.stat().st_mode) == 0o711
    for entry in settings.state_dir.iterdir():
        if entry != done.root:
            assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0, entry
    assert {settings.submitted_dir, settings.feedback_dir, settings.state_dir / "gradebook.db"} <= set(
        settings.state_dir.iterdir()
    )
    config = (class_base / "learners.py").read_text()
    assert "c.CourseDirectory.course_id = 'ml-career'" in config and repr(str(done.root)) in config
    assert setup_exchange(settings).changes == []  # idempotent


def test_exchange_setup_names_a_folder_learners_cannot_enter(class_base):
    closed = class_base / "private"
    closed.mkdir(mode=0o700)
    root = make_course(class_base / "course")
    settings = load_settings(root, state_dir=closed / "state")
    with pytest.raises(ExchangeError, match=f"may not enter {closed}"):
        setup_exchange(settings)


@pytest.mark.parametrize("make", [tiny_written_course, phase1_course], ids=["tiny", "phase1"])
def test_a_class_through_nbgrader_exchange(make: Callable[[Path], Course], class_base, learners):
    course = make(class_base)
    state = class_base / "state"
    settings = load_settings(course.root, state_dir=state)
    a = course.assignment
    worker, idle = learners

    # the instructor releases to the exchange
    instructor(course, state, "-m", "autograder.cli", "release", a)
    config = class_base / "learner_nbgrader_config.py"
    instructor(course, state, "-m", "autograder.cli", "exchange-setup", "--learner-config", str(config))
    exchange = state / "exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o755
    assert stat.S_IMODE(state.stat().st_mode) == 0o711
    instructor(course, state, "-m", "nbgrader", "release_assignment", a)

    # each learner fetches, works (or not) and submits, as themselves
    for learner in learners:
        install_learner_config(learner, config)
        learner_nbgrader(learner, "fetch_assignment", a)
        fetched = learner.home / settings.course_id / a
        assert (fetched / f"{course.written_notebook}.ipynb").is_file()
    for notebook, answers in course.answers.items():
        answer(worker.home / settings.course_id / a / f"{notebook}.ipynb", answers)
    for learner in learners:
        learner_nbgrader(learner, "submit", a)

    # a learner reaches the exchange, and nothing else of the instructor's state
    assert as_learner(idle, "cat", str(state / "gradebook.db"), check=False).returncode != 0
    assert as_learner(idle, "ls", str(state), check=False).returncode != 0
    assert as_learner(idle, "ls", str(exchange / settings.course_id / "inbound"), check=False).returncode != 0

    # collect, grade, grade by hand, grade again
    instructor(course, state, "-m", "nbgrader", "collect", a)
    for learner in learners:
        assert (settings.submitted_dir / learner.name / a / f"{course.written_notebook}.ipynb").is_file()
    instructor(course, state, "-m", "autograder.cli", "grade", a, "--seeds", "1", "-q")
    where = {"notebook": course.written_notebook, "assignment": a}
    with Gradebook(settings.db_url, settings.course_id) as gb:
        mine = gb.find_grade(course.written_id, course.written_notebook, a, worker.name)
        theirs = gb.find_grade(course.written_id, course.written_notebook, a, idle.name)
        assert (mine.auto_score, mine.needs_manual_grade) == (None, True)
        assert (theirs.auto_score, theirs.needs_manual_grade) == (0.0, False)
    manual = course.written_points - 0.5
    enter_manual_score(settings, worker.name, manual, grade_id=course.written_id, **where)
    instructor(course, state, "-m", "autograder.cli", "grade", a, "--seeds", "1", "-q")
    with Gradebook(settings.db_url, settings.course_id) as gb:
        mine = gb.find_grade(course.written_id, course.written_notebook, a, worker.name)
        assert mine.manual_score == manual and mine.needs_manual_grade  # kept, back for review
        autograded = {}
        for learner in learners:
            grades = [g for nb in gb.find_submission(a, learner.name).notebooks for g in nb.grades]
            autograded[learner.name] = sum(g.auto_score or 0.0 for g in grades if g.name != course.written_id)
            written_nb = gb.find_submission_notebook(course.written_notebook, a, learner.name)
            autograded[learner.name, "notebook"] = sum(
                g.auto_score or 0.0 for g in written_nb.grades if g.name != course.written_id
            )
    assert autograded[worker.name] > 0 and autograded[idle.name] == 0

    # feedback, released and fetched by each learner as themselves
    instructor(course, state, "-m", "nbgrader", "generate_feedback", a)
    instructor(course, state, "-m", "nbgrader", "release_feedback", a)
    for learner in learners:
        learner_nbgrader(learner, "fetch_feedback", a)
        (page,) = (learner.home / settings.course_id / a / "feedback").glob(
            f"*/{course.written_notebook}.html"
        )
        html = page.read_text()
        written_score = manual if learner is worker else 0.0
        points = f"{course.written_points:.1f}"
        assert f"Written response</a> (Score: {written_score:.1f} / {points})" in html
        total = autograded[learner.name, "notebook"] + written_score
        assert f"{course.written_notebook} (Score: {round(total, 2)} / " in html
        assert "Test cell</a> (Score: " in html

    # nbgrader's export: autograded plus manual, per learner
    out = class_base / "grades.csv"
    instructor(course, state, "-m", "nbgrader", "export", f"--to={out}")
    rows = {r["student_id"]: r for r in csv.DictReader(out.open()) if r["assignment"] == a}
    assert float(rows[worker.name]["score"]) == pytest.approx(autograded[worker.name] + manual)
    assert float(rows[idle.name]["score"]) == pytest.approx(0.0)
