"""A learner's and an instructor's day in a real JupyterLab, driven in headless Chromium.

Every step saves a screenshot under ``test-artifacts/browser/`` for a person to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.course.config import Settings, load_settings
from autograder.course.curriculum import Curriculum, load_curriculum
from autograder.course.lab import lab_command
from tests.scenarios.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    artifacts_dir,
    copy_course,
    free_port,
    jupyter_server,
)

pytestmark = pytest.mark.slow

ASSIGNMENT = "phase1-foundations"
NOTEBOOK = "01-python-numpy.ipynb"
WRITTEN = "written-gradient-intuition"
"""Phase 1's written answer, graded by hand in formgrader (03-math-for-ml)."""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Curriculum]]:
    """A released copy of this repository's course with its own state folder."""
    root = copy_course(tmp_path_factory.mktemp("browser") / "course")
    state = root.parent / "state"
    env = {**os.environ, "AUTOGRADER_STATE": str(state)}
    autograder = [sys.executable, "-m", "autograder.cli", "--course", str(root)]
    subprocess.run([*autograder, "release", ASSIGNMENT], check=True, env=env, capture_output=True)
    subprocess.run(
        [*autograder, "start", ASSIGNMENT, "--learner", "ada"], check=True, env=env, capture_output=True
    )
    yield load_settings(root, state_dir=state), load_curriculum(root)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: install Debian's chromium (make system)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Shots:
    """Numbered screenshots of one test's steps."""

    def __init__(self, page: object, name: str) -> None:
        self.page, self.name, self.count = page, name, 0
        self.folder = artifacts_dir()
        for old in self.folder.glob(f"{name}-*.png"):  # a rerun's pictures replace the last run's
            old.unlink()

    def __call__(self, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.name}-{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
        return path


def _wait_idle(page: object, timeout: float = 120_000) -> None:
    """Until the status bar says the kernel is idle (it says "Initializing", then "Busy" first)."""
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=timeout)  # type: ignore[attr-defined]


def _cell(page: object, text: str) -> object:
    """The code cell whose source contains ``text`` now (it stays found when its source changes)."""
    cells = page.locator(".jp-Notebook .jp-Cell")  # type: ignore[attr-defined]
    sources = cells.evaluate_all("cells => cells.map(c => c.querySelector('.cm-content')?.textContent ?? '')")
    index = next(i for i, source in enumerate(sources) if text in source)
    return cells.nth(index)


def _type_into(page: object, cell: object, source: str) -> None:
    """Replace a cell's source as a learner would, then run it with Shift+Enter."""
    cell.locator(".cm-content").click()  # type: ignore[attr-defined]
    page.keyboard.press("Control+A")  # type: ignore[attr-defined]
    page.keyboard.insert_text(source)  # type: ignore[attr-defined]
    page.keyboard.press("Shift+Enter")  # type: ignore[attr-defined]


def _run_command(page: object, menu: str, command: str) -> None:
    """Click a menu of JupyterLab's menu bar, then the item that runs ``command``."""
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")  # type: ignore[attr-defined]
    page.click(f".lm-Menu-item[data-command='{command}']")  # type: ignore[attr-defined]


def test_a_learner_runs_a_notebook_asks_for_hints_and_validates(course, browser, tmp_path):
    settings, _ = course
    port = free_port()
    lab = lab_command(settings, "ada", port=port)
    with jupyter_server(
        lab.argv, cwd=lab.cwd, env=lab.env, port=port, token=lab.token, log=tmp_path / "lab.log"
    ):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        shot = Shots(page, "learner")
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{ASSIGNMENT}/{NOTEBOOK}?token={lab.token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        _wait_idle(page)
        shot("notebook-open")

        _run_command(page, "Run", "runmenu:run-all")
        page.wait_for_selector(
            ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']", timeout=120_000
        )
        _wait_idle(page)
        errors = page.locator(
            ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_text_contents()
        assert any("NotImplementedError" in text for text in errors), errors[:3]
        shot("ran-all-cells")

        # A first attempt at exercise 1 that returns a Counter: the visible test says what is
        # wrong, with a hint, right under the test cell.
        answer = _cell(page, "def count_tokens(docs, min_count=1):")
        _type_into(
            page,
            answer,
            "from collections import Counter\n\n\ndef count_tokens(docs, min_count=1):\n"
            "    return Counter(word for doc in docs for word in doc.split())\n",
        )
        _wait_idle(page)
        test_cell = _cell(page, "toy_counts = count_tokens(toy)")
        test_cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        failure = test_cell.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
        failure.wait_for(timeout=60_000)
        message = failure.text_content() or ""
        assert "should return a plain dict" in message and "Hint:" in message, message[-500:]
        test_cell.scroll_into_view_if_needed()
        shot("visible-test-hint")

        # Still stuck: the learner asks for the first hint, then for the second.
        import yaml

        hints = yaml.safe_load((lab.root / ASSIGNMENT / "hints.yaml").read_text())["01-python-numpy"]
        first, second = hints["count-tokens"]
        hint_cell = _cell(page, '# hint("count-tokens")')
        for level, expected, source in (
            (1, first, 'hint("count-tokens")'),
            (2, second, 'hint("count-tokens", 2)'),
        ):
            _type_into(page, hint_cell, source)
            shown = hint_cell.locator(".jp-OutputArea-output")
            shown.filter(has_text=expected.split()[0]).first.wait_for(timeout=60_000)
            text = " ".join((shown.first.text_content() or "").split())
            assert " ".join(expected.split())[:60].replace("`", "") in text.replace("`", ""), (level, text)
            hint_cell.scroll_into_view_if_needed()
            shot(f"hint-{level}")

        page.click(".validate-button")
        dialog = page.wait_for_selector(".jp-Dialog:has-text('Validation Results')", timeout=180_000)
        text = dialog.inner_text()
        assert re.search(r"failed|NotImplementedError", text), text[:500]
        shot("validated")
        page.click(".jp-Dialog .jp-mod-accept")

        # The learner's Nbgrader menu has the Assignment List and nothing of the instructor's,
        # and formgrader's pages are not served to them at all.
        page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        items = page.locator(".lm-Menu-item:visible").evaluate_all(
            "items => items.map(i => i.getAttribute('data-command'))"
        )
        assert "nbgrader:open-assignment-list" in items, items
        assert not {"nbgrader:open-formgrader", "nbgrader:open-create-assignment"} & set(items), items
        shot("nbgrader-menu-learner")
        page.keyboard.press("Escape")
        assert page.request.get(f"http://127.0.0.1:{port}/formgrader?token={lab.token}").status == 404
        page.close()


@pytest.fixture(scope="module")
def graded(course: tuple[Settings, Curriculum]) -> tuple[Settings, Curriculum]:
    """``grace`` works through phase 1 correctly, submits, and ``autograder grade`` grades her."""
    import nbformat

    from autograder.course.demo import fill_in
    from autograder.course.workspace import start, submit
    from autograder.grading.grade import grade_assignment

    settings, curriculum = course
    folder = start(settings, curriculum, ASSIGNMENT, "grace")
    for spec in curriculum.assignment(ASSIGNMENT).notebooks:
        source = nbformat.read(str(curriculum.source_dir(ASSIGNMENT) / spec.file), as_version=4)
        release = nbformat.read(str(folder / spec.file), as_version=4)
        work = fill_in(release, source, "alice")  # alice's answers: all correct
        for cell in work.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN:
                cell.source = (
                    "The central difference cancels the first error term, so it is far more accurate."
                )
        nbformat.write(work, str(folder / spec.file))
    submit(settings, curriculum, ASSIGNMENT, "grace")
    (result,) = grade_assignment(settings, curriculum, ASSIGNMENT, learners=["grace"], seeds=2)
    assert not getattr(result, "errors", None), result
    return settings, curriculum


def test_an_instructor_sees_the_autograder_grade_in_formgrader(graded, browser, tmp_path):
    from nbgrader.api import Gradebook

    settings, _ = graded
    with Gradebook(settings.db_url) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "grace")
        expected = f"{round(submission.score, 2):g} / {round(submission.max_score, 2):g}"
        assert submission.score > 0
    port = free_port()
    lab = lab_command(settings, None, port=port)  # what `autograder lab --instructor` starts
    token = lab.token
    with jupyter_server(
        lab.argv, cwd=lab.cwd, env=lab.env, port=port, token=token, log=tmp_path / "lab.log"
    ) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        shot = Shots(page, "instructor")
        page.goto(f"{base}/lab?token={token}")
        page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')", timeout=120_000)
        _run_command(page, "Nbgrader", "nbgrader:open-formgrader")
        frame = page.frame_locator("iframe").first
        frame.locator("text=Manage Students").first.click()
        row = frame.locator("tr", has_text="grace").first
        row.wait_for(timeout=60_000)
        frame.locator("td.score", has_text="/").first.wait_for(timeout=60_000)
        assert expected in (row.text_content() or ""), (expected, row.text_content())
        shot("formgrader-students")
        page.close()


def test_an_instructor_grades_the_written_answer_in_formgrader_and_totals_add_up(graded, browser, tmp_path):
    import csv

    from nbgrader.api import Gradebook

    settings, _ = graded
    with Gradebook(settings.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook("03-math-for-ml", ASSIGNMENT, "grace")
        notebook_id, autograded = notebook.id, gradebook.find_submission(ASSIGNMENT, "grace").score
        written = gradebook.find_grade(WRITTEN, "03-math-for-ml", ASSIGNMENT, "grace")
        assert written.needs_manual_grade and written.manual_score is None  # what autograder grade left
    port = free_port()
    lab = lab_command(settings, None, port=port)
    token = lab.token
    with jupyter_server(
        lab.argv, cwd=lab.cwd, env=lab.env, port=port, token=token, log=tmp_path / "lab.log"
    ) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        shot = Shots(page, "manual")
        page.goto(f"{base}/lab?token={token}")  # logs in: formgrader's own calls need the cookie
        page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')", timeout=120_000)
        page.goto(f"{base}/formgrader/submissions/{notebook_id}/")
        score = page.locator(f"input.score#{WRITTEN}")
        score.wait_for(timeout=60_000)
        score.scroll_into_view_if_needed()
        # the rubric, in the locked prompt above the answer, is in front of the grader
        assert page.locator("strong", has_text="Rubric (2 points)").first.is_visible()
        shot("written-answer")
        score.fill("1.5")
        score.press("Tab")  # formgrader saves a score when its input changes
        deadline = time.monotonic() + 30
        while True:
            with Gradebook(settings.db_url) as gradebook:
                grade = gradebook.find_grade(WRITTEN, "03-math-for-ml", ASSIGNMENT, "grace")
                manual, total = grade.manual_score, gradebook.find_submission(ASSIGNMENT, "grace").score
            if manual is not None or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert manual == 1.5 and total == autograded + 1.5, (manual, total, autograded)
        shot("scored")
        page.goto(f"{base}/formgrader/manage_students")
        row = page.locator("tr", has_text="grace").first
        page.locator("td.score", has_text="/").first.wait_for(timeout=60_000)
        assert f"{total:g} / " in (row.text_content() or ""), row.text_content()
        shot("students-total")
        page.close()
    export = tmp_path / "grades.csv"
    env = {**os.environ, "AUTOGRADER_STATE": str(settings.state_dir)}
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--CsvExportPlugin.to={export}"],
        cwd=settings.root,
        env=env,
        check=True,
        capture_output=True,
    )
    (row,) = [r for r in csv.DictReader(export.open()) if r["student_id"] == "grace"]
    assert float(row["score"]) == total


def test_the_progress_page_in_the_workspace_shows_the_unlocked_phase(graded, browser, tmp_path):
    from autograder.course.workspace import refresh_progress_page

    settings, curriculum = graded
    path = refresh_progress_page(settings, curriculum, "grace")  # as `autograder submit` does
    assert path.parent == settings.workspaces_dir / "grace"
    port = free_port()
    lab = lab_command(settings, "grace", port=port)
    with jupyter_server(
        lab.argv, cwd=lab.cwd, env=lab.env, port=port, token=lab.token, log=tmp_path / "lab.log"
    ) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        shot = Shots(page, "progress")
        page.goto(f"{base}/lab?token={lab.token}")
        page.locator(".jp-DirListing-item", has_text="progress.html").dblclick(timeout=120_000)
        frame = page.frame_locator(".jp-HTMLViewer iframe, iframe").first
        phase2 = curriculum.phases[1]
        heading = frame.locator(f"section#{phase2.id} h2")
        heading.wait_for(timeout=60_000)
        assert "unlocked" in (heading.text_content() or ""), heading.text_content()
        phase1 = frame.locator(f"section#{curriculum.phases[0].id} h2")
        assert "mastered" in (phase1.text_content() or ""), phase1.text_content()
        assert frame.locator("img[src^='data:image/svg+xml;base64,']").count() >= 1  # charts, not only tables
        shot("progress-page")
        heading.scroll_into_view_if_needed()
        shot("unlocked-phase")
        page.close()


def test_a_learner_opens_her_review_notebook_and_her_review_queue(graded, browser, tmp_path):
    """A card due today (grace relearned standardize three days ago): the review built, opened, and shown."""
    import random
    from datetime import UTC, datetime, timedelta

    from autograder.course.cards import ReviewCard
    from autograder.course.schedule import add_cards, load_deck, save_deck
    from autograder.course.workspace import refresh_progress_page
    from autograder.grading.review import build_review

    settings, curriculum = graded
    now = datetime.now(UTC).replace(microsecond=0)
    deck = load_deck(settings.state_dir, "grace")
    card = ReviewCard(
        ASSIGNMENT, "01-python-numpy", "standardize-tests", "relearned", now - timedelta(days=3)
    )
    add_cards(deck, [card])  # as if her evidence showed standardize failed, then passed, three days ago
    save_deck(settings.state_dir, deck)
    built = build_review(settings, curriculum, "grace", now=now, rng=random.Random(4))
    assert built is not None and [c.card.exercise for c in built.due] == ["standardize-tests"]
    refresh_progress_page(settings, curriculum, "grace")
    port = free_port()
    lab = lab_command(settings, "grace", port=port)
    with jupyter_server(
        lab.argv, cwd=lab.cwd, env=lab.env, port=port, token=lab.token, log=tmp_path / "lab.log"
    ) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        shot = Shots(page, "review")
        page.goto(f"{base}/lab/tree/review/{ASSIGNMENT}/{NOTEBOOK}?token={lab.token}")
        header = page.locator(".jp-MarkdownCell", has_text="Review of").first
        header.wait_for(timeout=120_000)
        assert "standardize-tests" in (header.text_content() or "")
        shot("review-notebook")
        header.click()  # command mode: J walks down the notebook, which renders the cells it reaches
        cleared = page.locator(".jp-Notebook .jp-CodeCell", has_text="def standardize(")
        for _ in range(60):
            if cleared.count():
                break
            page.keyboard.press("j")
        cleared.first.scroll_into_view_if_needed()
        assert "NotImplementedError" in (cleared.first.text_content() or "")
        shot("cleared-exercise")
        page.goto(f"{base}/lab/tree/progress.html?token={lab.token}")
        frame = page.frame_locator(".jp-HTMLViewer iframe, iframe").first
        queue = frame.locator("h2", has_text="Your review queue")
        queue.wait_for(timeout=60_000)
        queue.scroll_into_view_if_needed()
        text = frame.locator("body").text_content() or ""
        assert "1 due today" in text and "waits in" in text and "standardize-tests" in text
        shot("progress-review-queue")
        page.close()


def test_an_employer_reads_the_portfolio_offline(graded, browser, tmp_path):
    """grace's portfolio with her chosen notebook: opened from a file, it asks the network for nothing."""
    from autograder.views.portfolio import write_portfolio

    settings, curriculum = graded
    path = write_portfolio(
        settings, curriculum, "grace", tmp_path / "grace-portfolio.html", [f"{ASSIGNMENT}/01-python-numpy"]
    )
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    shot = Shots(page, "portfolio")
    page.goto(path.as_uri())
    assert page.locator("h1").first.text_content().startswith("Portfolio")
    text = page.locator("body").text_content() or ""
    assert "Build foundational knowledge" in text and "No competition entry." in text
    assert "Verification: evidence record phase1-foundations/" in text
    assert "def standardize(" in text  # her own code, rendered
    assert "BEGIN HIDDEN TESTS" not in text and "check(" not in text  # no test cell, no check
    shot("top")
    page.locator("text=def standardize(").first.scroll_into_view_if_needed()
    shot("her-notebook")
    assert [url for url in requests if not url.startswith("file:") and not url.startswith("data:")] == []
    page.close()
