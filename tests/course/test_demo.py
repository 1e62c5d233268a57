"""The README's demo on the real phases: only the honest, complete learner unlocks phase 2,
masters it, and goes on to master phase 3."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.demo import run_demo
from autograder.course.schedule import load_deck
from autograder.views.leaderboard import leaderboard

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def test_demo_course(tmp_path):
    settings = load_settings(REPO, state_dir=tmp_path / "demo")
    progress = run_demo(settings, load_curriculum(REPO), log=lambda _: None)
    states = {name: [p.state for p in phases[:5]] for name, phases in progress.items()}
    assert states == {
        # admitted to each phase, and masters it (phase 4 with its first track) to the end of the guide
        "alice": ["mastered", "mastered", "mastered", "mastered", "mastered"],
        "bob": ["unlocked", "locked", "locked", "locked", "locked"],
        "carol": ["unlocked", "locked", "locked", "locked", "locked"],
    }
    phase4 = progress["alice"][3]
    assert (phase4.track, phase4.tracks_taken) == ("nlp", ["nlp"])
    assert not (settings.workspaces_dir / "bob" / "phase2-ml-dl").exists()  # refused, with the reason logged
    carol = progress["carol"][0].assignments[0]
    assert carol.latest_score == 1.0  # the default seed is fully fooled...
    assert any("passes with the default seed only" in g.problem for g in carol.gaps)  # ...mastery is not
    bob = progress["bob"][0].assignments[0]
    assert any(g.core for g in bob.gaps) and 0 < bob.latest_score < 0.8
    # feedback for every learner and notebook, and the grades in nbgrader's own export
    assert len(list((settings.feedback_dir).rglob("*.html"))) == 21 + 7 + 8 + 5 + 5
    page = (settings.workspaces_dir / "alice" / "progress.html").read_text()
    assert "You have completed the guide.</b>" in page and "Natural language processing track" in page
    assert "<h2>Your plan</h2><p>20 hours a week from" in page
    # her first review, three days on: 8 of the 10 drills she passed, each recalled under fresh seeds
    deck = load_deck(settings.state_dir, "alice")
    assert len(deck.cards) == 10 and {c.card.kind for c in deck.cards.values()} == {"concept"}
    assert deck.retention() == (8, 8) and deck.session is None
    review = settings.workspaces_dir / "alice" / "review" / "phase5-first-role"
    assert (review / "02-ml-drills.ipynb").is_file()
    assert "<h2>Your review queue</h2><p>10 card(s)" in page and "retention so far <b>100%</b>" in page
    assert (
        "<h2>Your plan</h2><p>6 hours a week"
        in (settings.workspaces_dir / "bob" / "progress.html").read_text()
    )
    # her portfolio: what an employer reads, with nothing hidden on it
    portfolio = (settings.workspaces_dir / "alice" / "portfolio.html").read_text()
    assert "Completed the guide" in portfolio and "1st of 1 by private score, metric roc_auc" in portfolio
    assert portfolio.count("Verification: evidence record") >= 7 and "04-competition" in portfolio
    assert "BEGIN HIDDEN TESTS" not in portfolio and "application/vnd" not in portfolio
    # her error analysis and model cards, written and waiting for a person
    assert portfolio.count("awaiting a grader") == 4 and "Notes for graders" not in portfolio
    _screenshots(settings.workspaces_dir / "alice", ["portfolio.html", "progress.html"])
    metric, board = leaderboard(settings, load_curriculum(REPO).assignment("phase2-ml-dl"))
    (entry,) = board
    assert metric == "roc_auc" and entry.learner == "alice" and entry.private > 0.8 and entry.public > 0.75
    out = tmp_path / "export.csv"
    env = {**os.environ, "AUTOGRADER_STATE": str(settings.state_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--to={out}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [row for row in csv.DictReader(out.open()) if row["assignment"] == "phase1-foundations"]
    scores = {row["student_id"]: float(row["score"]) for row in rows}
    # carol's default-seed answers earn nothing where the data depends on the seed (points need every
    # parameter set); only her own pytest tests in 05-python-engineering, judged on the grader's suites
    # whatever the seed, earn their 3 points
    assert scores["alice"] == 94.0 and scores["carol"] == 3.0 and 0 < scores["bob"] < 94.0


def _screenshots(folder: Path, pages: list[str]) -> None:
    """alice's pages in Debian's Chromium, whole, for a person to look at (test-artifacts/browser)."""
    from playwright.sync_api import sync_playwright

    from tests.scenarios.browser_support import CHROMIUM, CHROMIUM_ARGS, artifacts_dir

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        for name in pages:
            page.goto((folder / name).as_uri())
            assert "of alice" in (page.locator("h1").first.text_content() or "")
            page.screenshot(path=str(artifacts_dir() / f"demo-alice-{Path(name).stem}.png"), full_page=True)
        chromium.close()
