"""The learners' fetch_feedback brings the course's own pages with nbgrader's (fast, one account).

``autograder feedback`` adds a mastery page per notebook and the learner's progress page to
each feedback folder; ``nbgrader release_feedback`` releases them under a hash of the
submission's secret and the page's name. nbgrader's own fetch looks for notebook pages
only; ours (``FetchFeedback``) brings all three, and nothing for a secret it lacks.
The whole path with real accounts, a hub and a browser is ``tests/scenarios/test_hub.py``.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
from nbgrader.utils import notebook_hash
from traitlets.config import Config

from autograder.course.exchange_plugins import FetchFeedback

STAMP = "2026-01-01 00:00:00.000000 UTC"
PAGES = ("01-tiny", "01-tiny.mastery", "progress")


def released(tmp_path: Path, secret: str) -> Config:
    """An exchange with the three pages released for ``secret``, and a learner's cache."""
    feedback = tmp_path / "exchange" / "c1" / "feedback"
    feedback.mkdir(parents=True)
    submission = tmp_path / "cache" / "c1" / f"{getpass.getuser()}+tiny+{STAMP}"
    submission.mkdir(parents=True)
    (submission / "01-tiny.ipynb").write_text("{}")
    (submission / "submission_secret.txt").write_text("the learner's secret")
    for name in PAGES:
        (feedback / f"{notebook_hash(secret=secret, notebook_id=name)}.html").write_text(f"page {name}")
    config = Config()
    config.Exchange.root = str(tmp_path / "exchange")
    config.Exchange.cache = str(tmp_path / "cache")
    config.Exchange.assignment_dir = str(tmp_path / "home")
    config.Exchange.path_includes_course = True
    config.CourseDirectory.course_id = "c1"
    config.CourseDirectory.assignment_id = "tiny"
    return config


def fetch(config: Config, cls: type) -> list[str]:
    app = cls(
        coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config), config=config
    )
    app.start()
    folder = Path(config.Exchange.assignment_dir) / "c1" / "tiny" / "feedback" / STAMP
    return sorted(p.name for p in folder.glob("*.html"))


def test_the_learner_fetches_mastery_and_progress_pages_with_nbgraders(tmp_path):
    config = released(tmp_path, "the learner's secret")
    assert fetch(config, FetchFeedback) == ["01-tiny.html", "01-tiny.mastery.html", "progress.html"]
    home = Path(config.Exchange.assignment_dir) / "c1" / "tiny" / "feedback" / STAMP
    assert (home / "progress.html").read_text() == "page progress"


def test_nbgraders_own_fetch_brings_the_notebook_page_only(tmp_path):
    """Why the class exists: stock fetch_feedback leaves the course's pages behind."""
    assert fetch(released(tmp_path, "the learner's secret"), ExchangeFetchFeedback) == ["01-tiny.html"]


def test_pages_released_for_another_secret_are_not_fetched(tmp_path):
    (tmp_path / "home").mkdir()
    assert fetch(released(tmp_path, "someone else's secret"), FetchFeedback) == []
