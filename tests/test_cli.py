"""The CLI a learner and an instructor use, on a tiny real course."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from tests.conftest import CORRECT, MANIFEST, TINY, make_course

pytestmark = pytest.mark.slow

# the tiny course, with the phase after it ready instead of planned
TWO_PHASES = (
    MANIFEST.split("  - id: next")[0]
    + """\
  - id: later
    title: "The phase after"
    requires: [tiny]
    assignments:
      - id: later
        notebooks:
          - {file: 01-tiny.ipynb, title: "Tiny again"}
"""
)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_course(tmp_path_factory.mktemp("cli-course"), manifest=TWO_PHASES)
    later = root / "solutions" / "later"
    later.mkdir()
    (later / "01-tiny.ipynb").write_bytes((root / "solutions" / TINY / "01-tiny.ipynb").read_bytes())
    assert main(["--course", str(root), "release"]) == 0
    compat = json.loads((root / ".autograder" / "references" / "compat.json").read_text())
    assert {"tiny.mean", "tiny.mean-hidden", "tiny.scale", "tiny.predict"} <= set(compat["checks"])
    return root


def run(course: Path, *args: str) -> int:
    return main(["--course", str(course), *args])


def fill(path: Path, answers: dict[str, str]) -> None:
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(nb, str(path))


def test_a_learners_day(course, capsys):
    assert run(course, "start", TINY, "--learner", "ada") == 0
    workspace = course / ".autograder" / "workspaces" / "ada" / TINY
    notebook = workspace / "01-tiny.ipynb"
    fill(notebook, CORRECT)
    # starting again never overwrites the learner's work
    assert run(course, "start", TINY, "--learner", "ada") == 0
    assert "return float(np.mean(x))" in notebook.read_text()
    capsys.readouterr()
    assert run(course, "submit", TINY, "--learner", "ada") == 0
    out = capsys.readouterr().out
    assert "graded ada/tiny: seed 0: 4/4" in out
    assert run(course, "progress", "--learner", "ada", "--json") == 0
    (progress,) = json.loads(capsys.readouterr().out)
    states = {p["phase"]: p["state"] for p in progress["phases"]}
    assert states == {"tiny": "mastered", "later": "unlocked"}
    assert run(course, "start", "later", "--learner", "ada") == 0
    nbgrader_page = course / ".autograder" / "feedback" / "ada" / TINY / "01-tiny.html"
    nbgrader_page.parent.mkdir(parents=True, exist_ok=True)
    nbgrader_page.write_text("nbgrader generate_feedback's page, with the manual scores")
    assert run(course, "feedback", TINY, "--learner", "ada") == 0
    assert nbgrader_page.read_text() == "nbgrader generate_feedback's page, with the manual scores"
    html = (course / ".autograder" / "feedback" / "ada" / TINY / "01-tiny.mastery.html").read_text()
    assert "Mastery shown" in html and "BEGIN HIDDEN" not in html and "default_rng(seed + 1)" not in html


def test_a_learner_who_has_not_unlocked_a_phase_is_told_why(course, capsys):
    assert run(course, "start", "later", "--learner", "newbie") == 2
    err = capsys.readouterr().err
    assert "newbie cannot start later yet: it needs tiny mastered first" in err


def test_resubmitting_archives_the_earlier_submission(course, capsys):
    assert run(course, "start", TINY, "--learner", "bea") == 0
    notebook = course / ".autograder" / "workspaces" / "bea" / TINY / "01-tiny.ipynb"
    assert run(course, "submit", TINY, "--learner", "bea", "--no-grade") == 0
    first = (course / ".autograder" / "submitted" / "bea" / TINY / "01-tiny.ipynb").read_text()
    fill(notebook, CORRECT)
    assert run(course, "submit", TINY, "--learner", "bea") == 0
    (archived,) = (course / ".autograder" / "archive" / "bea" / TINY).iterdir()
    assert (archived / "01-tiny.ipynb").read_text() == first
    assert "seed 0: 4/4" in capsys.readouterr().out
    assert run(course, "progress", "--learner", "bea") == 0
    out = capsys.readouterr().out
    assert "mastered" in out


def test_a_failing_learner_sees_exactly_what_stands_in_the_way(course, capsys):
    assert run(course, "start", TINY, "--learner", "cal") == 0
    notebook = course / ".autograder" / "workspaces" / "cal" / TINY / "01-tiny.ipynb"
    fill(notebook, {**CORRECT, "mean-solution": "def column_mean(x):\n    return 0.0"})
    assert run(course, "submit", TINY, "--learner", "cal") == 0
    capsys.readouterr()
    assert run(course, "progress", "--learner", "cal") == 0
    out = capsys.readouterr().out
    assert "cal: to master tiny and unlock later:" in out
    assert "failing: mean-tests (core)  [seeds 0, " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("grade", "nope"), "unknown assignment 'nope'; the manifest lists: tiny, later"),
        (("progress", "--learner", "nobody"), "unknown learner 'nobody'"),
        (("start", TINY, "--learner", "../evil"), "invalid learner name '../evil'"),
        (("submit", TINY, "--learner", "ghost"), "ghost has no workspace for tiny"),
        (("feedback", TINY, "--learner", "ghost"), None),
        (("leaderboard", TINY), "'tiny' has no competition in curriculum/manifest.yaml"),
    ],
)
def test_bad_input_gets_one_clear_line(course, capsys, args, message):
    status = run(course, *args)
    captured = capsys.readouterr()
    if message is None:  # per-learner errors are reported and the command goes on
        assert status == 1 and "no graded submission of 'tiny' for 'ghost'" in captured.out
        return
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], captured.err


def test_grade_reports_an_unknown_learner_and_goes_on(course, capsys):
    assert run(course, "grade", TINY, "--learner", "nobody", "--learner", "ada", "--seeds", "1") == 0
    out = capsys.readouterr().out
    assert "error: no submission from 'nobody' for 'tiny'" in out
    assert "graded ada/tiny: seed 0: 4/4" in out


def test_outside_a_course_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["progress"]) == 2
    assert "no course directory at or above" in capsys.readouterr().err


def test_without_a_sandbox_grading_refuses_unless_told_otherwise(tmp_path, capsys, monkeypatch):
    root = make_course(tmp_path / "nosandbox")
    assert main(["--course", str(root), "release"]) == 0
    assert main(["--course", str(root), "start", TINY, "--learner", "dee"]) == 0
    fill(root / ".autograder" / "workspaces" / "dee" / TINY / "01-tiny.ipynb", CORRECT)
    capsys.readouterr()
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python and alembic, no bwrap
    assert main(["--course", str(root), "submit", TINY, "--learner", "dee"]) == 2
    err = capsys.readouterr().err
    assert "cannot sandbox learner code here: missing bwrap" in err and "--unsafe-no-sandbox" in err
    assert main(["--course", str(root), "grade", TINY, "--unsafe-no-sandbox", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: --unsafe-no-sandbox" in out and "graded dee/tiny: seed 0: 4/4" in out
    (line,) = [json.loads(x) for x in (root / ".autograder" / "audit.jsonl").read_text().splitlines()]
    assert line["sandboxed"] is False and line["learner"] == "dee"


def test_grade_shows_progress_and_ends_with_a_table_or_only_totals_when_quiet(course, capsys):
    assert run(course, "grade", TINY, "--learner", "ada", "--seeds", "1") == 0
    captured = capsys.readouterr()
    assert "grading tiny" in captured.err and "1/1" in captured.err and "left" in captured.err
    table = captured.out[captured.out.index("learner") :]
    assert "default seed" in table and "ada" in table and "4/4" in table
    assert "1 graded, 0 not graded" in table and "s per submission" in table
    assert run(course, "grade", TINY, "--learner", "ada", "--seeds", "1", "-q") == 0
    captured = capsys.readouterr()
    assert "grading tiny" not in captured.err
    assert captured.out.strip().splitlines() == [captured.out.strip()] and "1 graded" in captured.out


def test_check_shows_progress_and_its_timings(course, capsys):
    assert run(course, "check", "--assignment", TINY, "--no-nbval") == 0
    captured = capsys.readouterr()
    assert "checking notebooks" in captured.err and "1/1" in captured.err
    assert "alternative" in captured.out and "autograder check: 0 problem(s)" in captured.out


def test_an_unreachable_scheduler_gets_one_clear_line(course, capsys):
    assert run(course, "grade", TINY, "--seeds", "1", "--scheduler", "tcp://127.0.0.1:9") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err  # the progress bar may have started; the error is one line
    last = err.strip().splitlines()[-1]
    assert last.startswith("autograder: error: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'")
    assert "dask scheduler" in last


def test_grade_refreshes_the_progress_page_in_a_learners_workspace(course, capsys):
    assert run(course, "start", TINY, "--learner", "eve") == 0
    page = course / ".autograder" / "workspaces" / "eve" / "progress.html"
    before = page.read_text().split(f'<section id="{TINY}">')[1].split("</section>")[0]
    assert "no graded submission yet" in before
    fill(course / ".autograder" / "workspaces" / "eve" / TINY / "01-tiny.ipynb", CORRECT)
    assert run(course, "submit", TINY, "--learner", "eve", "--no-grade") == 0
    assert run(course, "grade", TINY, "--learner", "eve", "-q") == 0
    tiny = page.read_text().split(f'<section id="{TINY}">')[1].split("</section>")[0]
    assert "badge mastered" in tiny and "no graded submission yet" not in tiny


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_grade_refuses_a_workers_count_that_is_not_positive(course, capsys, workers):
    with pytest.raises(SystemExit) as stopped:
        run(course, "grade", TINY, "--workers", workers)
    assert stopped.value.code == 2
    assert f"--workers: {workers!r} is not a whole number of at least 1" in capsys.readouterr().err


def test_check_refuses_an_assignment_the_manifest_does_not_list(capsys):
    """Checking nothing would print "0 problem(s)": a misspelt name is an error that names the known ones."""
    repo = Path(__file__).resolve().parents[1]
    assert main(["--course", str(repo), "check", "--assignment", "phase3-mlop", "-q"]) == 2
    err = capsys.readouterr().err
    assert "unknown assignment 'phase3-mlop'; the manifest lists: phase1-foundations" in err
    assert "0 problem(s)" not in err


def test_a_track_where_the_phase_has_none_gets_one_line(course, capsys):
    assert run(course, "start", TINY, "--track", "nlp", "--learner", "cara") == 2
    err = capsys.readouterr().err
    assert "tiny has no tracks; start it without --track" in err and len(err.strip().splitlines()) == 1
    assert not (course / ".autograder" / "workspaces" / "cara" / TINY).exists()


def test_a_learner_reviews_what_they_relearned(course, capsys):
    from datetime import date, timedelta

    assert run(course, "start", TINY, "--learner", "dora") == 0
    notebook = course / ".autograder" / "workspaces" / "dora" / TINY / "01-tiny.ipynb"
    fill(notebook, {**CORRECT, "mean-solution": "def column_mean(x):\n    return 0.0"})
    assert run(course, "submit", TINY, "--learner", "dora") == 0
    fill(notebook, CORRECT)
    assert run(course, "submit", TINY, "--learner", "dora") == 0
    capsys.readouterr()
    assert run(course, "review", "--learner", "dora") == 0
    out = capsys.readouterr().out
    assert "dora: 1 card(s) in the review queue; no reviews yet" in out and "nothing is due on" in out
    later = (date.today() + timedelta(days=3)).isoformat()
    assert run(course, "review", "--learner", "dora", "--as-of", later) == 0
    out = capsys.readouterr().out
    assert "1 card(s) due, under seed" in out and f"{TINY}/01-tiny/mean-tests (relearned" in out
    review = course / ".autograder" / "workspaces" / "dora" / "review" / TINY / "01-tiny.ipynb"
    assert f"review notebook: {review}" in out
    fill(review, {"mean-solution": "def column_mean(x):\n    return float(np.asarray(x).mean())"})
    assert run(course, "review", "--learner", "dora", "--grade", "--as-of", later) == 0
    out = capsys.readouterr().out
    assert f"{TINY}/01-tiny/mean-tests: recalled; next review" in out and "1 of 1 card(s) recalled" in out
    page = (course / ".autograder" / "workspaces" / "dora" / "progress.html").read_text()
    assert "Your review queue" in page and "retention so far <b>100%</b>" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("review", "--learner", "dora", "--as-of", "2026-13-01"), "--as-of 2026-13-01: expected a date"),
        (("review", "--learner", "nobody", "--grade"), "nobody has no review to grade; build one with"),
        (("review", "--learner", "../x"), "invalid learner name '../x'"),
    ],
)
def test_review_bad_input_gets_one_clear_line(course, capsys, args, message):
    assert run(course, *args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
