"""The learner's portfolio, from evidence records written here (no kernel runs): phases and
dates, the competition rank, projects with their model cards, scores, the chosen notebooks
rendered, a verification line per item, and nothing hidden on the page."""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from datetime import date
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from sqlalchemy.exc import SAWarning

from autograder.cli import main
from autograder.course.config import Settings, load_settings
from autograder.course.curriculum import load_curriculum
from autograder.errors import NotFound
from autograder.grading.evidence import (
    CellResult,
    CheckResult,
    GradingRecord,
    ManualCell,
    NotebookResult,
    RunResult,
    Submission,
    write_record,
)
from autograder.grading.gradebook import PersonScore
from autograder.protocol import MIME_TYPE
from autograder.views import portfolio as pf
from autograder.views import public_notebook as pn
from tests.conftest import make_course

MANIFEST = """\
schema_version: 1
title: "A tiny course for portfolios"
defaults:
  mastery: {min_notebook_score: 0.8, core_full_marks: true, min_parameter_sets: 2}
phases:
  - id: basics
    title: "Basics"
    requires: []
    assignments:
      - id: basics
        notebooks:
          - {file: 01-tiny.ipynb, title: "Tiny basics", core: [mean-tests]}
        competition: {notebook: 01-tiny.ipynb, check: comp.predict, labels: labels.csv, metric: accuracy}
  - id: spec
    title: "Specialise"
    requires: [basics]
    tracks:
      - id: nlp
        title: "Natural language processing"
        assignments:
          - id: spec-nlp
            notebooks:
              - {file: 01-tiny.ipynb, title: "Evaluation with a model card", portfolio: [card]}
      - id: cv
        title: "Computer vision"
        assignments:
          - id: spec-cv
            notebooks:
              - {file: 01-tiny.ipynb, title: "Robustness with a model card", portfolio: [card]}
"""

HIDDEN = "HIDDEN_TEST_SECRET_7f3a91"
PAYLOAD = "REPORT_PAYLOAD_SECRET_c0de42"
GRADER_PATH = "/grader/only/secret-data-dir"
SHA = "ab" * 32
FILE_SHA = "cd" * 32
LABELS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
SPLIT = ["public"] * 5 + ["private"] * 5
CARD = (
    "## Model card: tiny tagger\n\n**Accuracy** 0.91 on 200 held-out quotes.\n\n"
    "<script>alert('card')</script> [the paper](https://example.org/model-cards) "
    "![a pixel](http://tracker.example/p.png)\n\n| slice | accuracy |\n|---|---|\n| short | 0.88 |\n"
)


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, points: float = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3}
    meta.update({"solution": solution, "task": False})
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def executed(seed: int, predictions: list[int], card: str = CARD) -> nbformat.NotebookNode:
    """An executed run as the evidence keeps it: test cells restored (hidden tests and all),
    reports in their outputs, papermill's injected parameters."""
    report = {
        "name": "comp.predict",
        "value": {"type": "ndarray", "dtype": "int", "shape": [10], "data": predictions},
    }
    report["spec"] = {"expected": PAYLOAD}
    solution = new_code_cell(
        "def mean(x):\n    return sum(x) / len(x)\nprint('mean of my data:', mean([1, 2, 3]))",
        metadata=_meta("mean-solution", solution=True),
        id="mean-solution",
        execution_count=3,
    )
    solution.outputs = [
        new_output("stream", name="stdout", text="mean of my data: 2.0\n"),
        new_output(
            "display_data",
            data={"text/html": '<img src="http://evil.example/x.png">', "text/plain": "a frame"},
        ),
        new_output(
            "display_data",
            data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
            metadata={"filenames": {"image/png": "http://evil.example/y.png"}},
        ),
        new_output("display_data", data={"image/png": 'x" onerror="alert(1)'}),
    ]
    tests = new_code_cell(
        "assert mean([1, 3]) == 2\n"
        f"### BEGIN HIDDEN TESTS\ncheck('basics.mean-hidden', '{HIDDEN}')\n### END HIDDEN TESTS",
        metadata=_meta("mean-tests", grade=True, points=2),
        id="mean-tests",
        execution_count=4,
    )
    tests.outputs = [new_output("display_data", data={MIME_TYPE: report, "text/plain": f"report {PAYLOAD}"})]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Tiny basics\nA story about **means**.", id="story"),
            new_code_cell("seed = 0", metadata={"tags": ["parameters"]}, id="parameters"),
            new_code_cell(
                f"# Parameters\nseed = {seed}\ndata_dir = '{GRADER_PATH}'",
                metadata={"tags": ["injected-parameters"]},
                id="injected",
            ),
            solution,
            tests,
            new_markdown_cell(card, metadata=_meta("card", grade=True, solution=True, points=3), id="card"),
            nbformat.v4.new_raw_cell(f"<script>{HIDDEN}</script>", id="raw"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def run_result(seed: int, score: float) -> RunResult:
    cell = CellResult("mean-tests", 2.0, score, checks=[CheckResult("basics.mean", score >= 2, "", "")])
    return RunResult({"seed": seed}, "completed", "", 0.1, {"mean-tests": cell})


def grade(
    settings: Settings,
    learner: str,
    assignment: str,
    phase: str,
    when: str,
    scores: tuple[float, ...] = (2.0, 2.0),
    predictions: list[int] | None = None,
    answered: bool = True,
) -> None:
    seeds = [3, 4][: len(scores)]
    nb = NotebookResult(
        "01-tiny", "graded", sha256=FILE_SHA, runs=[run_result(s, v) for s, v in zip(seeds, scores)]
    )
    nb.manual = {"card": ManualCell("card", 3.0, answered, None if answered else 0.0)}
    record = GradingRecord(
        learner,
        assignment,
        phase,
        when,
        "9.9.9",
        when,
        Submission(SHA, {"01-tiny.ipynb": FILE_SHA}),
        {},
        [{"seed": s} for s in seeds],
        {"01-tiny": nb},
        [],
    )
    runs = {f"executed/01-tiny.seed{s}.ipynb": executed(s, predictions or LABELS) for s in seeds}
    write_record(settings, record, runs)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ada: basics mastered on 2026-03-02 (2nd of 3 in the competition), then the NLP track
    with a model card; bo and cy: basics only; dee: a workspace and no grading."""
    root = make_course(tmp_path_factory.mktemp("portfolio"), manifest=MANIFEST)
    hidden = root / "hidden" / "basics"
    hidden.mkdir(parents=True)
    rows = "".join(f"{i},{t},{s}\n" for i, (t, s) in enumerate(zip(LABELS, SPLIT)))
    (hidden / "labels.csv").write_text("id,target,split\n" + rows)
    settings = load_settings(root)
    wrong_one = [*LABELS[:9], 1 - LABELS[9]]  # 4 of 5 private right
    grade(settings, "ada", "basics", "basics", "2026-03-01T09:00:00Z", (2.0, 0.0), wrong_one)
    grade(settings, "ada", "basics", "basics", "2026-03-02T09:00:00Z", (2.0, 2.0), wrong_one)
    grade(settings, "ada", "spec-nlp", "spec", "2026-04-10T09:00:00Z")
    grade(settings, "cy", "basics", "basics", "2026-03-03T09:00:00Z", predictions=LABELS)
    grade(settings, "bo", "basics", "basics", "2026-03-04T09:00:00Z", predictions=[1 - v for v in LABELS])
    (settings.workspaces_dir / "dee").mkdir(parents=True)
    return root


def build(root: Path, learner: str = "ada", notebooks: list[str] | None = None) -> pf.PortfolioView:
    return pf.portfolio_view(
        load_settings(root), load_curriculum(root), learner, notebooks, today=date(2026, 5, 1)
    )


def cli(root: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(["--course", str(root), *args])
    return status, out.getvalue()


def test_phases_with_the_day_each_was_first_mastered_and_the_track(course):
    view = build(course)
    assert [(p.phase, p.state, p.mastered_on) for p in view.phases] == [
        ("basics", "mastered", date(2026, 3, 2)),
        ("spec", "mastered", date(2026, 4, 10)),
    ]
    assert view.phases[1].track == "Natural language processing" and view.completed
    page = pf.portfolio_html(view)
    assert (
        '<b class="pass">mastered</b> on 2026-03-02' in page and "(Natural language processing track)" in page
    )
    assert "Completed the guide:" in page


def test_the_competition_rank_by_private_score(course):
    (line,) = build(course).competitions
    assert (line.rank, line.ranked, line.metric, line.private) == (2, 3, "accuracy", 0.8)
    assert line.text().startswith(
        "2nd of 3 by private score, metric accuracy (private 0.8000, public 1.0000)"
    )
    assert line.verification.record.startswith("20260302T090000Z-")
    (cy,) = build(course, "cy").competitions
    assert cy.text().startswith("1st of 3")
    assert [pf._ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"
    ]  # fmt: skip


def test_no_competition_entry_is_said(course, tmp_path):
    settings = load_settings(course, state_dir=tmp_path / "state")
    grade(settings, "eve", "spec-cv", "spec", "2026-04-01T09:00:00Z", answered=False)
    view = pf.portfolio_view(settings, load_curriculum(course), "eve")
    assert view.competitions == []
    page = pf.portfolio_html(view)
    assert "<p>No competition entry.</p>" in page
    (project,) = view.projects
    assert project.assignment == "spec-cv" and project.answers[0].status() == "not answered (0 / 3)"
    assert project.answers[0].html == ""


def test_the_model_card_is_the_learners_own_text_escaped_with_who_graded_it(course, monkeypatch):
    view = build(course)
    (project,) = view.projects
    assert (project.assignment, project.title) == ("spec-nlp", "Evaluation with a model card")
    assert project.scores == (("3", 1.0), ("4", 1.0))
    (card,) = project.answers
    assert card.status() == "awaiting a grader (3 points)"
    assert "<h2>Model card: tiny tagger</h2>" in card.html and "<strong>Accuracy</strong> 0.91" in card.html
    assert "<table>" in card.html and "<td>0.88</td>" in card.html
    assert "&lt;script&gt;alert('card')&lt;/script&gt;" in card.html and "<script" not in card.html
    assert (
        '<span class="link">the paper</span> <span class="muted">[https://example.org/model-cards]</span>'
        in card.html
    )
    assert "[image: a pixel]" in card.html and "<img" not in card.html
    # a score a person gave in formgrader
    monkeypatch.setattr(
        pf,
        "person_scores",
        lambda settings, assignment, learner: {("01-tiny", "card"): PersonScore(2.5, 3, False)},
    )
    (project,) = build(course).projects
    assert project.answers[0].status() == "scored 2.5 / 3 by a grader"
    assert "scored 2.5 / 3 by a grader" in pf.portfolio_html(build(course))


def test_person_scores_come_from_nbgraders_gradebook(tmp_path):
    from nbgrader.api import Gradebook

    from autograder.grading.gradebook import person_scores

    root = make_course(tmp_path / "course", manifest=MANIFEST)
    settings = load_settings(root)
    assert person_scores(settings, "spec-nlp", "ada") == {}  # no gradebook yet: none, and none made
    assert not (settings.state_dir / "gradebook.db").exists()
    with Gradebook(settings.db_url, settings.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush warnings
        gb.add_assignment("spec-nlp")
        gb.add_notebook("01-tiny", "spec-nlp")
        gb.add_grade_cell("card", "01-tiny", "spec-nlp", max_score=3, cell_type="markdown")
        gb.add_solution_cell("card", "01-tiny", "spec-nlp")
        gb.add_student("ada")
        gb.add_submission("spec-nlp", "ada")
        grade_row = gb.find_grade("card", "01-tiny", "spec-nlp", "ada")
        grade_row.manual_score = 2.0
        grade_row.needs_manual_grade = False
        gb.db.commit()
    assert person_scores(settings, "spec-nlp", "ada") == {("01-tiny", "card"): PersonScore(2.0, 3.0, False)}
    assert person_scores(settings, "spec-nlp", "bo") == {}


def test_scores_under_every_parameter_set_and_a_verification_line_per_item(course):
    view = build(course)
    basics, nlp = view.assignments
    assert (basics.assignment, basics.mastered, basics.scores) == (
        "basics",
        True,
        (("3", 2.0, 2.0), ("4", 2.0, 2.0)),
    )
    assert nlp.graded_at == "2026-04-10T09:00:00Z"
    page = pf.portfolio_html(view)
    lines = re.findall(r'<p class="verify">([^<]*)</p>', page)
    assert len(lines) == 4  # the competition, the project, two assignments
    for line in lines:
        assert f"submission sha256 {SHA}" in line and "by autograder 9.9.9" in line
    assert f"01-tiny.ipynb sha256 {FILE_SHA}" in lines[0]
    assert re.search(
        r"evidence record spec-nlp/20260410T090000Z-abababababab, graded 2026-04-10 09:00 UTC", page
    )
    assert "Share of the autograded points" in page  # the chart, embedded as SVG


def assert_nothing_hidden_and_offline(page: str) -> None:
    for secret in (HIDDEN, PAYLOAD, GRADER_PATH, "BEGIN HIDDEN TESTS", "check('basics", MIME_TYPE):
        assert secret not in page, secret
    assert pn.offline_problems(page) == []
    assert "<script" not in page.lower() and "<iframe" not in page.lower() and "<link" not in page.lower()
    for attribute in re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)""", page):
        assert attribute.startswith(("#", "data:image/")), attribute


def test_a_chosen_notebook_is_rendered_without_anything_hidden(course, tmp_path):
    status, out = cli(
        course,
        "portfolio",
        "--learner",
        "ada",
        "--html",
        str(tmp_path / "ada.html"),
        "--notebook",
        "basics/01-tiny",
    )
    assert status == 0, out
    page = (tmp_path / "ada.html").read_text()
    assert_nothing_hidden_and_offline(page)
    assert (
        page.startswith("<!doctype html>")
        and '<meta name="generator" content="autograder portfolio">' in page
    )
    section = page[page.index("<h2>Selected notebooks</h2>") :]
    assert "basics/01-tiny.ipynb as the grader ran it (seed 3)" in section
    assert "A story about <strong>means</strong>" in section  # markdown rendered
    assert "mean of my data: 2.0" in section  # the learner's code and its output
    assert "A test cell of the grader: not shown." in section
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in section  # an embedded image stays
    assert "onerror" not in page and "evil.example" not in page and "a frame" in section
    # the release's parameters cell, not papermill's (with the grader's data path)
    assert 'id="cell-id=parameters"' in section and 'id="cell-id=injected"' not in section
    assert 'id="cell-id=raw"' not in section
    assert section.count('<p class="verify">') == 1


def test_the_choice_is_saved_and_reused(course, tmp_path):
    settings = load_settings(course)
    path = tmp_path / "ada.html"
    assert (
        cli(
            course,
            "portfolio",
            "--learner",
            "ada",
            "--html",
            str(path),
            "--notebook",
            "spec-nlp/01-tiny.ipynb",
        )[0]
        == 0
    )
    saved = pf.choice_file(settings.state_dir, "ada")
    assert json.loads(saved.read_text()) == {"notebooks": ["spec-nlp/01-tiny.ipynb"]}
    path.unlink()
    status, out = cli(course, "portfolio", "--learner", "ada", "--html", str(path))
    assert status == 0 and "notebooks kept" not in out
    assert "spec-nlp/01-tiny.ipynb as the grader ran it" in path.read_text()
    assert [nb.assignment for nb in build(course).notebooks] == ["spec-nlp"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--learner", "zed"], "unknown learner 'zed'; known learners: ada, bo, cy, dee"),
        (["--learner", "dee"], "dee has no graded submission yet, so there is nothing to show; submit an"),
        (["--learner", "ada", "--notebook", "basics"], "--notebook 'basics': expected ASSIGNMENT/NOTEBOOK"),
        (
            ["--learner", "ada", "--notebook", "nope/01-tiny"],
            "--notebook 'nope/01-tiny': unknown assignment 'nope'",
        ),
        (
            ["--learner", "ada", "--notebook", "basics/02-x"],
            "assignment 'basics' has no notebook '02-x'; its notebooks: basics/01-tiny",
        ),
        (
            ["--learner", "ada", "--notebook", "spec-cv/01-tiny"],
            "ada has no graded run of it to show; submit it first (autograder submit spec-cv --learner ada)",
        ),
    ],
)
def test_bad_input_gets_one_line_that_names_it(course, tmp_path, args, message):
    status, out = cli(course, "portfolio", "--html", str(tmp_path / "p.html"), *args)
    assert status == 2 and out.startswith("autograder: error: ") and out.count("\n") == 1, out
    assert message in out
    assert not (tmp_path / "p.html").exists()


def test_a_path_that_is_not_a_portfolio_is_never_overwritten_nor_an_unwritable_one_written(course, tmp_path):
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my own notes</p>")
    status, out = cli(course, "portfolio", "--learner", "ada", "--html", str(notes))
    assert status == 2 and "there is already something there that is not a portfolio page" in out
    assert notes.read_text() == "<p>my own notes</p>"
    blocked = tmp_path / "file"
    blocked.write_text("x")
    status, out = cli(course, "portfolio", "--learner", "ada", "--html", str(blocked / "p.html"))
    assert status == 2 and f"--html {blocked / 'p.html'}: cannot write there" in out and out.count("\n") == 1
    # a page written before is rewritten
    page = tmp_path / "p.html"
    assert cli(course, "portfolio", "--learner", "cy", "--html", str(page))[0] == 0
    assert cli(course, "portfolio", "--learner", "cy", "--html", str(page))[0] == 0
    assert "Portfolio of cy" in page.read_text()
    with pytest.raises(NotFound):
        pf.write_portfolio(load_settings(course), load_curriculum(course), "dee", tmp_path / "dee.html")


def test_the_offline_check_finds_what_would_load_or_run_and_ignores_text():
    assert (
        pn.offline_problems('<p>src="http://x" action="store" &lt;script&gt;</p><a href="#top">top</a>') == []
    )
    found = pn.offline_problems(
        '<script>1</script><img src="http://x/y.png"><a href="https://x">x</a><p style="background: url(x)">'
        '<div onclick="f()"></div><style>@import "x.css";</style>'
    )
    assert len(found) == 6, found


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "notebook",
    [
        "phase1-foundations/03-math-for-ml",
        "phase3-mlops/08-capstone-pipeline",
        "phase4-nlp/05-nlp-evaluation",
        "phase4-cv/05-robustness-export",
        "phase5-first-role/04-resume-portfolio",
    ],
)
def test_real_notebooks_render_offline_without_their_tests(notebook):
    """The course's own solution notebooks (hidden tests and all) render to a page that loads
    nothing and shows no test cell."""
    nb = nbformat.read(str(REPO / "solutions" / f"{notebook}.ipynb"), as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert tests
    body = pn.render_notebook(nb)
    assert pn.offline_problems(body) == []
    assert "HIDDEN TESTS" not in body and body.count("A test cell of the grader: not shown.") >= len(tests)


def test_the_manifests_portfolio_answers_are_written_answer_cells(tmp_path):
    from autograder.course.curriculum import ManifestError

    curriculum = load_curriculum(REPO)
    shown = {
        (a.id, nb.name): nb.portfolio for a in curriculum.assignments() for nb in a.notebooks if nb.portfolio
    }
    assert set(shown) == {
        ("phase2-ml-dl", "06-deep-learning-practice"),
        ("phase3-mlops", "08-capstone-pipeline"),
        ("phase4-nlp", "05-nlp-evaluation"),
        ("phase4-cv", "05-robustness-export"),
        ("phase5-first-role", "04-resume-portfolio"),
    }
    for (assignment, name), answers in shown.items():
        nb = nbformat.read(str(REPO / "solutions" / assignment / f"{name}.ipynb"), as_version=4)
        written = {
            c.metadata["nbgrader"]["grade_id"]
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")
        }
        assert set(answers) <= written, (assignment, name)
    root = make_course(tmp_path / "bad", manifest=MANIFEST.replace("portfolio: [card]", "portfolio: [3]", 1))
    with pytest.raises(ManifestError, match=r"portfolio.*grade_id"):
        load_curriculum(root)
